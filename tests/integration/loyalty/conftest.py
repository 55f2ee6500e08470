"""Fixtures for the loyalty service's integration tests: the app over httpx's ASGI transport,
a test programme (rule set and rewards) published once, and helpers to read the ledger."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from services.common.actor import Actor, ActorKind, PartnerScope
from services.common.http import ServiceTokens
from services.common.settings import Settings
from services.loyalty.api import create_app
from tests.integration.programme import create_coffee, publish_a_year_ago

SERVICE_SECRET = "loyalty-tests-service-secret-0123456789"
VENUE = uuid.UUID("00000000-0000-4000-8000-00000000a001")
OTHER_VENUE = uuid.UUID("00000000-0000-4000-8000-00000000a002")
STAFF = Actor(ActorKind.STAFF, str(uuid.uuid4()), frozenset({str(VENUE)}))
PARTNER = Actor(
    ActorKind.PARTNER, str(uuid.uuid4()), scope=PartnerScope(frozenset({"purchase"}), None)
)
ADMIN = Actor(ActorKind.ADMIN, str(uuid.uuid4()))


def rules_document(effective_at: datetime) -> dict[str, Any]:
    """A small programme whose awards are easy to compute by hand."""
    return {
        "effective_at": effective_at.isoformat(),
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "expiry_months": 12,
        "tier_window_days": 365,
        "tier_grace_days": 90,
        "rules": [
            {
                "key": "tickets",
                "title_en": "Tickets",
                "title_fr": "Billets",
                "trigger": "purchase",
                "conditions": {"categories": ["ticket"]},
                "award": {"kind": "per_unit", "points": 1, "per": "1", "rounding": "down"},
            },
            {
                "key": "cafe",
                "title_en": "Café",
                "title_fr": "Café",
                "trigger": "purchase",
                "conditions": {"categories": ["cafe"]},
                "award": {"kind": "per_unit", "points": 2, "per": "1", "rounding": "down"},
                "pending_days": 3,
                "counts_for_status": False,
            },
            {
                "key": "show",
                "title_en": "Attendance",
                "title_fr": "Présence",
                "trigger": "attendance",
                "award": {"kind": "fixed", "points": 25},
            },
            {
                "key": "first-visit",
                "title_en": "First visit",
                "title_fr": "Première visite",
                "trigger": "attendance",
                "conditions": {"first_of_kind": True},
                "award": {"kind": "fixed", "points": 100},
            },
            {
                "key": "workshop",
                "title_en": "Workshops",
                "title_fr": "Ateliers",
                "trigger": "purchase",
                "conditions": {"categories": ["workshop"]},
                "award": {"kind": "fixed", "points": 40},
                "caps": {"per_day": 80},
            },
        ],
        "tiers": [
            {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 100},
            {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 300},
        ],
    }


@dataclass(frozen=True)
class Programme:
    coffee_id: uuid.UUID  # 50 points, unlimited
    effective_at: datetime


async def ensure_programme(engine: AsyncEngine) -> Programme:
    """Publish the test rule set (as of a year ago) and the unlimited reward, once per database."""
    published = await publish_a_year_ago(engine, rules_document, idempotency_key="test-rules-1")
    coffee = await create_coffee(engine, key="test-coffee")
    return Programme(coffee, published.effective_at)


def ticket(amount: str, *, at: datetime | None = None, venue: uuid.UUID = VENUE) -> dict[str, Any]:
    return {
        "trigger": "purchase",
        "occurred_at": (at or datetime.now(UTC)).isoformat(),
        "amount": amount,
        "currency": "EUR",
        "category": "ticket",
        "venue_id": str(venue),
    }


class Loyalty:
    """The loyalty app as the gateway sees it: every call carries a service token and an actor."""

    STAFF = STAFF
    PARTNER = PARTNER
    ADMIN = ADMIN
    VENUE = VENUE
    OTHER_VENUE = OTHER_VENUE
    ticket = staticmethod(ticket)

    def __init__(
        self, client: httpx.AsyncClient, engine: AsyncEngine, programme: Programme
    ) -> None:
        self.client = client
        self.engine = engine
        self.programme = programme
        self._tokens = ServiceTokens(SERVICE_SECRET)

    async def call(
        self, method: str, path: str, *, actor: Actor = STAFF, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": self._tokens.header("loyalty"), **actor.headers()}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def earn(
        self,
        member_id: uuid.UUID,
        event: dict[str, Any],
        *,
        external_id: str | None = None,
        actor: Actor = STAFF,
    ) -> httpx.Response:
        body = {
            "member_id": str(member_id),
            "external_id": external_id or uuid.uuid4().hex,
            "event": event,
        }
        return await self.call("POST", "/internal/earn", actor=actor, json=body)

    async def funded_member(self, points: int) -> uuid.UUID:
        """A new member holding exactly ``points`` spendable points (from one ticket)."""
        member = uuid.uuid4()
        response = await self.earn(member, ticket(str(points)))
        assert response.status_code == 201, response.text
        assert response.json()["balance"] == points
        return member

    async def redeem(
        self, member_id: uuid.UUID, reward_id: uuid.UUID, key: str | None = None
    ) -> httpx.Response:
        body = {
            "member_id": str(member_id),
            "reward_id": str(reward_id),
            "idempotency_key": key or uuid.uuid4().hex,
        }
        actor = Actor(ActorKind.MEMBER, str(member_id))
        return await self.call("POST", "/internal/redemptions", actor=actor, json=body)

    async def account(self, member_id: uuid.UUID, **params: Any) -> dict[str, Any]:
        response = await self.call("GET", f"/internal/members/{member_id}/account", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(sa.text(sql), params)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def programme(engine: AsyncEngine) -> Programme:
    return await ensure_programme(engine)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def loyalty_app(loyalty_database_url: str) -> AsyncIterator[Starlette]:
    app = create_app(
        Settings(environment="test"),
        database_url=loyalty_database_url,
        service_secret=SERVICE_SECRET,
    )
    async with app.router.lifespan_context(app):
        yield app


REPLICAS = 4
# Each replica's pool holds at most twice this many connections (pool and overflow): enough for
# the races to meet in PostgreSQL, few enough that the session's pools never exhaust the server's
# connections (the embedded PostgreSQL allows 100), which failed races with "too many clients".
REPLICA_POOL_SIZE = 3


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def replicas(
    loyalty_database_url: str, engine: AsyncEngine, programme: Programme
) -> AsyncIterator[list[Loyalty]]:
    """Several replicas of the loyalty service on one database, as behind a load balancer: each
    has its own engine and its own in-process state, so races between them meet in PostgreSQL."""
    async with contextlib.AsyncExitStack() as stack:
        found = []
        for _ in range(REPLICAS):
            app = create_app(
                Settings(environment="test", db_pool_size=REPLICA_POOL_SIZE),
                database_url=loyalty_database_url,
                service_secret=SERVICE_SECRET,
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loyalty")
            )
            found.append(Loyalty(client, engine, programme))
        yield found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def loyalty(
    loyalty_app: Starlette, engine: AsyncEngine, programme: Programme
) -> AsyncIterator[Loyalty]:
    transport = httpx.ASGITransport(app=loyalty_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://loyalty") as client:
        yield Loyalty(client, engine, programme)
