"""Guests to refer: a guest named with an email or phone on an accepted invitation becomes a
referral by the inviting member. The acceptance keeps the intent in its own transaction (see
``experiences.respond`` and ``experiences.seating``); registering the guest's referral ends it
in the registration's transaction, whether the guest was referred or refused. What is left is
due again: the referrals job asks for it, has identity resolve the guest, and registers it, each
guest tried again 30 seconds after a failed try, then 1, 2, 4 minutes ..., at most hourly."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden
from services.common.uow import UnitOfWork
from services.loyalty.contract import ProblemCode
from services.loyalty.referrals import guest_queries
from services.loyalty.referrals.contract import DueGuest, GuestDone

FIRST_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 3600.0
MAX_PAGE = 100


def _system_only(actor: Actor) -> None:
    if actor.kind is not ActorKind.SYSTEM:
        raise Forbidden(ProblemCode.FORBIDDEN, "the gateway's job refers guests")


async def keep(
    conn: AsyncConnection,
    invitation_id: UUID,
    member_id: UUID,
    accepted_at: datetime,
    guests: list[tuple[int, str | None, str | None]],
) -> None:
    """Keep the intent to refer the guests named with an email or phone: ``(position, email,
    phone)`` each, in the acceptance's transaction."""
    await guest_queries.record(
        conn,
        invitation_id,
        member_id,
        accepted_at,
        [position for position, email, phone in guests if email or phone],
    )


async def due_guests(
    engine: AsyncEngine, actor: Actor, *, first: int = 20, now: datetime | None = None
) -> list[DueGuest]:
    """The guests due to be referred now, each claimed (its next try pushed back) at once."""
    _system_only(actor)
    now = now or datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        found = await guest_queries.claim_due(
            uow.conn, now, max(1, min(first, MAX_PAGE)), FIRST_DELAY_SECONDS, MAX_DELAY_SECONDS
        )
        await uow.commit()
    return [
        DueGuest(
            member_id=d.member_id,
            invitation_id=d.invitation_id,
            position=d.position,
            accepted_at=d.accepted_at,
            attempts=d.attempts,
            email=d.email,
            phone=d.phone,
        )
        for d in found
    ]


async def drop_guest(engine: AsyncEngine, actor: Actor, body: GuestDone) -> bool:
    """A guest identity cannot resolve (a mistyped email, say) is not tried again."""
    _system_only(actor)
    async with UnitOfWork(engine) as uow:
        dropped = await guest_queries.settle(uow.conn, body.invitation_id, body.position)
        await uow.commit()
    return dropped
