"""The SQL of guests to refer: the intents kept when an invitation is accepted, the ones due
(claimed, so that two runs of the job do not try the same guest at once), and their end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.referrals.tables import guest_referral_intents as intents


async def record(
    conn: AsyncConnection,
    invitation_id: UUID,
    member_id: UUID,
    accepted_at: datetime,
    positions: Sequence[int],
) -> None:
    """Keep the intent to refer these guests of the invitation (once each), due at once."""
    if not positions:
        return
    rows = [
        {
            "invitation_id": invitation_id,
            "position": p,
            "member_id": member_id,
            "accepted_at": accepted_at,
            "next_attempt_at": accepted_at,
        }
        for p in positions
    ]
    await conn.execute(insert(intents).values(rows).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class Due:
    invitation_id: UUID
    position: int
    member_id: UUID
    accepted_at: datetime
    attempts: int  # counting this one
    email: str | None
    phone: str | None


_CLAIM = sa.text(
    """
    WITH due AS (
        SELECT invitation_id, position FROM loyalty.guest_referral_intents
         WHERE next_attempt_at <= :now
         ORDER BY next_attempt_at, invitation_id, position
         LIMIT :first
           FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE loyalty.guest_referral_intents AS i
           SET attempts = i.attempts + 1,
               next_attempt_at = :now + least(:first_delay * power(2, i.attempts), :max_delay)
                                 * interval '1 second'
          FROM due
         WHERE i.invitation_id = due.invitation_id AND i.position = due.position
        RETURNING i.*
    )
    SELECT c.invitation_id, c.position, c.member_id, c.accepted_at, c.attempts, g.email, g.phone
      FROM claimed AS c
      JOIN loyalty.invitation_guests AS g
        ON g.invitation_id = c.invitation_id AND g.position = c.position
     ORDER BY c.next_attempt_at, c.invitation_id, c.position
    """
)


async def claim_due(
    conn: AsyncConnection, now: datetime, first: int, first_delay: float, max_delay: float
) -> list[Due]:
    """The intents due at ``now`` (at most ``first``), each pushed back before it is tried:
    ``first_delay`` seconds after its first try, doubling, at most ``max_delay``."""
    rows = await conn.execute(
        _CLAIM,
        {"now": now, "first": first, "first_delay": first_delay, "max_delay": max_delay},
    )
    return [
        Due(r.invitation_id, r.position, r.member_id, r.accepted_at, r.attempts, r.email, r.phone)
        for r in rows
    ]


async def settle(conn: AsyncConnection, invitation_id: UUID, position: int) -> bool:
    """The guest's intent is done with (registered, refused, or not to be referred)."""
    result = await conn.execute(
        intents.delete().where(
            intents.c.invitation_id == invitation_id, intents.c.position == position
        )
    )
    return bool(result.rowcount)
