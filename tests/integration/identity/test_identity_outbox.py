"""The transactional outbox: events are written with the change they describe, and the relay
delivers them to loyalty at least once, where they are recorded exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
import sqlalchemy as sa

from services.common.http import ServiceTokens
from services.common.settings import Settings
from services.identity.api import create_app as create_identity
from services.identity.outbox.relay import relay_once
from services.loyalty.api import create_app as create_loyalty

SECRET = "identity-tests-service-secret-0123456789"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def loyalty_app(loyalty_database_url: str) -> AsyncIterator[object]:
    app = create_loyalty(
        Settings(environment="test"), database_url=loyalty_database_url, service_secret=SECRET
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def loyalty_client(loyalty_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=loyalty_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://loyalty") as client:
        yield client


async def _drain(engine, client: httpx.AsyncClient) -> int:
    total = 0
    while delivered := await relay_once(engine, client, ServiceTokens(SECRET)):
        total += delivered
    return total


async def _inbox(engine, member_id: str, event_type: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM loyalty.inbox WHERE type = :t "
                    "AND payload->>'member_id' = :m"
                ),
                {"t": event_type, "m": member_id},
            )
        )


async def test_a_refused_registration_writes_only_a_notice_to_the_emails_owner(identity) -> None:
    email = identity.unique_email()
    owner = await identity.register(email)
    before = await identity.count("outbox")

    response = await identity.post(
        "/internal/members", {"email": email.upper(), "password": identity.PASSWORD}
    )

    assert response.json()["code"] == "IDENTIFIER_TAKEN"
    assert await identity.count("outbox") == before + 1
    notice = "type = 'registration.attempted' AND payload->>'member_id' = :m AND payload->>'kind' = 'email'"
    assert await identity.count("outbox", notice, m=owner["id"]) == 1


async def test_the_relay_delivers_an_event_to_loyalty_exactly_once(
    identity, loyalty_client: httpx.AsyncClient
) -> None:
    member = await identity.register()
    where = "type = 'member.registered' AND payload->>'member_id' = :m"
    assert await identity.count("outbox", f"{where} AND delivered_at IS NULL", m=member["id"]) == 1

    assert await _drain(identity.engine, loyalty_client) >= 1
    assert await _drain(identity.engine, loyalty_client) == 0  # a second pass finds nothing

    assert (
        await identity.count("outbox", f"{where} AND delivered_at IS NOT NULL", m=member["id"]) == 1
    )
    assert await _inbox(identity.engine, member["id"], "member.registered") == 1

    # the commit after a successful delivery was lost: the event goes again, loyalty keeps one
    async with identity.engine.begin() as conn:
        await conn.execute(
            sa.text(f"UPDATE identity.outbox SET delivered_at = NULL WHERE {where}"),
            {"m": member["id"]},
        )
    assert await _drain(identity.engine, loyalty_client) == 1
    assert await _inbox(identity.engine, member["id"], "member.registered") == 1


async def test_two_relays_at_once_never_send_the_same_batch(
    identity, loyalty_client: httpx.AsyncClient
) -> None:
    await _drain(identity.engine, loyalty_client)
    members = [await identity.register() for _ in range(5)]

    delivered = await asyncio.gather(
        *(relay_once(identity.engine, loyalty_client, ServiceTokens(SECRET)) for _ in range(3))
    )

    # each registration writes two events: the code sent to the email, and the registration
    assert sum(delivered) == 10
    for member in members:
        assert await _inbox(identity.engine, member["id"], "member.registered") == 1


async def test_a_failed_delivery_is_counted_and_retried(
    identity, loyalty_app, loyalty_client
) -> None:
    await _drain(identity.engine, loyalty_client)
    member = await identity.register()
    where = "type = 'member.registered' AND payload->>'member_id' = :m"

    refusing = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(503)), base_url="http://loyalty"
    )
    unreachable = httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=1.0)
    wrong_secret = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=loyalty_app), base_url="http://loyalty"
    )
    async with refusing, unreachable, wrong_secret:
        assert await relay_once(identity.engine, refusing, ServiceTokens(SECRET)) == 0
        assert await relay_once(identity.engine, unreachable, ServiceTokens(SECRET)) == 0
        assert await relay_once(identity.engine, wrong_secret, ServiceTokens("x" * 40)) == 0

    assert (
        await identity.count(
            "outbox",
            f"{where} AND delivered_at IS NULL AND attempts = 3 AND last_error IS NOT NULL",
            m=member["id"],
        )
        == 1
    )
    assert await _drain(identity.engine, loyalty_client) == 2  # the code sent, the registration
    assert await _inbox(identity.engine, member["id"], "member.registered") == 1


async def test_the_running_relay_delivers_right_after_a_write(
    identity_database_url: str, identity, loyalty_app, loyalty_client
) -> None:
    await _drain(identity.engine, loyalty_client)
    settings = Settings(environment="test", relay_interval_seconds=30)
    app = create_identity(
        settings,
        database_url=identity_database_url,
        service_secret=SECRET,
        loyalty_url="http://loyalty",
        loyalty_transport=httpx.ASGITransport(app=loyalty_app),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
            response = await client.post(
                "/internal/members",
                json={"email": identity.unique_email(), "password": identity.PASSWORD},
                headers={"authorization": ServiceTokens(SECRET).header("identity")},
            )
            member_id = response.json()["id"]
            # woken by the write, not by its 30-second tick
            for _ in range(100):
                if await _inbox(identity.engine, member_id, "member.registered"):
                    break
                await asyncio.sleep(0.05)
    assert await _inbox(identity.engine, member_id, "member.registered") == 1


async def test_every_event_names_its_member(identity) -> None:
    assert await identity.count("outbox", "NOT (payload ? 'member_id')") == 0
