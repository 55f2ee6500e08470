from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_each_service_keeps_its_version_table_inside_its_own_schema(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'alembic_version' ORDER BY table_schema"
            )
        )
        assert [r.table_schema for r in rows] == ["identity", "loyalty"]
