"""The service as deployed: its credential, public keys, shared signing key, schema and seed."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import create_engine
from services.common.http import issue_service_token
from services.identity.contract import EventType
from services.identity.organisations import use_cases as organisations
from services.identity.outbox import queries as outbox_queries
from services.identity.seed import seed_demo_identity
from services.identity.sessions import sealing, signing_keys
from services.identity.tables import metadata


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-token",
        f"Bearer {issue_service_token('another-secret-that-is-long-enough!!', 'identity')}",
        f"Bearer {issue_service_token('identity-tests-service-secret-0123456789', 'loyalty')}",
    ],
)
async def test_internal_calls_without_a_valid_service_credential_are_refused(
    identity, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    before = await identity.count("members")

    response = await identity.client.post(
        "/internal/members",
        json={"email": identity.unique_email(), "password": identity.PASSWORD},
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json()["code"] == "SERVICE_UNAUTHENTICATED"
    assert await identity.count("members") == before


async def test_the_public_keys_and_health_need_no_credential(identity) -> None:
    jwks = await identity.client.get("/.well-known/jwks.json")
    health = await identity.client.get("/healthz")
    ready = await identity.client.get("/readyz")

    assert jwks.status_code == 200
    assert "max-age" in jwks.headers["cache-control"]
    [key] = jwks.json()["keys"]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert "d" not in key  # never the private half
    assert (health.status_code, ready.status_code) == (200, 200)


async def test_replicas_starting_together_share_one_signing_key(database_url: str) -> None:
    engines = [create_engine(database_url, pool_size=1) for _ in range(4)]
    columns = "kid, private_key_sealed, public_jwk, created_at, active"
    kek = sealing.derive_kek(os.environ["LOYALTY_KEY_ENCRYPTION_SECRET"])
    async with engines[0].begin() as conn:  # set the session's key aside, restored below
        saved = (await conn.execute(sa.text(f"SELECT {columns} FROM identity.signing_keys"))).all()
        await conn.execute(sa.text("DELETE FROM identity.signing_keys"))
    signing_keys._SIGNING_KEYS.clear()
    try:

        async def start(engine):
            key = await signing_keys.signing_key(engine, kek)
            signing_keys._SIGNING_KEYS.clear()  # as if each were its own process
            return key.kid

        kids = await asyncio.gather(*(start(e) for e in engines))

        assert len(set(kids)) == 1
        async with engines[0].connect() as conn:
            assert await conn.scalar(sa.text("SELECT count(*) FROM identity.signing_keys")) == 1
    finally:
        async with engines[0].begin() as conn:
            await conn.execute(sa.text("DELETE FROM identity.signing_keys"))
            for row in saved:
                await conn.execute(
                    sa.text(
                        f"INSERT INTO identity.signing_keys ({columns}) VALUES "
                        "(:kid, :private_key_sealed, CAST(:public_jwk AS jsonb), :created_at, :active)"
                    ),
                    {**row._asdict(), "public_jwk": json.dumps(row.public_jwk)},
                )
        signing_keys._SIGNING_KEYS.clear()
        for engine in engines:
            await engine.dispose()


async def test_the_migration_creates_exactly_the_tables_the_code_describes(engine) -> None:
    def diff(sync_conn):
        context = MigrationContext.configure(
            sync_conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, parent: (
                    name == "identity" if type_ == "schema" else name != "alembic_version"
                ),
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)

    assert differences == []


async def test_the_demo_seed_runs_once_and_always_returns_a_working_api_key(
    identity, engine
) -> None:
    tables = ("members", "identifiers", "venues", "partners", "accounts", "consents", "outbox")

    first = await seed_demo_identity(engine)
    counts = [await identity.count(t) for t in tables]
    second = await seed_demo_identity(engine)

    assert [await identity.count(t) for t in tables] == counts
    assert set(first) == {"admin", "staff", "partners", "members"}
    assert first["admin"] == second["admin"]
    assert first["staff"] == second["staff"]
    assert first["members"] == second["members"]
    assert len(first["staff"]) == 2 and len(first["members"]) == 3
    assert first["partners"][0]["partnerId"] == second["partners"][0]["partnerId"]
    assert first["partners"][0]["apiKey"] != second["partners"][0]["apiKey"]
    for partner in (first["partners"][0], second["partners"][0]):
        verified = await identity.post("/internal/api-keys/verify", {"api_key": partner["apiKey"]})
        assert verified.json()["partner_id"] == partner["partnerId"]
    for member in second["members"]:
        session = await identity.login(member["email"], member["password"])
        assert session.json()["subject_id"] == member["memberId"]
    for staff in second["staff"]:
        session = await identity.login(staff["email"], staff["password"], portal="staff")
        assert session.status_code == 200
    admin = await identity.login(
        second["admin"]["email"], second["admin"]["password"], portal="staff"
    )
    assert admin.json()["subject_kind"] == "admin"


async def test_create_admin_is_idempotent_and_never_takes_a_staff_email(identity, engine) -> None:
    email = identity.unique_email("admin")

    first = await organisations.create_admin(engine, email, "programme password")
    again = await organisations.create_admin(engine, email.upper(), "a different password")

    assert again == first
    assert first.role.value == "admin"
    staff_email = identity.unique_email("staff")
    await identity.post(
        "/internal/staff",
        {"email": staff_email, "password": identity.PASSWORD},
        actor=identity.ADMIN,
    )
    from services.common.problems import Problem

    with pytest.raises(Problem) as taken:
        await organisations.create_admin(engine, staff_email, "admin password")
    assert taken.value.code == "EMAIL_TAKEN"


async def test_the_app_starts_and_stops_cleanly_with_a_relay_to_an_absent_loyalty(
    identity_database_url: str, engine: AsyncEngine
) -> None:
    from services.common.settings import Settings
    from services.identity.api import create_app

    posted: list[dict[str, Any]] = []

    def absent_loyalty(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(503, text="loyalty is down")

    async with engine.begin() as conn:
        await outbox_queries.add_event(
            conn,
            EventType.MEMBER_REGISTERED,
            {"member_id": str(uuid.uuid4())},
            datetime.now(UTC),
        )
    # relays of apps started by other tests of this session are not this app's
    others = {t for t in asyncio.all_tasks() if t.get_name() == "identity-outbox-relay"}
    app = create_app(
        Settings(environment="test", relay_interval_seconds=0.05),
        database_url=identity_database_url,
        service_secret="identity-tests-service-secret-0123456789",
        loyalty_url="http://loyalty",
        loyalty_transport=httpx.MockTransport(absent_loyalty),
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://identity"
        ) as client:
            assert (await client.get("/healthz")).status_code == 200
        tried: list[uuid.UUID] = []
        rows: list[Any] = []
        for _ in range(100):  # until an attempt is recorded (a few relay intervals)
            await asyncio.sleep(0.05)
            tried = [uuid.UUID(e["event_id"]) for p in posted for e in p["events"]]
            async with engine.connect() as conn:
                rows = list(
                    await conn.execute(
                        sa.text(
                            "SELECT delivered_at, attempts, last_error FROM identity.outbox "
                            "WHERE event_id = ANY(:ids) AND attempts > 0"
                        ),
                        {"ids": tried},
                    )
                )
            if rows:
                break
        relays = [
            t
            for t in asyncio.all_tasks()
            if t.get_name() == "identity-outbox-relay" and t not in others
        ]
        assert len(relays) == 1 and not relays[0].done()
    assert relays[0].done()  # stopped with the app, not left running
    # the events it tried stay in the outbox, each attempt recorded with loyalty's answer
    assert rows
    assert all(
        (row.delivered_at, row.last_error) == (None, "HTTP 503: loyalty is down")
        and row.attempts >= 1
        for row in rows
    )
