"""Settling one member's lots: pending points that have come due are released, then points past
their date expire (oldest first). Redemptions, reversals and the points job all settle first."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.actor import Actor
from services.loyalty import ledger
from services.loyalty.journal import queries
from services.loyalty.journal.entries import both


async def settle(
    conn: AsyncConnection,
    member: UUID,
    ids: dict[ledger.Account, int],
    actor: Actor,
    now: datetime,
) -> tuple[int, int, int, int]:
    """Release the member's due pending lots, then expire their due lots (oldest first).

    The caller holds the member's account lock. Returns (lots released, points released, lots
    expired, points expired)."""
    lots = await queries.open_lots(conn, member)
    due_release = ledger.due_releases(lots, now)
    due_expiry = ledger.due_expiries(lots, now)
    if not due_release and not due_expiry:
        return 0, 0, 0, 0
    released_points = 0
    for lot in due_release:
        await queries.write_entry(
            conn,
            ledger.release_entry(member, lot.remaining),
            account_ids=ids,
            member_id=member,
            source="system",
            external_id=f"release:{lot.id}",
            occurred_at=lot.available_at,
            actor=actor.label(),
            explanation={
                "summary": both(
                    f"{lot.remaining} pending points became available",
                    f"{lot.remaining} points en attente sont devenus disponibles",
                ),
                "lines": [],
            },
        )
        await queries.mark_released(conn, lot.id)
        released_points += lot.remaining
    expired_points = 0
    for lot in ledger.due_expiries(await queries.open_lots(conn, member), now):
        take = ledger.Take(lot.id, lot.remaining, lot.released)
        earned = lot.earned_at.date().isoformat()
        await queries.write_entry(
            conn,
            ledger.expire_entry(member, [take]),
            account_ids=ids,
            member_id=member,
            source="system",
            external_id=f"expire:{lot.id}",
            occurred_at=lot.expires_at or now,
            actor=actor.label(),
            explanation={
                "summary": both(
                    f"{lot.remaining} points earned on {earned} expired",
                    f"{lot.remaining} points gagnés le {earned} ont expiré",
                ),
                "lines": [],
            },
        )
        await queries.draw(conn, [take])
        expired_points += lot.remaining
    return len(due_release), released_points, len(due_expiry), expired_points
