"""A guest named with an email or phone on an accepted invitation becomes a referral by the
inviting member even when identity is down as the member accepts: the acceptance keeps the
intent, and the gateway's job registers it later, once."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import pytest

from graphql_schema.clients.base import ServiceUnavailable
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.guest_referrals import Outcome, settle_due_guests
from services.cli import single_process_app
from services.common.settings import Settings
from tests.conftest import service_urls
from tests.integration.gateway.conftest import SECRET
from tests.integration.gateway.test_referrals_gateway import (
    RESPOND,
    eventually,
    invitation_for,
    member,
)

REFERRALS = "{ me { referrals(locale: EN) { channel status statusText points } } }"
PENDING_GUEST = {
    "channel": "GUEST",
    "status": "PENDING",
    "statusText": "Waiting for them to join.",
    "points": 0,
}


async def _intents(gateway: Any, invitation: str) -> list[tuple[int, int]]:
    rows = await gateway.engine.connect()
    try:
        found = await rows.exec_driver_sql(
            "SELECT position, attempts FROM loyalty.guest_referral_intents "
            f"WHERE invitation_id = '{uuid.UUID(invitation)}' ORDER BY position"
        )
        return [(r.position, r.attempts) for r in found]
    finally:
        await rows.close()


async def _guest_referrals(gateway: Any, invitation: str) -> list[str]:
    conn = await gateway.engine.connect()
    try:
        found = await conn.exec_driver_sql(
            "SELECT reference FROM loyalty.referrals WHERE channel = 'guest' "
            f"AND reference LIKE '{uuid.UUID(invitation)}:%' ORDER BY reference"
        )
        return [r.reference for r in found]
    finally:
        await conn.close()


async def test_a_guest_accepted_while_identity_is_down_is_referred_once_by_the_job(
    gateway: Any, gateway_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token, _ = await member(gateway)
    invitation = await invitation_for(gateway, token, starts_in=timedelta(days=2))
    guests = [
        {"name": "Léo", "email": f"leo.{uuid.uuid4().hex[:8]}@example.org"},
        {"name": "Alma"},  # no email or phone: never a referral
        {
            "name": "Nina",
            "phone": f"+33 6 12 {random.randrange(10**5, 10**6)}",
        },  # a mobile range in use
    ]
    tried: list[str | None] = []

    async def identity_down(self: IdentityClient, actor: Any, body: Any) -> Any:
        tried.append(body.email or body.phone)
        raise ServiceUnavailable("identity unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(IdentityClient, "resolve_referee", identity_down)
        answered = await gateway.data(
            RESPOND,
            {"i": {"invitationId": invitation, "answer": "ACCEPT", "guests": guests}},
            token=token,
        )
    assert answered["respondToInvitation"]["invitation"]["state"] == "ACCEPTED", answered
    assert tried == [guests[0]["email"], guests[2]["phone"]]  # tried at once, and failed
    assert (await gateway.data(REFERRALS, token=token))["me"]["referrals"] == []
    assert await _intents(gateway, invitation) == [(0, 0), (2, 0)]  # kept with the acceptance

    app = single_process_app(
        Settings(
            environment="test", relay_interval_seconds=60, guest_referrals_interval_seconds=0.05
        ),
        service_urls(gateway_database_url),
        SECRET,
    )
    async with app.router.lifespan_context(app):  # its job runs every 50 ms
        await eventually(lambda: _no_intents(gateway, invitation))
        services = app.routes[0].app.state.services  # type: ignore[attr-defined]
        again = await settle_due_guests(services.identity, services.loyalty)
    assert again == {Outcome.REGISTERED: 0, Outcome.DROPPED: 0, Outcome.FAILED: 0}

    assert await _guest_referrals(gateway, invitation) == [f"{invitation}:0", f"{invitation}:2"]
    mine = (await gateway.data(REFERRALS, token=token))["me"]["referrals"]
    assert mine == [PENDING_GUEST, PENDING_GUEST]


async def _no_intents(gateway: Any, invitation: str) -> bool:
    return await _intents(gateway, invitation) == []
