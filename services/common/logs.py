"""Structured JSON logs, each line carrying the request id, with secrets redacted.

Every line, ours and the libraries' (uvicorn, strawberry, SQLAlchemy's errors), passes through
``redact`` last: a value whose key is named like a credential (``password``, ``token``,
``secret``, ``apiKey``, ``authorization``, a one-time ``verificationCode``...) is replaced, and
so is a credential written in a text (a GraphQL argument ``password: "..."``, a JSON field, a
bearer token, a partner API key, a JWT, a password hash, SQL parameters). Query variables are
never logged.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from asgi_correlation_id import correlation_id

REDACTED = "[REDACTED]"

#: Names of keys (and of arguments in texts) whose values are credentials.
_SENSITIVE_NAME = (
    r"[A-Za-z_]*(?:pass(?:word|wd|phrase)?|secret|token|api_?key|authori[sz]ation|cookie"
    r"|credential|pin_?code|verification_?code|one_?time_?code)[A-Za-z_]*"
)
_SENSITIVE_KEY = re.compile(rf"(?i)^(?:{_SENSITIVE_NAME}|x-api-key)$")

#: ``name: "value"``, ``"name": "value"``, ``name=value`` in a text, whatever the quoting.
_NAMED_VALUE = re.compile(
    rf"""(?ix)
    (?P<name>\b{_SENSITIVE_NAME}["']?\s*[:=]\s*)
    (?P<value>\[REDACTED\]|Bearer(?=\s)|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;)}}\]]+)
    """
)
_TEXT_SECRETS = (
    (re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),  # a JWT
    (re.compile(r"\blk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"), REDACTED),  # a partner API key
    (re.compile(r"\$argon2(?:id|i|d)\$[A-Za-z0-9$=,+/.-]+"), REDACTED),  # a password hash
    (re.compile(r"\[parameters: .*?\](?=\n|$|\s*\(Background)", re.S), f"[parameters: {REDACTED}]"),
)


def redact_text(text: str) -> str:
    """``text`` with every credential it names or contains replaced by ``[REDACTED]``."""
    for pattern, replacement in _TEXT_SECRETS:
        text = pattern.sub(replacement, text)

    def keep_quotes(match: re.Match[str]) -> str:
        value = match["value"]
        if value in (REDACTED, "Bearer"):  # already redacted above
            return match[0]
        quote = value[0] if value[:1] in ('"', "'") else ""
        return f"{match['name']}{quote}{REDACTED}{quote}"

    return _NAMED_VALUE.sub(keep_quotes, text)


def names_a_credential(name: str) -> bool:
    """Whether a key, field or argument called ``name`` holds a credential."""
    return _SENSITIVE_KEY.match(name) is not None


def _redact_value(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED
            if isinstance(k, str) and names_a_credential(k)
            else _redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(v, depth + 1) for v in value]
    return value


def redact(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """The last processor before rendering: credentials never reach a log line."""
    redacted: dict[str, Any] = _redact_value(event)
    return redacted


def _add_request_id(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    request_id = correlation_id.get()
    if request_id:
        event.setdefault("request_id", request_id)
    return event


def configure_logging(
    level: str = "INFO", *, part: str = "loyalty", stream: TextIO | None = None
) -> None:
    """JSON lines on ``stream`` (standard error by default) for structlog and the standard
    library's loggers alike."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_request_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(part=part)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its start-up chatter
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per internal call otherwise
