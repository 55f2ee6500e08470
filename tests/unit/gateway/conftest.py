"""The gateway alone, with identity and loyalty played by fakes behind ``httpx.MockTransport``:
no database, no sockets. The fakes record every internal call the gateway makes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from graphql_schema.app import create_app
from services.common.settings import Settings
from services.identity import contract as ic
from services.identity import tokens

SECRET = "unit-tests-service-secret-0123456789"
ISSUER = "loyalty-identity"
AUDIENCE = "loyalty-gateway"
GOOD_API_KEY = "lk_abcdefgh_the-partner-secret"
PARTNER_ID = uuid.UUID("00000000-0000-4000-8000-00000000aaaa")
KEY_ID = uuid.UUID("00000000-0000-4000-8000-00000000bbbb")

Handler = Callable[[httpx.Request], httpx.Response | None]


def problem(status: int, code: str, message: str = "refused", **details: Any) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "details": details})


def member(member_id: uuid.UUID, email: str) -> ic.Member:
    now = datetime.now(UTC)
    return ic.Member(
        id=member_id,
        status=ic.MemberStatus.ACTIVE,
        display_name=None,
        locale=ic.Locale.EN,
        created_at=now,
        identifiers=[ic.Identifier(kind=ic.IdentifierKind.EMAIL, value=email, linked_at=now)],
        preferences=ic.Preferences(
            consents=[], invitation_cap_per_30_days=4, quiet_hours=None, interests=[]
        ),
    )


@dataclass
class FakeServices:
    """Identity and loyalty as the gateway sees them. ``routes`` may be overridden per test:
    a handler returning ``None`` falls through to the defaults."""

    GOOD_API_KEY = GOOD_API_KEY
    PARTNER_ID = PARTNER_ID
    KEY_ID = KEY_ID
    AUDIENCE = AUDIENCE
    ISSUER = ISSUER
    problem = staticmethod(problem)

    keys: list[tokens.SigningKey] = field(default_factory=lambda: [tokens.SigningKey.generate()])
    members: dict[uuid.UUID, ic.Member] = field(default_factory=dict)
    calls: list[httpx.Request] = field(default_factory=list)
    overrides: list[Handler] = field(default_factory=list)
    loyalty_healthy: bool = True
    identity_database_up: bool = True  # its /readyz answers 503 when not
    loyalty_database_up: bool = True
    revocations: list[ic.Revocation] = field(default_factory=list)  # what the feed hands out
    revocations_up: bool = True  # its feed answers 503 when not
    # answers (or failures) its feed gives first, in order
    feed_answers: list[httpx.Response | Exception] = field(default_factory=list)
    revocation_polls: int = 0

    def revocation_page(self, request: httpx.Request) -> httpx.Response:
        """Identity's revocation feed, answering at once (never holding the poll)."""
        self.revocation_polls += 1
        if self.feed_answers:
            answer = self.feed_answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        if not self.revocations_up:
            return httpx.Response(503, json={"code": "UNAVAILABLE", "message": "down"})
        after = int(request.url.params.get("after", "0"))
        found = [r for r in self.revocations if r.id > after]
        page = ic.RevocationPage(
            cursor=found[-1].id if found else after, revocations=found, more=False
        )
        return httpx.Response(200, content=page.model_dump_json())

    @property
    def key(self) -> tokens.SigningKey:
        return self.keys[0]

    def token(
        self,
        subject: uuid.UUID,
        kind: str = "member",
        *,
        key: tokens.SigningKey | None = None,
        audience: str = AUDIENCE,
        issuer: str = ISSUER,
        ttl_seconds: int = 600,
        now: datetime | None = None,
    ) -> str:
        return tokens.issue_access_token(
            key or self.key,
            issuer=issuer,
            audience=audience,
            subject=subject,
            kind=kind,
            ttl_seconds=ttl_seconds,
            now=now or datetime.now(UTC),
        )

    def add_member(self, email: str = "ines@example.org") -> uuid.UUID:
        member_id = uuid.uuid4()
        self.members[member_id] = member(member_id, email)
        return member_id

    def internal_calls(self, path_prefix: str = "/internal/") -> list[httpx.Request]:
        return [c for c in self.calls if c.url.path.startswith(path_prefix)]

    def jwks_fetches(self) -> int:
        return sum(1 for c in self.calls if c.url.path == "/.well-known/jwks.json")

    def identity(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/internal/revocations":  # the feed's polls are not calls
            return self.revocation_page(request)
        self.calls.append(request)
        for override in self.overrides:
            response = override(request)
            if response is not None:
                return response
        path = request.url.path
        if path == "/healthz" or (path == "/readyz" and self.identity_database_up):
            return httpx.Response(200, json={"status": "ok"})
        if path == "/readyz":
            return httpx.Response(503, json={"status": "unavailable"})
        if path == "/.well-known/jwks.json":
            return httpx.Response(200, json=tokens.jwks(k.public_jwk for k in self.keys))
        if path == "/internal/api-keys/verify":
            if json.loads(request.content)["api_key"] == GOOD_API_KEY:
                return httpx.Response(
                    200, json={"partner_id": str(PARTNER_ID), "key_id": str(KEY_ID)}
                )
            return problem(401, "API_KEY_INVALID", "the API key is not valid")
        if path.startswith("/internal/members/") and request.method == "GET":
            found = self.members.get(uuid.UUID(path.rsplit("/", 1)[1]))
            if found is None:
                return problem(404, "MEMBER_NOT_FOUND", "no such member")
            return httpx.Response(200, content=found.model_dump_json())
        return problem(404, "NOT_FOUND", f"the fake has no {request.method} {path}")

    def loyalty(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.url.path in ("/healthz", "/readyz"):
            if not self.loyalty_healthy:
                raise httpx.ConnectError("connection refused", request=request)
            if request.url.path == "/readyz" and not self.loyalty_database_up:
                return httpx.Response(503, json={"status": "unavailable"})
            return httpx.Response(200, json={"status": "ok"})
        return problem(404, "NOT_FOUND", "the fake loyalty has nothing")


@dataclass
class Gateway:
    client: httpx.AsyncClient
    services: FakeServices

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


GatewayFactory = Callable[..., AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


@pytest.fixture
def make_gateway(services: FakeServices) -> GatewayFactory:
    """``async with make_gateway(environment="test", max_aliases=3) as gateway: ...``"""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[Gateway]:
        app = create_app(
            Settings(**{"environment": "test", **settings}),
            identity_url="http://identity",
            loyalty_url="http://loyalty",
            service_secret=SECRET,
            identity_transport=httpx.MockTransport(services.identity),
            loyalty_transport=httpx.MockTransport(services.loyalty),
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield Gateway(client, services)

    return make
