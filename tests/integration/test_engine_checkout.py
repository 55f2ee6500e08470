"""The engines' pool checks a connection before handing it out (one ``;``, no transaction of
its own): a connection the server dropped is replaced, and the request that asked for it runs
on a fresh one."""

from __future__ import annotations

import asyncio

import asyncpg
import sqlalchemy as sa

from services.common.db import asyncpg_dsn, create_engine
from tests.conftest import service_urls


async def test_a_pooled_connection_the_server_dropped_is_replaced_before_it_is_used(
    database_url: str,
) -> None:
    engine = create_engine(service_urls(database_url).loyalty, pool_size=1)
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first) is True
        for _ in range(100):
            if not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first
            ):
                break
            await asyncio.sleep(0.01)
        async with engine.connect() as conn:
            second = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
            in_transaction = await conn.scalar(sa.text("SELECT now() = statement_timestamp()"))
        assert second != first
        assert in_transaction is False  # the statement ran in SQLAlchemy's transaction
    finally:
        await admin.close()
        await engine.dispose()


async def test_checking_a_connection_takes_one_statement_and_no_transaction(
    database_url: str,
) -> None:
    engine = create_engine(service_urls(database_url).loyalty, pool_size=1)
    seen: list[str] = []
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            raw.driver_connection.add_query_logger(lambda record: seen.append(record.query))
        async with engine.connect():  # the same connection, checked before it is used
            pass
        await asyncio.sleep(0.05)  # asyncpg tells its query loggers soon after, not during
        assert seen == [";"]  # SQLAlchemy's own check: BEGIN, ";", ROLLBACK
    finally:
        await engine.dispose()
