"""Venues, partners, staff accounts and partner API keys: admin actions, idempotent where a
retry is likely, and secrets shown once."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest


async def test_creating_a_venue_twice_with_one_external_id_returns_the_first(identity) -> None:
    external_id = f"venue-{uuid.uuid4()}"
    body = {"name": "Théâtre du Port", "timezone": "Europe/Paris", "external_id": external_id}

    responses = await asyncio.gather(
        *(identity.post("/internal/venues", body, actor=identity.ADMIN) for _ in range(3))
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await identity.count("venues", "external_id = :e", e=external_id) == 1
    venue_id = responses[0].json()["id"]
    fetched = await identity.get(f"/internal/venues/{venue_id}", actor=identity.ANONYMOUS)
    assert fetched.json()["name"] == "Théâtre du Port"


async def test_venues_without_an_external_id_are_each_new(identity) -> None:
    first = await identity.post("/internal/venues", {"name": "Studio"}, actor=identity.ADMIN)
    second = await identity.post("/internal/venues", {"name": "Studio"}, actor=identity.ADMIN)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


async def test_an_unknown_venue_is_not_found(identity) -> None:
    response = await identity.get(f"/internal/venues/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["code"] == "VENUE_NOT_FOUND"


async def test_creating_a_partner_twice_with_one_external_id_returns_the_first(identity) -> None:
    body = {"name": "Café des Arts", "kind": "cafe", "external_id": f"p-{uuid.uuid4()}"}

    first = await identity.post("/internal/partners", body, actor=identity.ADMIN)
    again = await identity.post("/internal/partners", body, actor=identity.ADMIN)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/internal/venues", {"name": "Nope"}),
        ("/internal/partners", {"name": "Nope"}),
        ("/internal/staff", {"email": "nope@example.org", "password": "long enough pw"}),
    ],
)
async def test_only_an_admin_creates_organisations_and_accounts(identity, path: str, body) -> None:
    from services.common.actor import Actor, ActorKind

    for actor in (Actor(ActorKind.STAFF, str(uuid.uuid4())), identity.ANONYMOUS, identity.SYSTEM):
        response = await identity.post(path, body, actor=actor)
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/internal/venues", {"name": ""}),
        ("/internal/venues", {"name": "x" * 201}),
        ("/internal/venues", {"name": "Venue", "timezone": "Nowhere/Atlantis"}),
        ("/internal/venues", {"name": "Venue", "capacity": 10}),
        ("/internal/partners", {"name": "Partner", "kind": "k" * 41}),
        ("/internal/partners", {"name": 12}),
        ("/internal/staff", {"email": "bad", "password": "long enough pw"}),
        (
            "/internal/staff",
            {"email": "s@example.org", "password": "long enough pw", "role": "boss"},
        ),
        (
            "/internal/staff",
            {"email": "s@example.org", "password": "long enough pw", "venue_ids": ["x"]},
        ),
    ],
)
async def test_malformed_organisation_requests_are_refused_and_write_nothing(
    identity, path: str, body
) -> None:
    tables = ("venues", "partners", "accounts", "audit_log")
    before = [await identity.count(t) for t in tables]

    response = await identity.post(path, body, actor=identity.ADMIN)

    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"INVALID_INPUT", "INVALID_EMAIL"}
    assert [await identity.count(t) for t in tables] == before


async def test_a_staff_account_needs_existing_venues(identity) -> None:
    email = identity.unique_email("staff")
    response = await identity.post(
        "/internal/staff",
        {"email": email, "password": identity.PASSWORD, "venue_ids": [str(uuid.uuid4())]},
        actor=identity.ADMIN,
    )

    assert response.status_code == 404
    assert response.json()["code"] == "VENUE_NOT_FOUND"
    assert await identity.count("accounts", "email = :e", e=email) == 0


async def test_a_staff_email_is_taken_unless_the_request_is_identical(identity) -> None:
    venue = (
        await identity.post("/internal/venues", {"name": "Foyer"}, actor=identity.ADMIN)
    ).json()
    email = identity.unique_email("staff")
    body = {
        "email": email,
        "password": identity.PASSWORD,
        "display_name": "Léa",
        "venue_ids": [venue["id"]],
    }

    first = await identity.post("/internal/staff", body, actor=identity.ADMIN)
    identical = await identity.post(
        "/internal/staff", {**body, "email": email.upper()}, actor=identity.ADMIN
    )
    different = await identity.post(
        "/internal/staff", {**body, "display_name": "Someone"}, actor=identity.ADMIN
    )
    other_password = await identity.post(
        "/internal/staff", {**body, "password": "another password"}, actor=identity.ADMIN
    )

    assert first.status_code == 201, first.text
    assert first.json()["venue_ids"] == [venue["id"]]
    assert first.json()["role"] == "staff"
    assert identical.status_code == 200
    assert identical.json() == first.json()
    assert different.json()["code"] == "EMAIL_TAKEN"
    assert other_password.json()["code"] == "EMAIL_TAKEN"


async def _partner(identity) -> dict:
    return (
        await identity.post("/internal/partners", {"name": "Revendeur"}, actor=identity.ADMIN)
    ).json()


async def test_an_api_key_is_shown_once_verifies_and_stops_working_when_revoked(identity) -> None:
    partner = await _partner(identity)

    issued = await identity.post(
        f"/internal/partners/{partner['id']}/api-keys",
        {"label": "box office"},
        actor=identity.ADMIN,
    )

    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    secret = issued.json()["secret"]
    assert secret.startswith(f"lk_{key['prefix']}_")
    assert len(key["prefix"]) == 8
    # stored as a digest only
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert await identity.count("api_keys", "secret_hash = :s", s=digest) == 1
    assert await identity.count("api_keys", "secret_hash = :s OR prefix = :s", s=secret) == 0
    verified = await identity.post("/internal/api-keys/verify", {"api_key": secret})
    assert verified.status_code == 200
    assert verified.json() == {
        "partner_id": partner["id"],
        "key_id": key["id"],
        "scope": {"triggers": ["purchase"], "venue_ids": None, "register_referrals": False},
    }

    revoked = await identity.post(f"/internal/api-keys/{key['id']}/revoke", actor=identity.ADMIN)
    again = await identity.post(f"/internal/api-keys/{key['id']}/revoke", actor=identity.ADMIN)

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert again.json() == revoked.json()
    refused = await identity.post("/internal/api-keys/verify", {"api_key": secret})
    assert refused.status_code == 401
    assert refused.json()["code"] == "API_KEY_INVALID"


async def test_an_idempotent_retry_returns_the_key_without_its_secret(identity) -> None:
    partner = await _partner(identity)
    path = f"/internal/partners/{partner['id']}/api-keys"
    body = {"label": "integration", "idempotency_key": str(uuid.uuid4())}

    first = await identity.post(path, body, actor=identity.ADMIN)
    retry = await identity.post(path, body, actor=identity.ADMIN)
    reused = await identity.post(path, {**body, "label": "other"}, actor=identity.ADMIN)

    assert first.status_code == 201
    assert first.json()["secret"] is not None
    assert retry.status_code == 200
    assert retry.json() == {"key": first.json()["key"], "secret": None}
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await identity.count("api_keys", "partner_id = CAST(:p AS uuid)", p=partner["id"]) == 1


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "nonsense",
        "lk_abcdefgh",
        "lk_ABCDEFGH_0123456789abcdef0123456789abcdef",
        "lk_zzzzzzzz_0123456789abcdef0123456789abcdef",
    ],
)
async def test_malformed_or_unknown_api_keys_are_invalid(identity, candidate: str) -> None:
    response = await identity.post("/internal/api-keys/verify", {"api_key": candidate})

    assert response.status_code in {401, 422}
    assert response.json()["code"] in {"API_KEY_INVALID", "INVALID_INPUT"}


async def test_a_guessed_secret_with_a_real_prefix_is_invalid(identity) -> None:
    partner = await _partner(identity)
    secret = (
        await identity.post(
            f"/internal/partners/{partner['id']}/api-keys", {}, actor=identity.ADMIN
        )
    ).json()["secret"]

    response = await identity.post("/internal/api-keys/verify", {"api_key": secret[:-2] + "xx"})

    assert response.json()["code"] == "API_KEY_INVALID"


async def test_keys_for_unknown_partners_and_unknown_keys_are_not_found(identity) -> None:
    issue = await identity.post(
        f"/internal/partners/{uuid.uuid4()}/api-keys", {}, actor=identity.ADMIN
    )
    revoke = await identity.post(f"/internal/api-keys/{uuid.uuid4()}/revoke", actor=identity.ADMIN)

    assert issue.json()["code"] == "PARTNER_NOT_FOUND"
    assert revoke.json()["code"] == "API_KEY_NOT_FOUND"


async def test_an_admin_account_logs_in_as_admin(identity) -> None:
    email = identity.unique_email("admin")
    created = await identity.post(
        "/internal/staff",
        {"email": email, "password": identity.PASSWORD, "role": "admin"},
        actor=identity.ADMIN,
    )
    assert created.status_code == 201

    session = await identity.login(email, portal="staff")

    assert session.json()["subject_kind"] == "admin"
