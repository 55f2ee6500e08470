"""The Alembic environment both services share: async engine, schema-local version table, and an
advisory lock so that parts starting together never migrate at the same time."""

from __future__ import annotations

import asyncio
import zlib

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from services.common.db import create_engine


def run(target_metadata: MetaData) -> None:
    config = context.config
    url: str = config.attributes["database_url"]
    schema: str = config.attributes["schema"]
    role: str | None = config.attributes.get("role")
    lock_id = zlib.crc32(f"loyalty-migrations-{schema}".encode())

    def do_run(connection: Connection) -> None:
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        if role is not None:  # the tables belong to the service's owner role
            connection.execute(text(f'SET LOCAL ROLE "{role}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=False,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_engine(url, pool_size=1, application_name=f"migrate-{schema}")
        try:
            async with engine.begin() as connection:
                await connection.run_sync(do_run)
        finally:
            await engine.dispose()

    asyncio.run(main())
