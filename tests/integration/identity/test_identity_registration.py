"""Registering members: one member per email in any spelling, idempotent retries, and bad input
that is refused before anything is written."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest


def _spellings(email: str, count: int) -> list[str]:
    local, domain = email.split("@")
    variants = [
        email,
        email.upper(),
        f"  {email}  ",
        f"{local.upper()}@{domain}",
        f"{local}@{domain.upper()}",
        f"{local.title()}@{domain.title()}",
    ]
    return [variants[i % len(variants)] for i in range(count)]


async def test_twenty_concurrent_registrations_of_one_email_make_exactly_one_member(
    identity,
) -> None:
    email = identity.unique_email("race")
    members_before = await identity.count("members")

    responses = await asyncio.gather(
        *(
            identity.post("/internal/members", {"email": spelling, "password": identity.PASSWORD})
            for spelling in _spellings(email, 20)
        )
    )

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, [r.text for r in responses if r.status_code != 409]
    assert statuses.count(409) == 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"IDENTIFIER_TAKEN"}
    assert await identity.count("members") == members_before + 1
    assert await identity.count("identifiers", "kind = 'email' AND value = :v", v=email) == 1
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert (
        await identity.count(
            "outbox", "type = 'member.registered' AND payload->>'member_id' = :m", m=winner["id"]
        )
        == 1
    )


async def test_a_registration_returns_the_member_with_normalised_identifiers(identity) -> None:
    email = identity.unique_email()

    response = await identity.post(
        "/internal/members",
        {
            "email": f" {email.upper()} ",
            "password": identity.PASSWORD,
            "display_name": "Inès Moreau",
            "locale": "fr",
            "phone": identity.unique_phone(),
            "birth_date": "1990-05-01T00:00:00",
        },
    )

    assert response.status_code == 201, response.text
    member = response.json()
    assert member["status"] == "active"
    assert member["display_name"] == "Inès Moreau"
    assert member["locale"] == "fr"
    assert member["birth_date"] == "1990-05-01"
    kinds = {i["kind"]: i["value"] for i in member["identifiers"]}
    assert kinds["email"] == email
    assert kinds["phone"].startswith("+336")
    assert member["preferences"] == {
        "consents": [],
        "invitation_cap_per_30_days": 4,
        "quiet_hours": None,
        "interests": [],
    }
    assert member["merged_from"] == []
    assert "password" not in response.text


async def test_a_phone_already_taken_refuses_the_whole_registration(identity) -> None:
    phone = identity.unique_phone()
    await identity.register(phone=phone)
    email = identity.unique_email()
    members_before = await identity.count("members")

    response = await identity.post(
        "/internal/members", {"email": email, "password": identity.PASSWORD, "phone": phone}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "IDENTIFIER_TAKEN"
    details = response.json()["details"]
    assert (details["kind"], details["created"]) == ("phone", True)
    # what a new member would have looked like, for the public API to answer with (not stored)
    would_be = details["member"]["identifiers"]
    assert [i["kind"] for i in would_be] == ["email", "phone"]
    assert would_be[0]["value"] == email
    assert await identity.count("members", "id = :m", m=details["member"]["id"]) == 0
    assert await identity.count("members") == members_before
    assert await identity.count("identifiers", "value = :v", v=email) == 0


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_member(identity) -> None:
    body = {
        "email": identity.unique_email(),
        "password": identity.PASSWORD,
        "idempotency_key": str(uuid.uuid4()),
    }

    first = await identity.post("/internal/members", body)
    again = await identity.post("/internal/members", {**body, "email": body["email"].upper()})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


async def test_concurrent_retries_with_one_idempotency_key_make_one_member(identity) -> None:
    body = {
        "email": identity.unique_email(),
        "password": identity.PASSWORD,
        "idempotency_key": str(uuid.uuid4()),
    }
    members_before = await identity.count("members")

    responses = await asyncio.gather(*(identity.post("/internal/members", body) for _ in range(5)))

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await identity.count("members") == members_before + 1


@pytest.mark.parametrize(
    "change",
    [
        {"email": "someone.else@example.org"},
        {"password": "another password"},
        {"display_name": "Someone Else"},
    ],
)
async def test_an_idempotency_key_reused_for_another_request_is_refused(
    identity, change: dict[str, Any]
) -> None:
    body = {
        "email": identity.unique_email(),
        "password": identity.PASSWORD,
        "idempotency_key": str(uuid.uuid4()),
    }
    assert (await identity.post("/internal/members", body)).status_code == 201
    members_before = await identity.count("members")

    response = await identity.post("/internal/members", {**body, **change})

    assert response.status_code == 409
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await identity.count("members") == members_before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not-an-email", "password": "long enough pw"}, "INVALID_EMAIL"),
        ({"email": "a@b", "password": "long enough pw"}, "INVALID_EMAIL"),
        ({"email": "ok@example.org", "password": "short"}, "INVALID_INPUT"),
        ({"email": "ok@example.org", "password": "x" * 129}, "INVALID_INPUT"),
        ({"email": "x" * 250 + "@example.org", "password": "long enough pw"}, "INVALID_INPUT"),
        (
            {"email": "ok@example.org", "password": "long enough pw", "display_name": "x" * 201},
            "INVALID_INPUT",
        ),
        (
            {"email": "ok@example.org", "password": "long enough pw", "locale": "de"},
            "INVALID_INPUT",
        ),
        ({"email": "ok@example.org", "password": 12345678}, "INVALID_INPUT"),
        ({"email": ["ok@example.org"], "password": "long enough pw"}, "INVALID_INPUT"),
        ({"email": "ok@example.org", "password": "long enough pw", "admin": True}, "INVALID_INPUT"),
        ({"email": "ok@example.org", "password": "long enough pw", "phone": "12"}, "INVALID_PHONE"),
        (
            {"email": "ok@example.org", "password": "long enough pw", "birth_date": "yesterday"},
            "INVALID_INPUT",
        ),
        (
            {
                "email": "ok@example.org",
                "password": "long enough pw",
                "birth_date": "2999-01-01T00:00:00",
            },
            "INVALID_INPUT",
        ),
        ({"password": "long enough pw"}, "INVALID_INPUT"),
    ],
)
async def test_malformed_registrations_are_refused_and_write_nothing(
    identity, body: dict[str, Any], code: str
) -> None:
    before = [await identity.count(t) for t in ("members", "identifiers", "outbox")]

    response = await identity.post("/internal/members", body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert [await identity.count(t) for t in ("members", "identifiers", "outbox")] == before


async def test_a_body_that_is_not_json_is_refused(identity) -> None:
    response = await identity.post(
        "/internal/members", content=b"{not json", actor=identity.ANONYMOUS
    )

    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"
