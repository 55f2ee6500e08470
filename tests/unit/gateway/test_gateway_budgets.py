"""Each caller's budget: every operation spends its cost (aliases and pages counted as the cost
limit counts them) before it runs; the operation that spends the last unit runs, the next one
is answered 429 ``RATE_LIMITED`` with ``Retry-After`` and runs nothing. The window is an hour
here, so that no test sees it close."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from graphql_schema.budgets import address_key
from services.common.settings import Settings

HOUR = 3600
FOUR = "{ a: __typename b: __typename c: __typename d: __typename }"  # costs 4
TWO = "{ a: __typename b: __typename }"  # costs 2
ONE = "{ __typename }"
ME = "{ me { displayName } }"  # costs 2, and asks identity for the member


def budget(**settings: Any) -> dict[str, Any]:
    """A budget of 10 per hour (the cost limit no higher, as the settings require)."""
    return {
        "max_query_cost": 10,
        "rate_limit_cost_per_window": 10,
        "rate_limit_window_seconds": HOUR,
        **settings,
    }


async def send(gateway: Any, query: str, **headers: str) -> httpx.Response:
    return await gateway.client.post("/graphql", json={"query": query}, headers=headers)


def assert_rate_limited(response: httpx.Response) -> None:
    """The whole answer to a caller whose budget is spent."""
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert HOUR - 60 < seconds <= HOUR
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "this caller has spent its budget for now: try again in "
                f"{seconds} seconds",
                "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": seconds},
            }
        ],
    }


async def test_the_operation_that_spends_the_last_unit_runs_and_the_next_is_refused(
    make_gateway: Any,
) -> None:
    async with make_gateway(**budget()) as gateway:
        answers = [await send(gateway, q) for q in (FOUR, FOUR, TWO)]  # 4 + 4 + 2 = 10
        assert [(a.status_code, a.json()) for a in answers] == [
            (200, {"data": {"a": "Query", "b": "Query", "c": "Query", "d": "Query"}}),
            (200, {"data": {"a": "Query", "b": "Query", "c": "Query", "d": "Query"}}),
            (200, {"data": {"a": "Query", "b": "Query"}}),
        ]
        assert "retry-after" not in answers[-1].headers
        assert_rate_limited(await send(gateway, ONE))


async def test_a_refused_operation_spends_nothing(make_gateway: Any) -> None:
    async with make_gateway(**budget()) as gateway:
        for _ in range(2):
            assert (await send(gateway, FOUR)).status_code == 200  # 8 spent
        assert_rate_limited(await send(gateway, FOUR))  # 12 would be over
        assert_rate_limited(await send(gateway, FOUR))
        last = await send(gateway, TWO)  # 10: the two left are still there
        assert (last.status_code, last.json()) == (200, {"data": {"a": "Query", "b": "Query"}})
        assert_rate_limited(await send(gateway, ONE))


async def test_a_negative_page_gives_nothing_back(make_gateway: Any) -> None:
    """A page of -1000 entries counts as one: spending it cannot refill a budget."""
    negative = "query($n: Int = -1000) { me { account { history(first: $n) { nodes { kind } } } } }"
    async with make_gateway(**budget()) as gateway:
        spent = [await send(gateway, q) for q in (FOUR, FOUR, TWO)]
        after = [await send(gateway, negative), await send(gateway, ONE)]
        sent = await gateway.client.post(
            "/graphql", json={"query": negative, "variables": {"n": -1000}}
        )
    assert [r.status_code for r in spent] == [200, 200, 200]
    for refused in (*after, sent):
        assert_rate_limited(refused)


async def test_aliases_spend_one_each_so_one_request_can_spend_the_whole_budget(
    make_gateway: Any,
) -> None:
    ten = "{ " + " ".join(f"a{i}: __typename" for i in range(10)) + " }"
    async with make_gateway(**budget(max_aliases=10)) as gateway:
        first = await send(gateway, ten)
        assert first.status_code == 200 and len(first.json()["data"]) == 10
        assert_rate_limited(await send(gateway, ONE))


async def test_a_caller_whose_budget_is_spent_reaches_no_service(
    make_gateway: Any, services: Any
) -> None:
    member_id = services.add_member()
    token = services.token(member_id)
    async with make_gateway(**budget()) as gateway:
        for _ in range(5):  # 5 x 2 = 10
            answer = await send(gateway, ME, authorization=f"Bearer {token}")
            assert answer.json() == {"data": {"me": {"displayName": None}}}
        calls = len(services.internal_calls())
        assert_rate_limited(await send(gateway, ME, authorization=f"Bearer {token}"))
        assert len(services.internal_calls()) == calls


async def test_a_refusal_asked_as_graphql_response_json_is_429_without_data(
    make_gateway: Any,
) -> None:
    async with make_gateway(**budget()) as gateway:
        assert (await send(gateway, FOUR)).status_code == 200
        assert (await send(gateway, FOUR)).status_code == 200
        response = await send(gateway, FOUR, accept="application/graphql-response+json")
    seconds = int(response.headers["retry-after"])
    assert (response.status_code, response.headers["content-type"]) == (
        429,
        "application/graphql-response+json; charset=utf-8",
    )
    assert response.json() == {
        "errors": [
            {
                "message": "this caller has spent its budget for now: try again in "
                f"{seconds} seconds",
                "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": seconds},
            }
        ]
    }


async def test_members_staff_partners_and_anonymous_callers_each_have_their_own_budget(
    make_gateway: Any, services: Any
) -> None:
    first, second = services.add_member("ines@example.org"), services.add_member("leo@example.org")
    callers = {
        "member": {"authorization": f"Bearer {services.token(first)}"},
        "another member": {"authorization": f"Bearer {services.token(second)}"},
        "staff": {"authorization": f"Bearer {services.token(first, 'staff')}"},
        "admin": {"authorization": f"Bearer {services.token(first, 'admin')}"},
        "partner": {"x-api-key": services.GOOD_API_KEY},
        "anonymous": {},
    }
    async with make_gateway(**budget()) as gateway:
        for name, headers in callers.items():
            spent = [(await send(gateway, q, **headers)).status_code for q in (FOUR, FOUR, TWO)]
            assert spent == [200, 200, 200], name
            assert_rate_limited(await send(gateway, ONE, **headers))


async def test_refused_credentials_spend_the_budget_of_the_callers_address(
    make_gateway: Any,
) -> None:
    async with make_gateway(**budget()) as gateway:
        for query in (FOUR, FOUR):
            await send(gateway, query, authorization="Bearer not-a-token")
        assert (await send(gateway, TWO, **{"x-api-key": "lk_wrong_key"})).status_code == 200
        assert_rate_limited(await send(gateway, ONE))  # anonymous, from the same address


async def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(
    make_gateway: Any,
) -> None:
    # httpx's ASGI transport presents every request as coming from 127.0.0.1
    async with make_gateway(**budget()) as untrusting:
        assert (await send(untrusting, FOUR, **{"x-forwarded-for": "203.0.113.7"})).is_success
        assert (await send(untrusting, FOUR, **{"x-forwarded-for": "203.0.113.8"})).is_success
        assert_rate_limited(await send(untrusting, FOUR, **{"x-forwarded-for": "203.0.113.9"}))
    async with make_gateway(**budget(trusted_proxies="10.0.0.0/8, 127.0.0.1")) as trusting:
        for address in ("203.0.113.7", "203.0.113.8", "203.0.113.9"):
            spent = [
                (await send(trusting, q, **{"x-forwarded-for": address})).status_code
                for q in (FOUR, FOUR, TWO)
            ]
            assert spent == [200, 200, 200], address
        assert_rate_limited(await send(trusting, ONE, **{"x-forwarded-for": "203.0.113.7"}))
        assert (await send(trusting, ONE)).status_code == 200  # the proxy's own budget


async def test_with_no_budgets_nothing_is_refused(make_gateway: Any) -> None:
    async with make_gateway(**budget(rate_limit_cost_per_window=0)) as gateway:
        answers = [(await send(gateway, FOUR)).status_code for _ in range(5)]
    assert answers == [200] * 5


def test_a_budget_below_the_costliest_allowed_operation_is_refused_at_start() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(max_query_cost=2000, rate_limit_cost_per_window=1999)
    assert "rate_limit_cost_per_window must be 0 (no budgets) or at least max_query_cost" in str(
        refused.value
    )
    assert Settings(max_query_cost=2000, rate_limit_cost_per_window=2000)
    assert Settings(rate_limit_cost_per_window=0)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_an_ipv6_caller_is_known_by_its_64_network_and_an_ipv4_one_by_its_address(
    host: str | None, key: str
) -> None:
    assert address_key(host) == key
