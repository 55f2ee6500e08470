"""Verifying an email or phone with a one-time code sent through the outbox: until then a
linked one neither signs in nor resolves for earns, and one given at registration signs in
but resolves for no earn."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from services.identity.outbox.payloads import for_loyalty


def _paths(member: dict[str, Any]) -> tuple[str, str, str]:
    base = f"/internal/members/{member['id']}"
    return f"{base}/identifiers", f"{base}/verifications", f"{base}/verifications/check"


async def _resolve(identity, kind: str, value: str) -> Any:
    return await identity.get(
        "/internal/resolve", params={"kind": kind, "value": value}, actor=identity.SYSTEM
    )


async def _link_email(identity, member: dict[str, Any], email: str) -> Any:
    link, _, _ = _paths(member)
    return await identity.post(
        link, {"kind": "email", "value": email}, actor=identity.member(member["id"])
    )


async def _check(identity, member: dict[str, Any], value: str, code: str, kind: str = "email"):
    _, _, check = _paths(member)
    return await identity.post(
        check,
        {"kind": kind, "value": value, "verification_code": code},
        actor=identity.member(member["id"]),
    )


async def _sql(identity, statement: str, **params: Any) -> None:
    async with identity.engine.begin() as conn:
        await conn.execute(sa.text(statement), params)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_a_linked_email_waits_for_its_code_before_it_signs_in_or_resolves(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()

    linked = await _link_email(identity, member, email.upper())

    assert linked.status_code == 201, linked.text
    assert linked.json()["value"] == email
    assert linked.json()["verified"] is False
    # not an identifier of theirs yet: no sign-in, no resolution, shown to them as unverified
    assert (await identity.login(email)).json()["code"] == "INVALID_CREDENTIALS"
    assert (await _resolve(identity, "email", email)).json()["code"] == "MEMBER_NOT_FOUND"
    assert await identity.count("identifiers", "value = :v", v=email) == 0
    fetched = (await identity.get(f"/internal/members/{member['id']}", actor=identity.ADMIN)).json()
    assert [(i["kind"], i["value"], i["verified"]) for i in fetched["identifiers"]] == [
        ("email", member["identifiers"][0]["value"], True),
        ("email", email, False),
    ]
    # the code is in the outbox event for the messaging system, and only its digest is kept
    code = await identity.sent_code(member["id"], email)
    assert await identity.count("identifier_verifications", "code_hash LIKE :c", c=f"%{code}%") == 0
    assert (
        await identity.count(
            "outbox", "type = 'identifier.linked' AND payload->>'member_id' = :m", m=member["id"]
        )
        == 0
    )

    verified = await _check(identity, member, f" {email.upper()} ", code)

    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    assert (await identity.login(email)).status_code == 200
    assert (await _resolve(identity, "email", email)).json()["member_id"] == member["id"]
    linked_event = (
        "type = 'identifier.linked' AND payload->>'member_id' = :m AND payload->>'kind' = 'email'"
    )
    assert await identity.count("outbox", linked_event, m=member["id"]) == 1
    # used: the code is gone from the outbox, the verification ended; verifying again answers
    assert await identity.count("outbox", "payload->>'verification_code' = :c", c=code) == 0
    assert await identity.count("identifier_verifications", "value = :v", v=email) == 0
    again = await _check(identity, member, email, code)
    assert (again.status_code, again.json()) == (200, verified.json())


async def test_a_registration_email_signs_in_but_resolves_for_no_earn_until_verified(
    identity,
) -> None:
    email, phone = identity.unique_email(), identity.unique_phone()
    member = await identity.register(email, phone=phone)
    assert [i["verified"] for i in member["identifiers"]] == [False, False]

    assert (await identity.login(email)).status_code == 200
    assert (await _resolve(identity, "email", email)).json()["code"] == "MEMBER_NOT_FOUND"
    assert (await _resolve(identity, "phone", phone)).json()["code"] == "MEMBER_NOT_FOUND"

    await identity.verify(member["id"], "email", email)

    assert (await _resolve(identity, "email", email)).json()["member_id"] == member["id"]
    assert (await _resolve(identity, "phone", phone)).json()["code"] == "MEMBER_NOT_FOUND"
    # the registration already told loyalty about it: verifying it announces no new link
    assert (
        await identity.count(
            "outbox", "type = 'identifier.linked' AND payload->>'member_id' = :m", m=member["id"]
        )
        == 0
    )


async def test_a_wrong_code_counts_and_the_fifth_wrong_one_ends_the_code(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()
    await _link_email(identity, member, email)
    code = await identity.sent_code(member["id"], email)

    for left in (4, 3, 2, 1):
        wrong = await _check(identity, member, email, _wrong(code))
        assert (wrong.status_code, wrong.json()) == (
            409,
            {
                "code": "CODE_INVALID",
                "message": f"this is not the code sent: {left} attempt{'s' if left != 1 else ''} left",
                "details": {"attempts_left": left},
            },
        )
    assert await identity.count("outbox", "payload->>'verification_code' = :c", c=code) == 1
    fifth = await _check(identity, member, email, "not a code")
    assert fifth.json()["details"] == {"attempts_left": 0}
    # no guess left: the code is cleared from the outbox and refused even when right
    assert await identity.count("outbox", "payload->>'verification_code' = :c", c=code) == 0
    right = await _check(identity, member, email, code)
    assert (right.status_code, right.json()["code"]) == (409, "CODE_ATTEMPTS_EXHAUSTED")
    assert (await _resolve(identity, "email", email)).json()["code"] == "MEMBER_NOT_FOUND"


async def test_the_right_code_at_the_fifth_guess_still_verifies(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()
    await _link_email(identity, member, email)
    code = await identity.sent_code(member["id"], email)
    for _ in range(4):
        await _check(identity, member, email, _wrong(code))

    fifth = await _check(identity, member, email, code)

    assert (fifth.status_code, fifth.json()["verified"]) == (200, True)


async def test_concurrent_guesses_are_each_counted_and_only_five_are_compared(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()
    await _link_email(identity, member, email)
    code = await identity.sent_code(member["id"], email)

    answers = await asyncio.gather(
        *(_check(identity, member, email, _wrong(code)) for _ in range(12))
    )

    assert (
        sorted(a.json()["code"] for a in answers)
        == ["CODE_ATTEMPTS_EXHAUSTED"] * 7 + ["CODE_INVALID"] * 5
    )
    assert sorted(
        a.json()["details"]["attempts_left"] for a in answers if a.json()["code"] == "CODE_INVALID"
    ) == [0, 1, 2, 3, 4]
    assert (
        await identity.count("identifier_verifications", "value = :v AND attempts = 5", v=email)
        == 1
    )


async def test_an_expired_code_is_refused_and_cleared_and_a_new_one_works(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()
    await _link_email(identity, member, email)
    code = await identity.sent_code(member["id"], email)
    # the quarter of an hour is over (and the minute between codes too)
    await _sql(
        identity,
        "UPDATE identity.identifier_verifications SET expires_at = now(),"
        " last_sent_at = now() - interval '1 minute' WHERE value = :v",
        v=email,
    )

    expired = await _check(identity, member, email, code)

    assert (expired.status_code, expired.json()["code"]) == (409, "CODE_EXPIRED")
    assert await identity.count("outbox", "payload->>'verification_code' = :c", c=code) == 0
    _, request, _ = _paths(member)
    sent = await identity.post(
        request, {"kind": "email", "value": email}, actor=identity.member(member["id"])
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["identifier"] == {
        "kind": "email",
        "value": email,
        "linked_at": sent.json()["identifier"]["linked_at"],
        "verified": False,
    }
    new_code = await identity.sent_code(member["id"], email)
    assert (await _check(identity, member, email, new_code)).json()["verified"] is True


async def test_codes_are_resent_once_a_minute_and_a_new_one_replaces_the_old(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()
    await _link_email(identity, member, email)
    first = await identity.sent_code(member["id"], email)
    _, request, _ = _paths(member)
    me = identity.member(member["id"])

    too_soon = await identity.post(request, {"kind": "email", "value": email}, actor=me)

    assert too_soon.status_code == 429
    body = too_soon.json()
    assert body["code"] == "TOO_MANY_CODES"
    assert 59 <= body["details"]["retry_after_seconds"] <= 60
    assert body["message"] == (
        f"a code was sent recently: ask again in {body['details']['retry_after_seconds']} seconds"
    )
    # a minute later, a new code: the old one no longer works, and is cleared from the outbox
    await _sql(
        identity,
        "UPDATE identity.identifier_verifications"
        " SET last_sent_at = last_sent_at - interval '60 seconds' WHERE value = :v",
        v=email,
    )
    resent = await identity.post(request, {"kind": "email", "value": email}, actor=me)
    assert resent.status_code == 201, resent.text
    second = await identity.sent_code(member["id"], email)
    assert (
        await identity.count(
            "outbox",
            "payload->>'verification_code' = :c AND payload->>'value' = :v",
            c=first,
            v=email,
        )
        == 0
    )
    if second != first:
        stale = await _check(identity, member, email, first)
        assert stale.json()["code"] == "CODE_INVALID"
    assert (await _check(identity, member, email, second)).json()["verified"] is True


async def test_five_codes_a_day_then_the_wait_is_until_the_day_is_over(identity) -> None:
    member = await identity.register_verified()
    email = identity.unique_email()
    await _link_email(identity, member, email)
    _, request, _ = _paths(member)
    me = identity.member(member["id"])
    back_a_minute = (
        "UPDATE identity.identifier_verifications"
        " SET last_sent_at = last_sent_at - interval '1 minute',"
        " sends_since = sends_since - interval '1 minute' WHERE value = :v"
    )
    for _ in range(4):  # the link sent the first
        await _sql(identity, back_a_minute, v=email)
        assert (
            await identity.post(request, {"kind": "email", "value": email}, actor=me)
        ).status_code == 201
    await _sql(identity, back_a_minute, v=email)

    sixth = await identity.post(request, {"kind": "email", "value": email}, actor=me)

    assert (sixth.status_code, sixth.json()["code"]) == (429, "TOO_MANY_CODES")
    wait = sixth.json()["details"]["retry_after_seconds"]
    assert 24 * 3600 - 5 * 60 - 5 <= wait <= 24 * 3600 - 5 * 60


async def test_nothing_to_verify_for_an_identifier_not_awaiting_a_code(identity) -> None:
    member = await identity.register_verified()
    other = await identity.register()
    _, request, _ = _paths(member)
    me = identity.member(member["id"])
    for body in (
        {"kind": "email", "value": member["identifiers"][0]["value"]},  # already verified
        {"kind": "email", "value": other["identifiers"][0]["value"]},  # someone else's
        {"kind": "email", "value": identity.unique_email()},  # never linked
        {"kind": "membership_card", "value": "CARD42"},  # not verified by a code
    ):
        refused = await identity.post(request, body, actor=me)
        assert (refused.status_code, refused.json()["code"]) == (404, "NOTHING_TO_VERIFY"), body
    stranger = await identity.post(
        request,
        {"kind": "email", "value": identity.unique_email()},
        actor=identity.member(other["id"]),
    )
    assert (stranger.status_code, stranger.json()["code"]) == (403, "FORBIDDEN")


async def test_at_most_five_identifiers_wait_for_their_code(identity) -> None:
    member = await identity.register_verified()
    for _ in range(5):
        assert (await _link_email(identity, member, identity.unique_email())).status_code == 201

    sixth = await _link_email(identity, member, identity.unique_email())

    assert (sixth.status_code, sixth.json()["code"]) == (429, "TOO_MANY_PENDING")


async def test_proving_an_email_takes_it_from_who_registered_with_it_unproven(identity) -> None:
    email = identity.unique_email()
    squatter = await identity.register(email)  # registered with someone else's email
    owner = await identity.register_verified()

    claimed = await _link_email(identity, owner, email)
    assert claimed.status_code == 201, claimed.text
    await identity.verify(owner["id"], "email", email)

    assert (await _resolve(identity, "email", email)).json()["member_id"] == owner["id"]
    # signing in with it reaches the owner's account now, never the squatter's
    assert (await identity.login(email)).json()["subject_id"] == owner["id"]
    fetched = (
        await identity.get(f"/internal/members/{squatter['id']}", actor=identity.ADMIN)
    ).json()
    assert fetched["identifiers"] == []
    # and no one can take it from the owner now
    third = await identity.register_verified()
    taken = await _link_email(identity, third, email)
    assert (taken.status_code, taken.json()["code"]) == (409, "IDENTIFIER_TAKEN")


async def test_the_first_to_prove_wins_and_the_other_claims_end(identity) -> None:
    email = identity.unique_email()
    first, second = await identity.register_verified(), await identity.register_verified()
    await _link_email(identity, first, email)
    await _link_email(identity, second, email)
    second_code = await identity.sent_code(second["id"], email)

    await identity.verify(first["id"], "email", email)

    late = await _check(identity, second, email, second_code)
    assert (late.status_code, late.json()["code"]) == (404, "NOTHING_TO_VERIFY")
    assert (
        await identity.count(
            "outbox",
            "payload->>'verification_code' IS NOT NULL AND payload->>'value' = :v",
            v=email,
        )
        == 0
    )


async def test_loyalty_receives_a_code_request_without_the_code_or_the_address() -> None:
    payload = {
        "member_id": "m",
        "verification_id": "v",
        "kind": "email",
        "value": "ines@example.org",
        "verification_code": "042917",
        "expires_at": "2026-12-01T20:15:00+00:00",
        "locale": "fr",
    }

    assert for_loyalty("identifier.verification_requested", payload) == {
        "member_id": "m",
        "verification_id": "v",
        "kind": "email",
        "expires_at": "2026-12-01T20:15:00+00:00",
        "locale": "fr",
    }
    assert for_loyalty("member.registered", payload) == payload


async def test_erasure_and_merges_end_the_codes_waiting(identity) -> None:
    erased, absorbed, survivor = [await identity.register_verified() for _ in range(3)]
    emails = {m["id"]: identity.unique_email() for m in (erased, absorbed)}
    for m in (erased, absorbed):
        await _link_email(identity, m, emails[m["id"]])

    await identity.post(
        f"/internal/members/{erased['id']}/erase", actor=identity.member(erased["id"])
    )
    merged = await identity.post(
        "/internal/merges",
        {"survivor_id": survivor["id"], "absorbed_id": absorbed["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )

    assert merged.status_code == 201, merged.text
    for email in emails.values():
        assert await identity.count("identifier_verifications", "value = :v", v=email) == 0
        assert (
            await identity.count(
                "outbox",
                "payload->>'verification_code' IS NOT NULL AND payload->>'value' = :v",
                v=email,
            )
            == 0
        )
