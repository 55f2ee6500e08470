"""The whole platform in one process for fuzzing: identity, loyalty and the gateway, joined by
httpx's ASGI transport as ``loyalty serve`` joins them, on a database of its own with the demo
programme, in development mode (the most talkative one). Its event loop runs in a thread of its
own, so that the background jobs (the outbox relay, the points and referral jobs) run between
requests as in a server, and Hypothesis drives it from plain synchronous tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette

from graphql_schema.app import create_app as create_gateway
from services.common.db import create_engine
from services.common.http import ServiceTokens
from services.common.settings import Settings
from services.demo import seed_demo
from services.identity.api import create_app as create_identity
from services.identity.passwords import COST_ENV
from services.loyalty.api import create_app as create_loyalty
from tests.conftest import KEY_ENCRYPTION_SECRET, service_urls

os.environ.setdefault(COST_ENV, "low")

T = TypeVar("T")

SECRET = "fuzzing-service-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"

#: What no answer may carry: a traceback, SQL, a database driver's name, a file path.
LEAKS = re.compile(
    r"Traceback|File \"|\bline \d+, in\b"
    r"|\b(?:SELECT\s[\w*,. ]+\sFROM|INSERT INTO|UPDATE\s+\w+(?:\.\w+)?\s+SET|DELETE FROM)\b"
    r"|\[SQL:|\[parameters:|asyncpg|sqlalchemy|psycopg"
    r"|\w\.py\b|/home/|/usr/|site-packages",
    re.IGNORECASE,
)

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on Session { accessToken } ... on UserError { code } } }"""
REGISTER = """mutation($input: RegisterMemberInput!) { registerMember(input: $input) {
  __typename ... on MemberRegistered { member { id } } ... on UserError { code } } }"""


def problems_in(status: int, text: str) -> list[str]:
    """What is wrong with one answer: a 5xx, an INTERNAL_ERROR, a leak of the implementation."""
    found = []
    if status >= 500:
        found.append(f"status {status}")
    if "INTERNAL_ERROR" in text:
        found.append("INTERNAL_ERROR")
    if (leak := LEAKS.search(text)) is not None:
        found.append(f"leak {leak.group(0)!r}")
    return found


