"""The SQL of the inbox of identity's events."""

from __future__ import annotations

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
