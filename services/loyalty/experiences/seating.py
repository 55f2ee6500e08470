"""Applying the lifecycle's transitions to stored invitations, under the experience's row lock:
the invitation moved, the experience's counters moved in step, the waitlist promoted in order
when seats free, and each change the member should hear of written to the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.experiences import lifecycle, views
from services.loyalty.experiences.queries import invitations as queries
from services.loyalty.experiences.queries.issuances import enqueue
from services.loyalty.referrals import guests

Row = Any


def event(
    kind: str, invitation: lifecycle.Invitation, experience: Row, **more: Any
) -> tuple[str, dict[str, Any], datetime | None]:
    """An outbox event about an invitation, for the delivery system."""
    payload = {
        "invitation_id": str(invitation.id),
        "member_id": str(invitation.member_id),
        "experience_id": str(experience.id),
        "venue_id": str(experience.venue_id),
        "state": invitation.state.value,
        **more,
    }
    return f"invitation.{kind}", payload, None


async def apply(
    conn: AsyncConnection, experience: Row, before: Row, moved: lifecycle.Moved
) -> None:
    """Write a transition of ``before`` (which the caller holds under the experience's lock)."""
    saved = await queries.save_invitation(
        conn, before.id, before.state, views.invitation_values(moved.invitation)
    )
    if not saved:  # the experience's lock makes this impossible; fail loudly if it is not held
        raise RuntimeError("an invitation changed under the experience's lock")
    await queries.move_counters(conn, experience.id, taken=moved.taken, waiting=moved.waiting)


async def promote_waitlist(conn: AsyncConnection, experience: Row, *, at: datetime) -> int:
    """Promote the waitlist in order while the head's party fits; how many were promoted.
    ``experience`` is the locked row as it stands now."""
    if experience.waitlisted == 0 or experience.cancelled_at is not None:
        return 0
    line = await queries.waitlist(conn, experience.id)
    pure = views.model(experience)
    seats = lifecycle.Seats(experience.seats, experience.seats_taken, experience.waitlisted)
    promotion = lifecycle.promote(pure, seats, [views.invitation(r) for r in line], at=at)
    by_id = {r.id: r for r in line}
    events = []
    for promoted in promotion.promoted:
        before = by_id[promoted.id]
        await apply(
            conn,
            experience,
            before,
            lifecycle.Moved(promoted, taken=promoted.party, waiting=-1),
        )
        events.append(event("promoted", promoted, experience))
    await enqueue(conn, events, at=at)
    named = await queries.guests_of(conn, [p.id for p in promotion.promoted])
    for promoted in promotion.promoted:  # now accepted: their guests are to be referred
        party = [(g.position, g.email, g.phone) for g in named[promoted.id]]
        await guests.keep(conn, promoted.id, by_id[promoted.id].member_id, at, party)
    return len(promotion.promoted)
