"""Checks made twice, each reached on its own: a merged member's sessions end because the merge
revokes their refresh tokens, and also because a refresh refuses a member who is no longer
active. Each test takes one layer away by hand, so removing the other one fails it.

Venue scope is the other shared check: identity names a staff account's venues in its tokens
(here), and the loyalty service refuses staff acting for any other venue (in the loyalty
service's own layer tests)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.identity.tokens import decode_access_token


async def _sql(identity: Any, statement: str, **params: Any) -> Any:
    async with identity.engine.begin() as conn:
        return (await conn.execute(sa.text(statement), params)).all()


async def _refresh(identity: Any, token: str) -> tuple[int, str | None]:
    response = await identity.post("/internal/refresh", {"refresh_token": token})
    return response.status_code, response.json().get("code")


async def test_a_merge_revokes_every_refresh_token_of_the_absorbed_member_and_no_other(
    identity: Any,
) -> None:
    survivor_email, absorbed_email = identity.unique_email(), identity.unique_email()
    survivor = await identity.register(survivor_email)
    absorbed = await identity.register(absorbed_email)
    await identity.login(absorbed_email)
    await identity.login(absorbed_email)
    kept = (await identity.login(survivor_email)).json()["refresh_token"]

    merged = await identity.post(
        "/internal/merges",
        {"survivor_id": survivor["id"], "absorbed_id": absorbed["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )

    assert merged.status_code == 201, merged.text
    rows = await _sql(
        identity,
        "SELECT subject_id::text, revoked_at IS NOT NULL FROM identity.refresh_tokens "
        "WHERE subject_id IN (CAST(:a AS uuid), CAST(:s AS uuid)) ORDER BY issued_at",
        a=absorbed["id"],
        s=survivor["id"],
    )
    assert rows == [(absorbed["id"], True), (absorbed["id"], True), (survivor["id"], False)]
    assert (await _refresh(identity, kept))[0] == 200


async def test_a_revoked_token_is_refused_even_if_its_member_were_active_again(
    identity: Any,
) -> None:
    survivor, absorbed_email = await identity.register(), identity.unique_email()
    absorbed = await identity.register(absorbed_email)
    token = (await identity.login(absorbed_email)).json()["refresh_token"]
    merged = await identity.post(
        "/internal/merges",
        {"survivor_id": survivor["id"], "absorbed_id": absorbed["id"], "reason": "duplicate"},
        actor=identity.ADMIN,
    )
    assert merged.status_code == 201, merged.text
    # take the other layer away: the absorbed member looks active again
    await _sql(
        identity,
        "UPDATE identity.members SET status = 'active', merged_into = NULL "
        "WHERE id = CAST(:a AS uuid) RETURNING id",
        a=absorbed["id"],
    )

    assert await _refresh(identity, token) == (401, "REFRESH_TOKEN_INVALID")


async def test_a_member_no_longer_active_is_refused_even_with_a_live_token(identity: Any) -> None:
    other, email = await identity.register(), identity.unique_email()
    member = await identity.register(email)
    token = (await identity.login(email)).json()["refresh_token"]
    # take the other layer away: the member is merged without their tokens being revoked
    await _sql(
        identity,
        "UPDATE identity.members SET status = 'merged', merged_into = CAST(:o AS uuid) "
        "WHERE id = CAST(:m AS uuid) RETURNING id",
        o=other["id"],
        m=member["id"],
    )
    live = await _sql(
        identity,
        "SELECT count(*) FROM identity.refresh_tokens "
        "WHERE subject_id = CAST(:m AS uuid) AND revoked_at IS NULL",
        m=member["id"],
    )
    assert live == [(1,)]

    assert await _refresh(identity, token) == (401, "REFRESH_TOKEN_INVALID")


async def test_a_staff_token_names_the_venues_the_account_works_for_at_each_refresh(
    identity: Any,
) -> None:
    venues = [
        (await identity.post("/internal/venues", {"name": name}, actor=identity.ADMIN)).json()
        for name in ("Salle Rouge", "Salle Verte")
    ]
    email = identity.unique_email("staff")
    created = await identity.post(
        "/internal/staff",
        {"email": email, "password": identity.PASSWORD, "venue_ids": [v["id"] for v in venues]},
        actor=identity.ADMIN,
    )
    assert created.status_code == 201, created.text
    keys = (await identity.client.get("/.well-known/jwks.json")).json()

    def venues_of(session: dict[str, Any]) -> list[str]:
        claims = decode_access_token(
            session["access_token"], keys, issuer="loyalty-identity", audience="loyalty-gateway"
        )
        return sorted(claims["venues"])

    session = (await identity.login(email, portal="staff")).json()
    assert venues_of(session) == sorted(v["id"] for v in venues)
    # the account leaves one venue: the next token no longer names it
    await _sql(
        identity,
        "DELETE FROM identity.account_venues WHERE venue_id = CAST(:v AS uuid) RETURNING venue_id",
        v=venues[0]["id"],
    )
    refreshed = await identity.post(
        "/internal/refresh", {"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert venues_of(refreshed.json()) == [venues[1]["id"]]
