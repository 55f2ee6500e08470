"""Guests to refer, kept by loyalty with the acceptance: only guests named with an email or
phone, only on an invitation that is accepted (at once, or later from the waitlist); claimed by
the job with a growing wait between tries (30 s, 1 min, 2 min, ... at most an hour); ended by
the guest's registration or by being dropped, and asked for by the system only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.actor import SYSTEM
from services.common.problems import Forbidden
from services.loyalty.referrals import guests, use_cases
from services.loyalty.referrals.contract import GuestDone, GuestReferral, RefereeIdentity
from services.loyalty.rulebook.book import RuleBook
from tests.integration.loyalty.experiences_support import Kit, member_actor

PARTY = [
    {"name": "Léa", "email": "lea@example.org"},
    {"name": "Alma"},
    {"name": "Sam", "phone": "+33612345678"},
]


@pytest.fixture
def kit(loyalty: Any) -> Kit:
    return Kit(loyalty)


async def _intents(kit: Kit, invitation: str) -> list[tuple[int, int, datetime]]:
    async with kit.loyalty.engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT position, attempts, next_attempt_at FROM loyalty.guest_referral_intents "
            f"WHERE invitation_id = '{uuid.UUID(invitation)}' ORDER BY position"
        )
        return [(r.position, r.attempts, r.next_attempt_at) for r in rows]


async def _claim(kit: Kit, invitation: str, at: datetime) -> list[tuple[int, int]]:
    found = await guests.due_guests(kit.loyalty.engine, SYSTEM, first=100, now=at)
    return [(g.position, g.attempts) for g in found if str(g.invitation_id) == invitation]


async def test_an_acceptance_keeps_its_guests_with_an_email_or_phone_and_the_job_claims_them(
    kit: Kit,
) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member, seats=4, guest_allowance=3)
    invitation = invited[member]
    response = await kit.respond(member, invitation, "accept", PARTY)
    assert response.json()["state"] == "accepted"
    kept = await _intents(kit, invitation)
    assert [(p, a) for p, a, _ in kept] == [(0, 0), (2, 0)]
    accepted = kept[0][2]
    assert kept[1][2] == accepted

    found = await guests.due_guests(kit.loyalty.engine, SYSTEM, first=100, now=accepted)
    mine = [g for g in found if str(g.invitation_id) == invitation]
    assert [(g.position, g.attempts, g.email, g.phone, g.member_id) for g in mine] == [
        (0, 1, "lea@example.org", None, member),
        (2, 1, None, "+33612345678", member),
    ]
    assert {g.accepted_at for g in mine} == {accepted}

    second = timedelta(seconds=1)
    assert await _claim(kit, invitation, accepted) == []  # claimed: not given twice
    assert await _claim(kit, invitation, accepted + 30 * second - second / 10**6) == []
    assert await _claim(kit, invitation, accepted + 30 * second) == [(0, 2), (2, 2)]
    at = accepted + 30 * second
    assert await _claim(kit, invitation, at + 60 * second - second / 10**6) == []
    assert await _claim(kit, invitation, at + 60 * second) == [(0, 3), (2, 3)]
    at += 60 * second
    assert await _claim(kit, invitation, at + 120 * second) == [(0, 4), (2, 4)]


async def test_the_wait_between_tries_stops_growing_at_an_hour(kit: Kit) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member, seats=4, guest_allowance=3)
    invitation = invited[member]
    await kit.respond(member, invitation, "accept", PARTY[:1])
    at = (await _intents(kit, invitation))[0][2]
    async with kit.loyalty.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE loyalty.guest_referral_intents SET attempts = 6 "
            f"WHERE invitation_id = '{uuid.UUID(invitation)}'"
        )
    for attempts, wait in ((7, 1920), (8, 3600), (9, 3600)):  # 30 s x 2^6, then capped
        assert await _claim(kit, invitation, at) == [(0, attempts)]
        assert (await _intents(kit, invitation))[0][1:] == (attempts, at + timedelta(seconds=wait))
        at += timedelta(seconds=wait)


async def test_a_waitlisted_acceptance_keeps_nothing_until_it_is_promoted(kit: Kit) -> None:
    first, second = await kit.member(), await kit.member()
    _, invited = await kit.invited(first, second, seats=2, guest_allowance=1)
    await kit.respond(first, invited[first], "accept", [{"name": "G"}])
    waiting = await kit.respond(second, invited[second], "accept", [PARTY[0]])
    assert waiting.json()["state"] == "waitlisted"
    assert await _intents(kit, invited[second]) == []
    declined = await kit.respond(first, invited[first], "cancel")
    assert declined.json()["state"] == "cancelled"
    kept = await _intents(kit, invited[second])
    assert [(p, a) for p, a, _ in kept] == [(0, 0)]
    assert await _intents(kit, invited[first]) == []  # its guest had no email or phone


async def test_registering_or_dropping_a_guest_ends_its_intent_and_only_the_system_asks(
    kit: Kit,
) -> None:
    member = await kit.member()
    _, invited = await kit.invited(member, seats=4, guest_allowance=3)
    invitation = invited[member]
    await kit.respond(member, invitation, "accept", PARTY)
    engine = kit.loyalty.engine
    body = GuestReferral(
        member_id=member,
        invitation_id=uuid.UUID(invitation),
        position=0,
        accepted_at=datetime.now(UTC),
        referee=RefereeIdentity(email_hash="a" * 64),
    )
    book = RuleBook()
    first = await use_cases.register_guest(engine, book, SYSTEM, body)
    again = await use_cases.register_guest(engine, book, SYSTEM, body)
    assert (first.created, again.created) == (True, False)
    assert first.referral is not None and again.referral == first.referral
    assert [p for p, _, _ in await _intents(kit, invitation)] == [2]

    done = GuestDone(invitation_id=uuid.UUID(invitation), position=2)
    assert await guests.drop_guest(engine, SYSTEM, done) is True
    assert await guests.drop_guest(engine, SYSTEM, done) is False
    assert await _intents(kit, invitation) == []

    for call in (
        guests.due_guests(engine, member_actor(member)),
        guests.drop_guest(engine, kit.loyalty.STAFF, done),
    ):
        with pytest.raises(Forbidden) as refused:
            await call
        assert (refused.value.code, refused.value.message) == (
            "FORBIDDEN",
            "the gateway's job refers guests",
        )
