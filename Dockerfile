# One image for the three parts: `loyalty serve identity|loyalty|gateway`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv && useradd --create-home --uid 10001 app
WORKDIR /app

COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY services ./services
COPY graphql_schema ./graphql_schema
COPY migrations ./migrations
RUN uv sync --locked --no-dev

USER app
ENV LOYALTY_ENVIRONMENT=production PATH="/app/.venv/bin:$PATH"
ENTRYPOINT ["loyalty"]
CMD ["--help"]
