"""Logging in, rotating refresh tokens, and what a stolen refresh token can no longer do."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from services.identity.tokens import decode_access_token

ISSUER = "loyalty-identity"
AUDIENCE = "loyalty-gateway"


async def _jwks(identity) -> dict:
    response = await identity.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


async def test_a_member_logs_in_and_gets_an_access_token_the_jwks_verifies(identity) -> None:
    email = identity.unique_email()
    member = await identity.register(email.upper())

    response = await identity.login(f"  {email} ")

    assert response.status_code == 200, response.text
    session = response.json()
    assert session["subject_kind"] == "member"
    assert session["subject_id"] == member["id"]
    assert session["token_type"] == "Bearer"
    claims = decode_access_token(
        session["access_token"], await _jwks(identity), issuer=ISSUER, audience=AUDIENCE
    )
    assert claims["sub"] == member["id"]
    assert claims["kind"] == "member"
    assert "venues" not in claims
    assert claims["exp"] - claims["iat"] == session["expires_in"]
    assert jwt.get_unverified_header(session["access_token"])["alg"] == "EdDSA"


async def test_a_wrong_password_and_an_unknown_email_fail_the_same_way(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)

    wrong = await identity.login(email, "not the password")
    unknown = await identity.login(identity.unique_email(), identity.PASSWORD)
    malformed = await identity.login("not an email", identity.PASSWORD)

    for response in (wrong, unknown, malformed):
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_CREDENTIALS"


async def test_a_member_cannot_use_the_staff_portal(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)

    response = await identity.login(email, portal="staff")

    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_CREDENTIALS"


async def test_a_refresh_rotates_the_pair_and_the_old_token_is_spent(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)
    first = (await identity.login(email)).json()

    rotated = await identity.post("/internal/refresh", {"refresh_token": first["refresh_token"]})

    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["subject_id"] == first["subject_id"]
    third = await identity.post("/internal/refresh", {"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


async def test_reusing_a_spent_refresh_token_revokes_its_whole_family(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)
    first = (await identity.login(email)).json()
    other_session = (await identity.login(email)).json()
    second = (
        await identity.post("/internal/refresh", {"refresh_token": first["refresh_token"]})
    ).json()

    replay = await identity.post("/internal/refresh", {"refresh_token": first["refresh_token"]})

    assert replay.status_code == 401
    assert replay.json()["code"] == "REFRESH_TOKEN_REUSED"
    # the thief's rotation is dead too: the whole family is revoked
    after = await identity.post("/internal/refresh", {"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert after.json()["code"] == "REFRESH_TOKEN_INVALID"
    family_id = first["refresh_token"].split(".")[0]
    assert (
        await identity.count(
            "refresh_tokens",
            "family_id = (SELECT family_id FROM identity.refresh_tokens WHERE id = "
            "CAST(:id AS uuid)) AND revoked_at IS NULL",
            id=family_id,
        )
        == 0
    )
    # another login's family is untouched
    other = await identity.post(
        "/internal/refresh", {"refresh_token": other_session["refresh_token"]}
    )
    assert other.status_code == 200


async def test_of_two_concurrent_refreshes_with_one_token_exactly_one_rotates(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)
    token = (await identity.login(email)).json()["refresh_token"]

    responses = await asyncio.gather(
        *(identity.post("/internal/refresh", {"refresh_token": token}) for _ in range(2))
    )

    assert sorted(r.status_code for r in responses) == [200, 401]
    assert [r.json()["code"] for r in responses if r.status_code == 401] == ["REFRESH_TOKEN_REUSED"]


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token-at-all",
        "00000000-0000-0000-0000-000000000000.secret-that-matches-nothing",
    ],
)
async def test_an_unknown_refresh_token_is_invalid(identity, token: str) -> None:
    response = await identity.post("/internal/refresh", {"refresh_token": token})

    assert response.status_code == 401
    assert response.json()["code"] == "REFRESH_TOKEN_INVALID"


async def test_a_tampered_refresh_token_is_invalid(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)
    token = (await identity.login(email)).json()["refresh_token"]
    token_id, secret = token.split(".", 1)

    response = await identity.post(
        "/internal/refresh", {"refresh_token": f"{token_id}.{secret[::-1]}"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == "REFRESH_TOKEN_INVALID"
    # the genuine token still works: a wrong guess does not burn it
    assert (await identity.post("/internal/refresh", {"refresh_token": token})).status_code == 200


async def test_an_expired_refresh_token_is_invalid(identity) -> None:
    email = identity.unique_email()
    await identity.register(email)
    token = (await identity.login(email)).json()["refresh_token"]
    async with identity.engine.begin() as conn:
        import sqlalchemy as sa

        await conn.execute(
            sa.text(
                "UPDATE identity.refresh_tokens SET issued_at = now() - interval '2 days', "
                "expires_at = now() - interval '1 day' WHERE id = CAST(:id AS uuid)"
            ),
            {"id": token.split(".")[0]},
        )

    response = await identity.post("/internal/refresh", {"refresh_token": token})

    assert response.status_code == 401
    assert response.json()["code"] == "REFRESH_TOKEN_INVALID"


async def test_staff_tokens_carry_their_venues(identity) -> None:
    venue = (
        await identity.post("/internal/venues", {"name": "Salle Bleue"}, actor=identity.ADMIN)
    ).json()
    email = identity.unique_email("staff")
    created = await identity.post(
        "/internal/staff",
        {"email": email, "password": identity.PASSWORD, "venue_ids": [venue["id"]]},
        actor=identity.ADMIN,
    )
    assert created.status_code == 201, created.text

    session = (await identity.login(email, portal="staff")).json()
    claims = decode_access_token(
        session["access_token"], await _jwks(identity), issuer=ISSUER, audience=AUDIENCE
    )
    assert session["subject_kind"] == "staff"
    assert claims["kind"] == "staff"
    assert claims["venues"] == [venue["id"]]
    wrong_portal = await identity.login(email, portal="member")
    assert (wrong_portal.status_code, wrong_portal.json()["code"]) == (401, "INVALID_CREDENTIALS")
    refreshed = await identity.post(
        "/internal/refresh", {"refresh_token": session["refresh_token"]}
    )
    assert refreshed.json()["subject_kind"] == "staff"
