"""What the referrals' integration tests share: a programme of their own (a database with a rule
set that rewards referrals and welcomes referees, and referral terms with a small cap), the
loyalty app on it, and the calls the gateway and identity's relay make.

Referees are named by keyed hashes as identity would give them; here any 64 hex digits do, so
the hashes are made from the test's own names."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import SYSTEM, Actor, ActorKind, PartnerScope
from services.common.db import create_engine
from services.common.http import ServiceTokens
from services.common.settings import Settings
from services.loyalty.api import create_app
from tests.conftest import service_urls
from tests.integration.programme import REFERRAL_POINTS as REFERRAL_POINTS
from tests.integration.programme import WELCOME_POINTS as WELCOME_POINTS
from tests.integration.programme import publish_a_year_ago, referral_rules

SECRET = "referral-tests-service-secret-0123456789"
VENUE = uuid.UUID("00000000-0000-4000-8000-00000000b001")
STAFF = Actor(ActorKind.STAFF, str(uuid.uuid4()), frozenset({str(VENUE)}))
ADMIN = Actor(ActorKind.ADMIN, str(uuid.uuid4()))
CAP = 4


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def hashed(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def rules_document(effective_at: datetime) -> dict[str, Any]:
    return referral_rules(effective_at, cap=CAP, qualifying_triggers=["purchase", "attendance"])


@dataclass
class Person:
    """Someone as identity knows them: their id, and their email's and phone's keyed hashes."""

    id: uuid.UUID
    email: str
    phone: str

    @classmethod
    def new(cls) -> Person:
        name = uuid.uuid4().hex
        return cls(uuid.uuid4(), hashed("email", name), hashed("phone", name))

    def referee(self, *member_ids: uuid.UUID) -> dict[str, Any]:
        return {"email_hash": self.email, "member_ids": [str(m) for m in member_ids]}


#: What a referring partner's API key may do: register referrals (and record purchases).
REFERRING = PartnerScope(frozenset({"purchase"}), None, register_referrals=True)


def partner() -> Actor:
    return Actor(ActorKind.PARTNER, str(uuid.uuid4()), scope=REFERRING)


def consent(at: datetime | None = None) -> dict[str, str]:
    return {"method": "online_form", "given_at": (at or now() - timedelta(days=1)).isoformat()}


class Programme:
    """The loyalty app of the referral tests, called as the gateway and the relay call it."""

    def __init__(self, client: httpx.AsyncClient, engine: AsyncEngine, app: Any) -> None:
        self.client = client
        self.engine = engine
        self.app = app
        self._tokens = ServiceTokens(SECRET)

    async def call(
        self, method: str, path: str, *, actor: Actor = SYSTEM, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": self._tokens.header("loyalty"), **actor.headers()}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def event(
        self, kind: str, payload: dict[str, Any], *, event_id: uuid.UUID | None = None
    ) -> None:
        body = {
            "events": [
                {
                    "event_id": str(event_id or uuid.uuid4()),
                    "type": kind,
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "payload": payload,
                }
            ]
        }
        await self.ok("POST", "/internal/events", json=body)

    async def joins(self, person: Person, *, event_id: uuid.UUID | None = None) -> None:
        """Identity tells loyalty that ``person`` registered (email and phone)."""
        payload = {
            "member_id": str(person.id),
            "locale": "en",
            "identifier_hashes": {"email": person.email, "phone": person.phone},
        }
        await self.event("member.registered", payload, event_id=event_id)

    async def links(self, member: uuid.UUID, kind: str, identifier_hash: str) -> None:
        payload = {"member_id": str(member), "kind": kind, "identifier_hash": identifier_hash}
        await self.event("identifier.linked", payload)

    async def merges(self, survivor: uuid.UUID, absorbed: uuid.UUID) -> None:
        payload = {
            "member_id": str(survivor),
            "survivor_id": str(survivor),
            "absorbed_id": str(absorbed),
            "merge_id": str(uuid.uuid4()),
        }
        await self.event("members.merged", payload)

    async def code(self, member: uuid.UUID) -> str:
        found = await self.ok(
            "GET",
            f"/internal/members/{member}/referral-code",
            actor=Actor(ActorKind.MEMBER, str(member)),
        )
        return str(found["code"])

    async def register(
        self, actor: Actor, code: str, referee: dict[str, Any], **fields: Any
    ) -> httpx.Response:
        body = {
            "code": code,
            "reference": fields.pop("reference", uuid.uuid4().hex),
            "referee": referee,
            **({"consent": consent()} if "consent" not in fields else {}),
            **{k: v for k, v in fields.items() if v is not None},
        }
        return await self.call("POST", "/internal/referrals", actor=actor, json=body)

    async def earn(
        self, member: uuid.UUID, *, trigger: str = "purchase", amount: str = "20", **kw: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "trigger": trigger,
            "occurred_at": kw.get("at", datetime.now(UTC)).isoformat(),
            "venue_id": str(VENUE),
        }
        if trigger == "purchase":
            event.update(amount=amount, currency="EUR")
        body = {"member_id": str(member), "external_id": uuid.uuid4().hex, "event": event}
        found: dict[str, Any] = await self.ok("POST", "/internal/earn", actor=STAFF, json=body)
        return found

    async def balance(self, member: uuid.UUID) -> int:
        account = await self.ok("GET", f"/internal/members/{member}/account", actor=ADMIN)
        return int(account["balance"])

    async def entries(self, member: uuid.UUID) -> list[dict[str, Any]]:
        account = await self.ok(
            "GET", f"/internal/members/{member}/account", actor=ADMIN, params={"first": 50}
        )
        entries: list[dict[str, Any]] = account["history"]["entries"]
        return entries

    async def referral(self, referral_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT * FROM loyalty.referrals WHERE id = CAST(:i AS uuid)"),
                    {"i": referral_id},
                )
            ).one()
        return dict(row._mapping)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(sa.text(sql), params)


async def open_programme(url: str, **settings: Any) -> AsyncIterator[Programme]:
    engine = create_engine(url, pool_size=5, application_name="referral-tests")
    await publish_a_year_ago(engine, rules_document, idempotency_key="referrals-1")
    app = create_app(
        Settings(environment="test", **settings),
        database_url=service_urls(url).loyalty,
        service_secret=SECRET,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://loyalty") as client:
            yield Programme(client, engine, app)
    await engine.dispose()


@pytest.fixture(scope="module")
def referrals_database_url(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def referrals(referrals_database_url: str) -> AsyncIterator[Programme]:
    """A programme of the module's own."""
    async for found in open_programme(referrals_database_url):
        yield found
