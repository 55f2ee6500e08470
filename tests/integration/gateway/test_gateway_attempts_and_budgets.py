"""Attempts are counted one by one, however they are packed: each aliased ``login`` field is
one sign-in attempt for its account and its address, and spends its cost from the caller's
budget. The platform runs here behind a gateway that lets a request alias 60 fields and
believes ``X-Forwarded-For`` from its test client, so that each test signs in from an address
of its own."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from graphql import get_operation_ast, parse

from graphql_schema.limits import operation_cost
from graphql_schema.schema import build_schema
from services.cli import single_process_app
from services.common.settings import Settings
from tests.conftest import service_urls
from tests.integration.gateway.conftest import Gateway

_addresses = itertools.count(1)

ANSWER = "{ __typename ... on UserError { code } ... on TooManyAttempts { retryAfterSeconds } }"
LOGIN_COST = 4  # login, __typename, code, retryAfterSeconds


def logins(emails: list[str]) -> str:
    fields = " ".join(
        f'a{i}: login(input: {{email: "{email}", password: "guess number {i}"}}) {ANSWER}'
        for i, email in enumerate(emails)
    )
    return f"mutation {{ {fields} }}"


def fresh_address() -> str:
    return f"198.51.100.{next(_addresses)}"


async def _gateway(gateway: Gateway, url: str, **settings: Any) -> AsyncIterator[Gateway]:
    app = single_process_app(
        Settings(
            environment="test",
            relay_interval_seconds=60,
            max_aliases=60,
            trusted_proxies="127.0.0.1",
            **settings,
        ),
        service_urls(url),
        "budget-gateway-secret-0123456789abcdef",
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Gateway(client, gateway.engine, gateway.demo)


@pytest_asyncio.fixture(loop_scope="session")
async def wide_gateway(gateway: Gateway, gateway_database_url: str) -> AsyncIterator[Gateway]:
    async for wide in _gateway(gateway, gateway_database_url):
        yield wide


@pytest_asyncio.fixture(loop_scope="session")
async def tight_gateway(gateway: Gateway, gateway_database_url: str) -> AsyncIterator[Gateway]:
    """A budget of exactly 50 aliased logins an hour."""
    async for tight in _gateway(
        gateway,
        gateway_database_url,
        max_query_cost=50 * LOGIN_COST,
        rate_limit_cost_per_window=50 * LOGIN_COST,
        rate_limit_window_seconds=3600,
    ):
        yield tight


async def test_fifty_aliased_logins_to_one_account_count_fifty_attempts(
    wide_gateway: Gateway,
) -> None:
    _, email = await wide_gateway.register()
    body = await wide_gateway.data(
        logins([email] * 50), headers={"x-forwarded-for": fresh_address()}
    )
    answers = [body[f"a{i}"] for i in range(50)]
    assert answers[:5] == [{"__typename": "InvalidCredentials", "code": "INVALID_CREDENTIALS"}] * 5
    assert [a["__typename"] for a in answers[5:]] == ["TooManyAttempts"] * 45
    assert {a["code"] for a in answers[5:]} == {"TOO_MANY_ATTEMPTS"}
    assert all(890 <= a["retryAfterSeconds"] <= 900 for a in answers[5:])


async def test_fifty_aliased_logins_from_one_address_count_fifty_attempts_for_it(
    wide_gateway: Gateway,
) -> None:
    emails = [f"nobody.{uuid.uuid4().hex[:10]}@example.org" for _ in range(50)]
    address = fresh_address()
    body = await wide_gateway.data(logins(emails), headers={"x-forwarded-for": address})
    answers = [body[f"a{i}"] for i in range(50)]
    assert (
        answers[:30] == [{"__typename": "InvalidCredentials", "code": "INVALID_CREDENTIALS"}] * 30
    )  # the address's 30 attempts, one account each
    assert [a["__typename"] for a in answers[30:]] == ["TooManyAttempts"] * 20
    assert (
        await wide_gateway.count(
            f"identity.login_throttle WHERE key = 'address:{address}' AND failures = 30"
        )
        == 1
    )
    elsewhere = await wide_gateway.data(
        logins([f"nobody.{uuid.uuid4().hex[:10]}@example.org"]),
        headers={"x-forwarded-for": fresh_address()},
    )
    assert elsewhere == {"a0": {"__typename": "InvalidCredentials", "code": "INVALID_CREDENTIALS"}}


async def test_fifty_aliased_logins_spend_fifty_logins_of_the_budget_and_the_next_is_refused(
    tight_gateway: Gateway,
) -> None:
    emails = [f"nobody.{uuid.uuid4().hex[:10]}@example.org" for _ in range(51)]
    address = fresh_address()
    headers = {"x-forwarded-for": address}
    first = await tight_gateway.data(logins(emails[:30]), headers=headers)
    assert len(first) == 30  # 120 of 200 spent
    second = await tight_gateway.data(logins(emails[30:50]), headers=headers)  # the last 80
    assert set(second) == {f"a{i}" for i in range(20)}
    attempts = await tight_gateway.count("identity.login_throttle")
    refused = await tight_gateway.post(logins(emails[50:]), headers=headers)
    seconds = int(refused.headers["retry-after"])
    assert 3500 < seconds <= 3600
    assert (refused.status_code, refused.json()) == (
        429,
        {
            "data": None,
            "errors": [
                {
                    "message": "this caller has spent its budget for now: try again in "
                    f"{seconds} seconds",
                    "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": seconds},
                }
            ],
        },
    )
    assert await tight_gateway.count("identity.login_throttle") == attempts  # identity not asked
    assert (
        await tight_gateway.count(f"identity.login_throttle WHERE key = 'account:{emails[50]}'")
        == 0
    )
    other = await tight_gateway.post(
        logins(emails[50:]), headers={"x-forwarded-for": fresh_address()}
    )
    assert other.json() == {
        "data": {"a0": {"__typename": "InvalidCredentials", "code": "INVALID_CREDENTIALS"}}
    }


PAGE = (
    "history(first: 100) { nodes { kind points summary actor } pageInfo { hasNextPage endCursor } }"
)
#: A member's costliest document at the defaults: me 1, account 1, two pages of a hundred
#: entries (1 + 100 x 8 each) and one of 79 (1 + 79 x 5): 2,000, the cost limit exactly.
COSTLIEST = (
    "{ me { account { "
    f"a: {PAGE} b: {PAGE} "
    "c: history(first: 79) { nodes { kind points summary actor } } } } }"
)


async def test_at_the_defaults_a_member_repeating_the_costliest_document_gets_ten_a_minute(
    gateway: Gateway,
) -> None:
    """Defect 13: a few clients repeating the costliest documents slowed everyone else. At the
    defaults (20,000 a minute, a cost limit of 2,000) the eleventh is refused, and nobody
    else's budget is touched."""
    document = parse(COSTLIEST)
    schema = build_schema(Settings())._schema
    assert operation_cost(schema, document, get_operation_ast(document)) == 2000
    _, greedy = await gateway.register()
    _, other = await gateway.register()
    greedy_token, other_token = await gateway.token(greedy), await gateway.token(other)
    empty = {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    for _ in range(10):
        answer = await gateway.data(COSTLIEST, token=greedy_token)
        assert answer == {"me": {"account": {"a": empty, "b": empty, "c": {"nodes": []}}}}
    refused = await gateway.post(COSTLIEST, token=greedy_token)
    seconds = int(refused.headers["retry-after"])
    assert 0 < seconds <= 60
    assert (refused.status_code, refused.json()) == (
        429,
        {
            "data": None,
            "errors": [
                {
                    "message": "this caller has spent its budget for now: try again in "
                    f"{seconds} seconds",
                    "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": seconds},
                }
            ],
        },
    )
    served = await gateway.data(COSTLIEST, token=other_token)
    assert served == {"me": {"account": {"a": empty, "b": empty, "c": {"nodes": []}}}}
