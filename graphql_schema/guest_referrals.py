"""Guests named with an email or a phone on an accepted invitation become referrals by the
inviting member. Loyalty keeps the intent with the acceptance; the gateway has identity resolve
each guest (loyalty never sees an email or phone in a referral, only identity's keyed hashes)
and loyalty register the referral, which ends the intent. Tried at once after the member's
answer, quietly (a guest who cannot be referred changes nothing in the answer); whatever failed
then, or was accepted later from the waitlist, is tried again by ``settle_due_guests``, which
the gateway runs every ``guest_referrals_interval_seconds``. Registering is idempotent per guest
of an invitation, so a guest tried twice is referred once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum

import structlog

from graphql_schema.clients.base import ServiceProblem, ServiceUnavailable
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from services.common.actor import SYSTEM
from services.identity import contract as ic
from services.loyalty.experiences import contract as ec
from services.loyalty.referrals import contract as rc

log = structlog.get_logger(__name__)
PAGE = 50
RETRIED = (408, 429)  # refusals that say "later", not "never"


class Outcome(StrEnum):
    REGISTERED = "registered"  # loyalty decided (referred, or refused as any referral can be)
    DROPPED = "dropped"  # identity or loyalty refused the guest for good
    FAILED = "failed"  # a service failed: tried again later


@dataclass(frozen=True, slots=True)
class Guest:
    member_id: object
    invitation_id: object
    position: int
    accepted_at: dt.datetime
    email: str | None
    phone: str | None


async def refer(identity: IdentityClient, loyalty: LoyaltyClient, guest: Guest) -> Outcome:
    try:
        referee = await identity.resolve_referee(
            SYSTEM, ic.ResolveReferee(email=guest.email, phone=guest.phone)
        )
        body = rc.GuestReferral(
            member_id=guest.member_id,
            invitation_id=guest.invitation_id,
            position=guest.position,
            accepted_at=guest.accepted_at,
            referee=rc.RefereeIdentity(**referee.model_dump()),
        )
        await loyalty.register_guest_referral(SYSTEM, body)
    except ServiceProblem as problem:
        if problem.status in RETRIED:
            return Outcome.FAILED
        done = rc.GuestDone(invitation_id=guest.invitation_id, position=guest.position)
        try:
            await loyalty.drop_guest(SYSTEM, done)
        except (ServiceProblem, ServiceUnavailable):
            return Outcome.FAILED
        log.info("a guest is not to be referred", code=problem.code)
        return Outcome.DROPPED
    except ServiceUnavailable:
        return Outcome.FAILED
    return Outcome.REGISTERED


async def refer_guests(
    identity: IdentityClient, loyalty: LoyaltyClient, invitation: ec.MemberInvitation
) -> None:
    """Right after the member accepted: each guest named with an email or phone."""
    if invitation.state is not ec.InvitationState.ACCEPTED:
        return
    accepted_at = dt.datetime.now(dt.UTC)
    for position, g in enumerate(invitation.guests):
        if not (g.email or g.phone):
            continue
        guest = Guest(invitation.member_id, invitation.id, position, accepted_at, g.email, g.phone)
        if await refer(identity, loyalty, guest) is Outcome.FAILED:
            log.warning("a guest's referral is left to the job", invitation=str(invitation.id))


async def settle_due_guests(
    identity: IdentityClient, loyalty: LoyaltyClient, *, page: int = PAGE
) -> dict[Outcome, int]:
    """Every guest whose referral is due (loyalty claims each before giving it): how each went."""
    counts = dict.fromkeys(Outcome, 0)
    while True:
        due = await loyalty.due_guests(SYSTEM, page)
        for d in due:
            guest = Guest(d.member_id, d.invitation_id, d.position, d.accepted_at, d.email, d.phone)
            counts[await refer(identity, loyalty, guest)] += 1
        if len(due) < page:
            return counts


@contextlib.asynccontextmanager
async def guest_referrals_job(
    identity: IdentityClient, loyalty: LoyaltyClient, interval: float
) -> AsyncIterator[None]:
    """Run ``settle_due_guests`` every ``interval`` seconds while the app lives (0: never)."""
    if interval <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await settle_due_guests(identity, loyalty)
            except (ServiceProblem, ServiceUnavailable):
                log.warning("guests' referrals could not be settled now")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
