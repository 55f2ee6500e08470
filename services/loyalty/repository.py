"""Every SQL statement of the loyalty service."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import contract
from services.loyalty.tables import inbox


async def record_event(conn: AsyncConnection, event: contract.IdentityEvent) -> bool:
    """Record an identity event once; ``False`` when it had already been received."""
    stmt = (
        insert(inbox)
        .values(
            event_id=event.event_id,
            type=event.type,
            payload=event.payload,
            occurred_at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.event_id])
        .returning(inbox.c.event_id)
    )
    return (await conn.execute(stmt)).first() is not None


async def events_about(conn: AsyncConnection, member_id: UUID) -> list[contract.IdentityEvent]:
    key = str(member_id)
    rows = await conn.execute(
        sa.select(inbox)
        .where(
            sa.or_(
                inbox.c.payload["member_id"].astext == key,
                inbox.c.payload["absorbed_id"].astext == key,
                inbox.c.payload["survivor_id"].astext == key,
            )
        )
        .order_by(inbox.c.occurred_at)
    )
    return [
        contract.IdentityEvent(
            event_id=r.event_id, type=r.type, occurred_at=r.occurred_at, payload=r.payload
        )
        for r in rows
    ]
