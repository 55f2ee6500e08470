"""Database URLs and engines. Nothing connects at import time."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> URL:
    """Turn any PostgreSQL URL (``postgres://``, ``postgresql://``, ...) into an asyncpg one."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgres", "postgresql"):
        raise ValueError(f"only PostgreSQL is supported, not {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+asyncpg")


def asyncpg_dsn(url: str) -> str:
    """A DSN that asyncpg accepts directly (used by benchmarks' bare floors)."""
    return async_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    url: str, *, pool_size: int = 10, application_name: str = "loyalty"
) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # a connection the server dropped is replaced, not handed out
        hide_parameters=True,  # errors name the statement, never the values (password hashes...)
        connect_args={"server_settings": {"application_name": application_name}},
    )