def fuzzing(examples: int) -> settings:
    """Hypothesis's settings for ``examples`` requests to the platform: no deadline (the services
    answer at their own pace), no health check (the setup is slow and most draws are filtered by
    the services, not by Hypothesis), and the blob that reproduces a failure printed."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def assert_answered_cleanly(response: httpx.Response, sent: object) -> None:
    """``response`` to ``sent`` has none of the problems of ``problems_in``; a failure shows what
    was sent, the status and the beginning of the answer."""
    assert problems_in(response.status_code, response.text) == [], (
        sent,
        response.status_code,
        response.text[:2000],
    )


@dataclass
class Platform:
    """The running platform, its demo programme and the four points of view."""

    loop: asyncio.AbstractEventLoop
    gateway: httpx.AsyncClient
    identity: httpx.AsyncClient
    loyalty: httpx.AsyncClient
    tokens: ServiceTokens
    demo: dict[str, Any]
    personas: dict[str, dict[str, str]] = field(default_factory=dict)
    sent: int = 0
    #: the services' apps by name, whose routes their fuzzing covers
    services: dict[str, Starlette] = field(default_factory=dict)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    def graphql(self, query: str, persona: str = "anonymous") -> httpx.Response:
        self.sent += 1
        return self.run(
            self.gateway.post("/graphql", json={"query": query}, headers=self.personas[persona])
        )

    def ids(self) -> list[str]:
        """Ids that exist in the demo programme: members, venues, partner, rewards."""
        demo = self.demo
        return [
            *(m["memberId"] for m in demo["members"]),
            *(s["venueId"] for s in demo["staff"]),
            *(p["partnerId"] for p in demo["partners"]),
            *(r["rewardId"] for r in demo["rewards"]),
        ]

    def emails(self) -> list[str]:
        demo = self.demo
        return [m["email"] for m in demo["members"]] + [s["email"] for s in demo["staff"]]

    def new_member(self) -> dict[str, str]:
        """A member of its own for the member's point of view (signed in on another address
        than the fuzzed requests, so that their failed logins throttle nothing here)."""
        email = f"fuzz.{uuid.uuid4().hex[:12]}@example.org"
        created = self._setup(REGISTER, {"input": {"email": email, "password": PASSWORD}})
        assert created["registerMember"]["__typename"] == "MemberRegistered", created
        return {"authorization": f"Bearer {self.token(email, PASSWORD, 'MEMBER')}"}

    def token(self, email: str, password: str, portal: str) -> str:
        data = self._setup(
            LOGIN, {"input": {"email": email, "password": password, "portal": portal}}
        )
        assert data["login"]["__typename"] == "Session", data
        return str(data["login"]["accessToken"])

    def _setup(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async def post() -> dict[str, Any]:
            transport = httpx.ASGITransport(app=self._app, client=(f"198.51.100.{self._n}", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body
            return dict(body["data"])

        self._n = self._n % 250 + 1
        return self.run(post())

    _app: Starlette = field(init=False, repr=False)
    _n: int = field(default=1, init=False, repr=False)


def _apps(url: str) -> tuple[Starlette, Starlette, Starlette]:
    settings = Settings(environment="development", relay_interval_seconds=0.05)
    urls = service_urls(url)
    loyalty = create_loyalty(
        settings, database_url=urls.loyalty, service_secret=SECRET, run_jobs=True
    )
    identity = create_identity(
        settings,
        database_url=urls.identity,
        service_secret=SECRET,
        loyalty_url="http://loyalty",
        loyalty_transport=httpx.ASGITransport(app=loyalty),
    )
    gateway = create_gateway(
        settings,
        identity_url="http://identity",
        loyalty_url="http://loyalty",
        service_secret=SECRET,
        identity_transport=httpx.ASGITransport(app=identity),
        loyalty_transport=httpx.ASGITransport(app=loyalty),
    )
    return gateway, identity, loyalty


@contextlib.contextmanager
def running_platform(url: str) -> Iterator[Platform]:
    """Start the platform on the migrated database ``url`` and the demo programme in it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzzed-platform", daemon=True)
    thread.start()
    stack = contextlib.AsyncExitStack()
    gateway_app, identity_app, loyalty_app = _apps(url)

    def client(app: Starlette, base: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=("203.0.113.9", 40000)
        )
        return httpx.AsyncClient(transport=transport, base_url=base, timeout=60)

    async def start() -> Platform:
        engine = create_engine(url, pool_size=2, application_name="fuzz-seed")
        try:
            demo = await seed_demo(engine, key_encryption_secret=KEY_ENCRYPTION_SECRET)
        finally:
            await engine.dispose()
        for app in (loyalty_app, identity_app, gateway_app):
            await stack.enter_async_context(app.router.lifespan_context(app))
        clients = [
            await stack.enter_async_context(client(app, base))
            for app, base in (
                (gateway_app, "http://gateway"),
                (identity_app, "http://identity"),
                (loyalty_app, "http://loyalty"),
            )
        ]
        return Platform(loop, *clients, ServiceTokens(SECRET), demo)

    platform = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=120)
    platform._app = gateway_app
    platform.services = {"identity": identity_app, "loyalty": loyalty_app}
    try:
        member, staff = platform.demo["members"][0], platform.demo["staff"][0]
        partner = platform.demo["partners"][0]
        platform.personas = {
            "anonymous": {},
            "member": {
                "authorization": "Bearer "
                + platform.token(member["email"], member["password"], "MEMBER")
            },
            "staff": {
                "authorization": "Bearer "
                + platform.token(staff["email"], staff["password"], "STAFF")
            },
            "partner": {"x-api-key": partner["apiKey"]},
        }
        yield platform
    finally:
        asyncio.run_coroutine_threadsafe(stack.aclose(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
