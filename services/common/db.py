"""Database URLs and engines. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_

T = TypeVar("T")
MAX_PARAMETERS = 32_767  # PostgreSQL's protocol: bound parameters in one statement


def batches(rows: Sequence[T], per_row: int) -> Iterator[Sequence[T]]:
    """``rows`` in slices small enough that a statement binding ``per_row`` parameters for
    each row stays within the protocol's limit; nothing for no rows."""
    size = max(1, MAX_PARAMETERS // max(1, per_row))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


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
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # a connection the server dropped is replaced, not handed out
        hide_parameters=True,  # errors name the statement, never the values (password hashes...)
        connect_args={"server_settings": {"application_name": application_name}},
    )
    dialect = engine.sync_engine.dialect
    dialect.do_ping = partial(_ping, dialect.loaded_dbapi.InterfaceError)  # type: ignore[method-assign]
    return engine


def _ping(closed: type[Exception], dbapi_connection: Any) -> bool:
    """The pool's check of a connection before handing it out, in one round trip (``;``).

    SQLAlchemy's asyncpg ping wraps it in a transaction of its own (for pgbouncer's transaction
    mode, which this platform does not use): three round trips for every checkout, a quarter of
    a service's time on short requests. A failure is reported as the driver adapter's
    ``InterfaceError``, which the pool knows for a disconnection when asyncpg has closed the
    connection: the pool then replaces it (and every older one) and tries again."""
    try:
        await_(dbapi_connection.driver_connection.fetchrow(";"))
    except Exception as error:
        raise closed(f"the connection failed its check: {type(error).__name__}") from error
    return True
