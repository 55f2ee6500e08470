"""The whole platform in one process (identity, loyalty and the gateway, joined by httpx's ASGI
transport), on a database of its own with the demo programme, driven through GraphQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cli import single_process_app
from services.common.db import create_engine
from services.common.settings import Settings
from services.demo import seed_demo
from services.identity.passwords import COST_ENV
from services.identity.verification import queries as verifications
from tests.conftest import KEY_ENCRYPTION_SECRET, service_urls

os.environ.setdefault(COST_ENV, "low")

PASSWORD = "correct horse battery"
SECRET = "gateway-tests-service-secret-0123456789"

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on Session { accessToken refreshToken subjectId subjectKind }
    ... on UserError { code message }
  }
}
"""

REGISTER = """
mutation Register($input: RegisterMemberInput!) {
  registerMember(input: $input) {
    __typename
    ... on MemberRegistered { created member { id } }
    ... on UserError { code message }
  }
}
"""


VERIFY = """
mutation Verify($input: VerifyIdentifierInput!) {
  verifyIdentifier(input: $input) {
    __typename
    ... on IdentifierVerified { kind value verified }
    ... on UserError { code message }
  }
}
"""


class Gateway:
    PASSWORD = PASSWORD

    def __init__(self, client: httpx.AsyncClient, engine: AsyncEngine, demo: dict[str, Any]):
        self.client = client
        self.engine = engine
        self.demo = demo

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        response = await self.post(query, variables, **kw)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        body = await self.gql(query, variables, **kw)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def login(
        self, email: str, password: str = PASSWORD, portal: str = "MEMBER"
    ) -> dict[str, Any]:
        result = (
            await self.data(
                LOGIN, {"input": {"email": email, "password": password, "portal": portal}}
            )
        )["login"]
        assert result["__typename"] == "Session", result
        return result

    async def token(self, email: str, password: str = PASSWORD, portal: str = "MEMBER") -> str:
        return str((await self.login(email, password, portal))["accessToken"])

    async def register(self, email: str | None = None) -> tuple[str, str]:
        """A new member: (id, email)."""
        email = email or f"m.{uuid.uuid4().hex[:12]}@example.org"
        result = (await self.data(REGISTER, {"input": {"email": email, "password": PASSWORD}}))[
            "registerMember"
        ]
        assert result["__typename"] == "MemberRegistered", result
        return result["member"]["id"], email

    async def sent_code(self, value: str) -> str:
        """The last code sent to ``value`` (normalised), read from identity's outbox as the
        messaging system reads it."""
        async with self.engine.connect() as conn:
            sent = await verifications.codes_to_send(conn, value=value)
        assert sent, f"no code waits for {value}"
        return sent[-1].verification_code

    async def verify(self, token: str, value: str, kind: str = "EMAIL") -> dict[str, Any]:
        """Give back the code sent to one of the member's emails or phones."""
        code = await self.sent_code(value)
        result = (
            await self.data(
                VERIFY,
                {"input": {"kind": kind, "value": value, "verificationCode": code}},
                token=token,
            )
        )["verifyIdentifier"]
        assert result["__typename"] == "IdentifierVerified", result
        return result

    async def register_verified(self, email: str | None = None) -> tuple[str, str]:
        """A new member whose email is verified with the code sent to it: (id, email)."""
        member_id, email = await self.register(email)
        await self.verify(await self.token(email), email)
        return member_id, email

    async def admin_token(self) -> str:
        admin = self.demo["admin"]
        return await self.token(admin["email"], admin["password"], "STAFF")

    async def staff_token(self) -> str:
        staff = self.demo["staff"][0]
        return await self.token(staff["email"], staff["password"], "STAFF")

    async def count(self, table: str) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)

    async def settle(self) -> None:
        """Give identity's outbox relay a moment to deliver to loyalty."""
        for _ in range(50):
            if await self.count("identity.outbox WHERE delivered_at IS NULL") == 0:
                return
            await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def gateway_database_url(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway(gateway_database_url: str) -> AsyncIterator[Gateway]:
    engine = create_engine(gateway_database_url, pool_size=5, application_name="gateway-tests")
    demo = await seed_demo(engine, key_encryption_secret=KEY_ENCRYPTION_SECRET)
    app = single_process_app(
        Settings(
            environment="test", relay_interval_seconds=0.05, guest_referrals_interval_seconds=0
        ),
        service_urls(gateway_database_url),
        SECRET,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client, engine, demo)
    await engine.dispose()
