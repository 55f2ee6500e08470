"""The SQL of the rulebook: published rule sets, immutable and versioned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.tables import rule_sets


@dataclass(frozen=True, slots=True)
class RuleSetRow:
    version: int
    document: dict[str, Any]
    effective_at: datetime
    published_at: datetime
    published_by: str
    changes: list[dict[str, Any]]
    idempotency_key: str | None


async def latest_rule_set_version(conn: AsyncConnection) -> int:
    return int(
        await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(rule_sets.c.version), 0))) or 0
    )


async def rule_set_rows(conn: AsyncConnection) -> list[RuleSetRow]:
    rows = await conn.execute(sa.select(rule_sets).order_by(rule_sets.c.version))
    return [RuleSetRow(**r._mapping) for r in rows]


async def rule_set_by_key(conn: AsyncConnection, key: str) -> RuleSetRow | None:
    row = (
        await conn.execute(sa.select(rule_sets).where(rule_sets.c.idempotency_key == key))
    ).first()
    return RuleSetRow(**row._mapping) if row else None


async def lock_rule_sets(conn: AsyncConnection) -> None:
    """Serialise publishers: versions are consecutive, checked against the latest."""
    await conn.execute(sa.text("LOCK TABLE loyalty.rule_sets IN SHARE ROW EXCLUSIVE MODE"))


async def insert_rule_set(
    conn: AsyncConnection,
    *,
    version: int,
    document: dict[str, Any],
    effective_at: datetime,
    published_by: str,
    changes: list[dict[str, Any]],
    idempotency_key: str | None,
) -> RuleSetRow:
    row = (
        await conn.execute(
            insert(rule_sets)
            .values(
                version=version,
                document=document,
                effective_at=effective_at,
                published_by=published_by,
                changes=changes,
                idempotency_key=idempotency_key,
            )
            .returning(*rule_sets.c)
        )
    ).one()
    return RuleSetRow(**row._mapping)
