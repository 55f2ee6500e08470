"""The outbox's SQL: write an event in the caller's transaction; read and settle batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.tables import outbox


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: UUID
    type: str
    payload: dict[str, Any]
    occurred_at: datetime


async def add_event(
    conn: AsyncConnection, event_type: contract.EventType, payload: dict[str, Any], now: datetime
) -> UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        outbox.insert().values(
            event_id=event_id, type=event_type.value, payload=payload, occurred_at=now
        )
    )
    return event_id


async def pending_events(conn: AsyncConnection, limit: int) -> list[OutboxRow]:
    """The oldest undelivered events, locked; rows another relay holds are skipped."""
    rows = await conn.execute(
        sa.select(
            outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.payload, outbox.c.occurred_at
        )
        .where(outbox.c.delivered_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        OutboxRow(
            id=r.id, event_id=r.event_id, type=r.type, payload=r.payload, occurred_at=r.occurred_at
        )
        for r in rows
    ]


async def mark_delivered(conn: AsyncConnection, ids: Sequence[int], now: datetime) -> None:
    await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)))
        .values(delivered_at=now, attempts=outbox.c.attempts + 1, last_error=None)
    )


async def mark_failed(conn: AsyncConnection, ids: Sequence[int], error: str) -> None:
    await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)))
        .values(attempts=outbox.c.attempts + 1, last_error=error[:1000])
    )
