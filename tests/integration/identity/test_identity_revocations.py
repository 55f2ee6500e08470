"""Identity's revocation feed, as gateways follow it: everything in force at start, then a
long-poll that returns what is committed after its cursor (and only once it is committed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa


async def _page(identity: Any, **params: Any) -> dict[str, Any]:
    response = await identity.get("/internal/revocations", params=params, actor=None)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _spent_family(identity: Any) -> tuple[str, str]:
    """A member's session whose refresh token was reused: (its access token, its family id)."""
    email = identity.unique_email()
    await identity.register(email)
    first = (await identity.login(email)).json()
    spent = {"refresh_token": first["refresh_token"]}
    assert (await identity.post("/internal/refresh", spent)).status_code == 200
    assert (await identity.post("/internal/refresh", spent)).status_code == 401
    async with identity.engine.connect() as conn:
        family = await conn.scalar(
            sa.text("SELECT family_id FROM identity.refresh_tokens WHERE id = :id"),
            {"id": first["refresh_token"].split(".")[0]},
        )
    return first["access_token"], str(family)


async def test_access_tokens_name_their_family_and_its_revocation_is_in_the_feed(
    identity: Any,
) -> None:
    access, family = await _spent_family(identity)
    assert jwt.decode(access, options={"verify_signature": False})["sid"] == family
    everything = await _page(identity)
    sessions = [r for r in everything["revocations"] if r["subject"] == family]
    assert [(r["kind"], r["id"] <= everything["cursor"]) for r in sessions] == [("session", True)]
    revoked_at = datetime.fromisoformat(sessions[0]["revoked_at"])
    expires_at = datetime.fromisoformat(sessions[0]["expires_at"])
    assert expires_at - revoked_at == timedelta(hours=1, minutes=1)
    assert everything["more"] is False


async def test_a_long_poll_returns_the_revocation_committed_while_it_waits(identity: Any) -> None:
    cursor = (await _page(identity))["cursor"]
    idle = await _page(identity, after=cursor, wait=0)
    assert idle == {"cursor": cursor, "revocations": [], "more": False}
    waiting = asyncio.create_task(_page(identity, after=cursor, wait=25))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    _, family = await _spent_family(identity)
    page = await waiting
    assert [(r["kind"], r["subject"]) for r in page["revocations"]] == [("session", family)]
    assert page["cursor"] == page["revocations"][0]["id"] > cursor


async def test_expired_revocations_are_passed_over_and_no_longer_handed_out(
    identity: Any,
) -> None:
    cursor = (await _page(identity))["cursor"]
    past = datetime.now(UTC) - timedelta(hours=2)
    async with identity.engine.begin() as conn:
        expired = await conn.scalar(
            sa.text(
                "INSERT INTO identity.revocations (kind, subject, revoked_at, expires_at) "
                "VALUES ('member', 'gone', :at, :until) RETURNING id"
            ),
            {"at": past, "until": past + timedelta(hours=1)},
        )
    page = await _page(identity, after=cursor, wait=5)
    assert page == {"cursor": expired, "revocations": [], "more": False}
    assert "gone" not in {r["subject"] for r in (await _page(identity))["revocations"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"after": "-1"}, "after must be a revocation id (a whole number)"),
        ({"after": "9" * 20}, "after must be a revocation id (a whole number)"),
        ({"after": "١٢"}, "after must be a revocation id (a whole number)"),
        ({"wait": "31"}, "wait must be between 0 and 30 seconds"),
        ({"wait": "nan"}, "wait must be between 0 and 30 seconds"),
        ({"wait": "soon"}, "wait must be a number of seconds"),
    ],
)
async def test_a_bad_cursor_or_wait_is_invalid_input(
    identity: Any, params: dict[str, str], message: str
) -> None:
    response = await identity.get("/internal/revocations", params=params, actor=None)
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["message"]) == ("INVALID_INPUT", message)


async def test_the_feed_needs_the_service_credential(identity: Any) -> None:
    response = await identity.client.get("/internal/revocations")
    assert response.status_code == 401
