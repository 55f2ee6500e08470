"""Referral codes and registering referrals, through loyalty's internal API on PostgreSQL: each
member's one code, a partner's referral once per reference, and every refusal with its code,
as the partner is told it and as admins read it."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from services.common.actor import SYSTEM, Actor, ActorKind
from services.loyalty.referrals.codes import code_from_random
from tests.integration.loyalty.referrals_support import (
    CAP,
    Person,
    Programme,
    consent,
    now,
    partner,
    referrals,
    referrals_database_url,
)

__all__ = ["referrals", "referrals_database_url"]

CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")


async def _member(referrals: Programme) -> Person:
    person = Person.new()
    await referrals.joins(person)
    return person


async def _decision(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_member_gets_one_code_when_registering_and_the_same_one_ever_after(
    referrals: Programme,
) -> None:
    person = Person.new()
    event = uuid.uuid4()
    await referrals.joins(person, event_id=event)
    await referrals.joins(person, event_id=event)  # the relay delivers at least once
    await referrals.joins(person)  # and the same fact under another event id
    first = await referrals.code(person.id)
    again = await referrals.code(person.id)
    assert first == again and CODE.match(first)
    count = await referrals.scalar(
        "SELECT count(*) FROM loyalty.referral_codes WHERE member_id = CAST(:m AS uuid)",
        m=str(person.id),
    )
    assert count == 1
    link = await referrals.ok(
        "GET",
        f"/internal/members/{person.id}/referral-code",
        actor=Actor(ActorKind.MEMBER, str(person.id)),
    )
    assert link == {"code": first, "link": f"https://loyalty.example.org/join?ref={first}"}


async def test_a_member_known_before_codes_existed_gets_one_when_first_reading_it(
    referrals: Programme,
) -> None:
    member = uuid.uuid4()  # loyalty heard of them by an earn only
    await referrals.earn(member)
    codes = await asyncio.gather(*(referrals.code(member) for _ in range(5)))
    assert len(set(codes)) == 1


async def test_a_member_reads_only_their_own_code(referrals: Programme) -> None:
    person = await _member(referrals)
    other = Actor(ActorKind.MEMBER, str(uuid.uuid4()))
    response = await referrals.call(
        "GET", f"/internal/members/{person.id}/referral-code", actor=other
    )
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


async def test_a_partner_registers_a_referral_once_per_reference(referrals: Programme) -> None:
    referrer = await _member(referrals)
    code = await referrals.code(referrer.id)
    by = partner()
    friend = Person.new()
    given = consent()  # the same request twice: the same consent, to the second
    first = await _decision(
        await referrals.register(by, code, friend.referee(), reference="order-1", consent=given),
        201,
    )
    assert first["accepted"] and first["created"] and first["rejection"] is None
    referral = first["referral"]
    assert referral["status"] == "pending" and referral["reference"] == "order-1"
    assert referral["code"] == code
    again = await _decision(
        await referrals.register(
            by, code.lower(), friend.referee(), reference="order-1", consent=given
        ),
        200,
    )
    assert again == {**first, "created": False}
    other_friend = Person.new()
    reused = await referrals.register(by, code, other_friend.referee(), reference="order-1")
    assert reused.status_code == 409
    assert reused.json()["code"] == "REFERENCE_REUSED"


async def test_the_same_reference_from_two_partners_is_two_referrals(referrals: Programme) -> None:
    code = await referrals.code((await _member(referrals)).id)
    a, b = partner(), partner()
    first = await _decision(
        await referrals.register(a, code, Person.new().referee(), reference="shared"), 201
    )
    second = await _decision(
        await referrals.register(b, code, Person.new().referee(), reference="shared"), 201
    )
    assert first["referral"]["id"] != second["referral"]["id"]


async def _rejection(response: Any) -> tuple[str, str]:
    found = await _decision(response, 200)
    assert not found["accepted"] and found["referral"] is None
    return found["rejection"], found["message"]


async def _reasons(referrals: Programme, partner_id: str) -> list[str]:
    async with referrals.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT reason FROM loyalty.referral_rejections"
                " WHERE partner_id = CAST(:p AS uuid) ORDER BY id"
            ),
            {"p": partner_id},
        )
        return [r.reason for r in rows]


async def test_each_refusal_has_its_code_and_a_partner_cannot_tell_who_is_a_member(
    referrals: Programme,
) -> None:
    referrer = await _member(referrals)
    member = await _member(referrals)
    code = await referrals.code(referrer.id)
    by = partner()
    assert by.id is not None
    mistyped = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert await _rejection(await referrals.register(by, mistyped, Person.new().referee())) == (
        "UNKNOWN_CODE",
        "No member has this referral code.",
    )
    unknown = code_from_random(12_345).display  # a valid code that no member holds
    assert await _rejection(await referrals.register(by, unknown, Person.new().referee())) == (
        "UNKNOWN_CODE",
        "No member has this referral code.",
    )
    no_consent = await referrals.register(by, code, Person.new().referee(), consent=None)
    assert await _rejection(no_consent) == (
        "NO_CONSENT",
        "The referee's consent must be stated: how and when it was given.",
    )
    future = consent(now() + timedelta(hours=1))
    assert await _rejection(
        await referrals.register(by, code, Person.new().referee(), consent=future)
    ) == ("CONSENT_IN_FUTURE", "The consent is dated after the registration.")
    old = consent(now() - timedelta(days=366))
    assert await _rejection(
        await referrals.register(by, code, Person.new().referee(), consent=old)
    ) == ("CONSENT_TOO_OLD", "The consent was given more than 365 days ago.")
    itself = await referrals.register(by, code, referrer.referee(referrer.id))
    already = await referrals.register(by, code, member.referee(member.id))
    not_eligible = ("NOT_ELIGIBLE", "This person cannot be referred.")
    assert await _rejection(itself) == not_eligible
    assert await _rejection(already) == not_eligible
    assert await _reasons(referrals, by.id) == [
        "UNKNOWN_CODE",
        "UNKNOWN_CODE",
        "NO_CONSENT",
        "CONSENT_IN_FUTURE",
        "CONSENT_TOO_OLD",
        "SELF_REFERRAL",
        "ALREADY_MEMBER",
    ]


async def test_a_person_referred_twice_within_the_window_is_a_duplicate_said_plainly_only_to_the_first_partner(
    referrals: Programme,
) -> None:
    code = await referrals.code((await _member(referrals)).id)
    other_code = await referrals.code((await _member(referrals)).id)
    first, second = partner(), partner()
    friend = Person.new()
    await _decision(await referrals.register(first, code, friend.referee()), 201)
    by_phone = {"phone_hash": friend.phone, "email_hash": friend.email, "member_ids": []}
    assert await _rejection(await referrals.register(first, other_code, by_phone)) == (
        "DUPLICATE_REFERRAL",
        "This person was already referred within 30 days.",
    )
    assert await _rejection(await referrals.register(second, other_code, friend.referee())) == (
        "NOT_ELIGIBLE",
        "This person cannot be referred.",
    )
    assert second.id is not None
    assert await _reasons(referrals, second.id) == ["DUPLICATE_REFERRAL"]


async def test_a_referrer_at_the_cap_is_refused_and_the_cap_counts_every_channel(
    referrals: Programme,
) -> None:
    code = await referrals.code((await _member(referrals)).id)
    by = partner()
    for _ in range(CAP):
        await _decision(await referrals.register(by, code, Person.new().referee()), 201)
    assert await _rejection(await referrals.register(by, code, Person.new().referee())) == (
        "OVER_CAP",
        f"This member has reached the limit of {CAP} referrals in 30 days.",
    )


async def test_concurrent_registrations_of_one_person_accept_exactly_one(
    referrals: Programme,
) -> None:
    codes = [await referrals.code((await _member(referrals)).id) for _ in range(6)]
    friend = Person.new()
    answers = await asyncio.gather(
        *(referrals.register(partner(), code, friend.referee()) for code in codes)
    )
    accepted = [a for a in answers if a.json()["accepted"]]
    assert len(accepted) == 1
    assert (
        sorted(a.json()["rejection"] for a in answers if not a.json()["accepted"])
        == ["NOT_ELIGIBLE"] * 5
    )


async def test_only_partners_register_referrals_and_a_referee_needs_an_identifier(
    referrals: Programme,
) -> None:
    code = await referrals.code((await _member(referrals)).id)
    member = Actor(ActorKind.MEMBER, str(uuid.uuid4()))
    for actor in (member, SYSTEM):
        refused = await referrals.register(actor, code, Person.new().referee())
        assert (refused.status_code, refused.json()["code"]) == (403, "PARTNER_ONLY")
    nobody = await referrals.register(partner(), code, {"member_ids": []})
    assert (nobody.status_code, nobody.json()["code"]) == (422, "NO_REFEREE")


async def test_a_guest_on_an_accepted_invitation_is_the_members_referral_once(
    referrals: Programme,
) -> None:
    member = await _member(referrals)
    guest = Person.new()
    body = {
        "member_id": str(member.id),
        "invitation_id": str(uuid.uuid4()),
        "position": 0,
        "accepted_at": now().isoformat(),
        "referee": guest.referee(),
    }
    first = await _decision(
        await referrals.call("POST", "/internal/referrals/guest", json=body), 201
    )
    again = await _decision(
        await referrals.call(
            "POST",
            "/internal/referrals/guest",
            json={**body, "accepted_at": (now() + timedelta(seconds=5)).isoformat()},
        ),
        200,
    )
    assert first["accepted"] and again == {**first, "created": False}
    row = await referrals.referral(first["referral"]["id"])
    assert (row["channel"], row["referrer_id"], row["consent_method"]) == (
        "guest",
        member.id,
        "verbal",
    )
    by_member = await referrals.call(
        "POST",
        "/internal/referrals/guest",
        json=body,
        actor=Actor(ActorKind.MEMBER, str(member.id)),
    )
    assert (by_member.status_code, by_member.json()["code"]) == (403, "FORBIDDEN")
