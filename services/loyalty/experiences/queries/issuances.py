"""The SQL of issuances (their stored reports and suppressions) and of the outbox that a
delivery system reads, written in the same transaction as what they announce."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.db import batches
from services.loyalty.experiences.tables import issuances, outbox, suppressions

Row = sa.Row[Any]


async def issuance_by_key(conn: AsyncConnection, experience_id: UUID, key: str) -> Row | None:
    stmt = sa.select(issuances).where(
        issuances.c.experience_id == experience_id, issuances.c.key == key
    )
    return (await conn.execute(stmt)).first()


async def issuance(conn: AsyncConnection, issuance_id: UUID) -> Row | None:
    return (await conn.execute(sa.select(issuances).where(issuances.c.id == issuance_id))).first()


async def issuances_of(conn: AsyncConnection, experience_id: UUID) -> list[Row]:
    stmt = (
        sa.select(issuances)
        .where(issuances.c.experience_id == experience_id)
        .order_by(issuances.c.issued_at, issuances.c.id)
    )
    return list(await conn.execute(stmt))


async def insert_issuance(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(issuances.insert().values(**values))


async def set_report(conn: AsyncConnection, issuance_id: UUID, report: dict[str, Any]) -> None:
    await conn.execute(
        issuances.update().where(issuances.c.id == issuance_id).values(report=report)
    )


async def insert_suppressions(
    conn: AsyncConnection,
    issuance_id: UUID,
    experience_id: UUID,
    spared: Sequence[tuple[UUID, int, Sequence[str]]],
) -> None:
    for batch in batches(spared, len(suppressions.c)):
        await conn.execute(
            suppressions.insert(),
            [
                {
                    "issuance_id": issuance_id,
                    "experience_id": experience_id,
                    "member_id": member_id,
                    "position": position,
                    "reasons": list(reasons),
                }
                for member_id, position, reasons in batch
            ],
        )


async def enqueue(
    conn: AsyncConnection,
    events: Sequence[tuple[str, dict[str, Any], datetime | None]],
    *,
    at: datetime,
) -> None:
    """Write events ``(type, payload, deliver_after)`` for the delivery system."""
    for batch in batches(events, len(outbox.c)):
        await conn.execute(
            outbox.insert(),
            [
                {
                    "event_id": uuid.uuid4(),
                    "type": kind,
                    "payload": json.loads(json.dumps(payload, default=str)),
                    "occurred_at": at,
                    "deliver_after": deliver_after,
                }
                for kind, payload, deliver_after in batch
            ],
        )
