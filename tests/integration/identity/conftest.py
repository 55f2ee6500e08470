"""Fixtures for the identity service's integration tests: the app over httpx's ASGI transport,
with service-token and actor headers, against the session's migrated PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from services.common.actor import Actor, ActorKind
from services.common.http import ServiceTokens
from services.common.settings import Settings
from services.identity.api import create_app
from services.identity.passwords import COST_ENV
from services.identity.verification import queries as verifications

# argon2 at its lowest cost: these tests are about behaviour, not hashing strength
os.environ.setdefault(COST_ENV, "low")

SERVICE_SECRET = "identity-tests-service-secret-0123456789"
ADMIN = Actor(ActorKind.ADMIN, str(uuid.uuid4()))
SYSTEM = Actor(ActorKind.SYSTEM, "tests")
ANONYMOUS = Actor(ActorKind.ANONYMOUS)
PASSWORD = "correct horse battery"


def unique_email(tag: str = "member") -> str:
    return f"{tag}.{uuid.uuid4().hex[:12]}@example.org"


def unique_phone() -> str:
    """A French mobile number, in the national spelling with spaces."""
    n = uuid.uuid4().int
    national = f"06{'01245678'[n % 8]}{n // 8 % 10**7:07d}"  # always a valid mobile range
    return " ".join(national[i : i + 2] for i in range(0, 10, 2))


def member_actor(member_id: str) -> Actor:
    return Actor(ActorKind.MEMBER, member_id)


class Identity:
    """The identity app as the gateway sees it: every call carries a service token and an actor."""

    ADMIN = ADMIN
    SYSTEM = SYSTEM
    ANONYMOUS = ANONYMOUS
    PASSWORD = PASSWORD
    unique_email = staticmethod(unique_email)
    unique_phone = staticmethod(unique_phone)
    member = staticmethod(member_actor)

    def __init__(self, client: httpx.AsyncClient, engine: AsyncEngine, tokens: ServiceTokens):
        self.client = client
        self.engine = engine
        self.tokens = tokens

    def headers(self, actor: Actor | None) -> dict[str, str]:
        headers = {"authorization": self.tokens.header("identity")}
        if actor is not None:
            headers.update(actor.headers())
        return headers

    async def call(
        self, method: str, path: str, *, actor: Actor | None = ANONYMOUS, **kwargs: Any
    ) -> httpx.Response:
        return await self.client.request(method, path, headers=self.headers(actor), **kwargs)

    async def post(
        self, path: str, json: Any = None, *, actor: Actor | None = ANONYMOUS, **kw: Any
    ):
        return await self.call("POST", path, json=json, actor=actor, **kw)

    async def get(self, path: str, *, actor: Actor | None = ANONYMOUS, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, actor=actor, **kw)

    async def put(self, path: str, json: Any = None, *, actor: Actor | None = ANONYMOUS):
        return await self.call("PUT", path, json=json, actor=actor)

    async def register(self, email: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"email": email or unique_email(), "password": PASSWORD, **fields}
        response = await self.post("/internal/members", body)
        assert response.status_code == 201, response.text
        return response.json()

    async def sent_code(self, member_id: str, value: str) -> str:
        """The last code sent to ``value`` (normalised) for this member, read from the outbox
        as the messaging system reads it."""
        async with self.engine.connect() as conn:
            sent = await verifications.codes_to_send(conn, member_id=UUID(member_id), value=value)
        assert sent, f"no code waits for {value}"
        return sent[-1].verification_code

    async def verify(self, member_id: str, kind: str, value: str) -> dict[str, Any]:
        """Verify one of the member's emails or phones with the code sent to it."""
        code = await self.sent_code(member_id, value)
        response = await self.post(
            f"/internal/members/{member_id}/verifications/check",
            {"kind": kind, "value": value, "verification_code": code},
            actor=member_actor(member_id),
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def register_verified(self, email: str | None = None, **fields: Any) -> dict[str, Any]:
        """A new member whose email (and phone) are verified with the codes sent to them."""
        member = await self.register(email, **fields)
        for identifier in member["identifiers"]:
            await self.verify(member["id"], identifier["kind"], identifier["value"])
        fetched = await self.get(f"/internal/members/{member['id']}", actor=ADMIN)
        return fetched.json()

    async def login(self, email: str, password: str = PASSWORD, portal: str = "member"):
        return await self.post(
            "/internal/login", {"email": email, "password": password, "portal": portal}
        )

    async def count(self, table: str, where: str = "TRUE", **params: Any) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                sa.text(f"SELECT count(*) FROM identity.{table} WHERE {where}"), params
            )
        return int(value or 0)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_app(identity_database_url: str) -> AsyncIterator[Starlette]:
    app = create_app(
        Settings(environment="test"),
        database_url=identity_database_url,
        service_secret=SERVICE_SECRET,
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity(identity_app: Starlette, engine: AsyncEngine) -> AsyncIterator[Identity]:
    transport = httpx.ASGITransport(app=identity_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        yield Identity(client, engine, ServiceTokens(SERVICE_SECRET))
