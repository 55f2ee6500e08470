"""What one request may ask: documents over the depth, alias or token limits and bodies over
the size limit are refused with a code before any service is called; introspection, GraphiQL
and GET queries only where configured."""

from __future__ import annotations

from typing import Any

import pytest

from graphql_schema.limits import MAX_BODY_BYTES
from graphql_schema.schema import CACHE_SIZE

DEEP = "{ me { account { progress { current { name } } } } }"  # depth 4 (`me` is at 0)


def assert_too_complex(body: dict[str, Any], limit: str) -> None:
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": limit}, body
    assert error["message"]


async def test_a_document_deeper_than_the_limit_is_refused(
    make_gateway: Any, services: Any
) -> None:
    async with make_gateway(max_query_depth=3) as gateway:
        assert_too_complex(await gateway.post(DEEP), "depth")
        fragment = (
            "query { ...F } fragment F on Query { me { account { progress { next { name } } } } }"
        )
        assert_too_complex(await gateway.post(fragment), "depth")
        within = await gateway.post("{ me { account { tier { name } } } }")  # depth 3
        assert within["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert services.calls == []  # nothing reached a service


async def test_more_aliases_than_the_limit_are_refused(make_gateway: Any, services: Any) -> None:
    async with make_gateway(max_aliases=3) as gateway:
        three = "{ a: __typename b: __typename c: __typename }"
        assert (await gateway.post(three))["data"] == {"a": "Query", "b": "Query", "c": "Query"}
        assert_too_complex(
            await gateway.post("{ a: __typename b: __typename c: __typename d: __typename }"),
            "aliases",
        )
    assert services.calls == []


async def test_a_document_over_the_token_limit_is_refused_before_it_is_parsed_whole(
    make_gateway: Any, services: Any
) -> None:
    async with make_gateway(max_tokens=50) as gateway:
        body = await gateway.post("{ " + " ".join(["__typename"] * 60) + " }")
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
        comments = "{ __typename }" + "\n#".join([""] * 60)  # comments count too
        body = await gateway.post(comments)
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
        assert (await gateway.post("{ __typename }"))["data"] == {"__typename": "Query"}
    assert services.calls == []


async def test_the_default_limits_let_a_member_dashboard_through(
    make_gateway: Any, services: Any
) -> None:
    member_id = services.add_member()
    async with make_gateway() as gateway:
        body = await gateway.post(
            "{ me { id displayName identifiers { kind value } preferences { interests } } }",
            token=services.token(member_id),
        )
        assert body["data"]["me"]["identifiers"] == [{"kind": "EMAIL", "value": "ines@example.org"}]


async def test_a_body_over_the_size_limit_is_refused_whether_announced_or_streamed(
    make_gateway: Any, services: Any
) -> None:
    oversized = b'{"query": "{ __typename }", "variables": {"x": "' + b"x" * MAX_BODY_BYTES + b'"}}'

    async def chunks() -> Any:
        for start in range(0, len(oversized), 8192):
            yield oversized[start : start + 8192]

    async with make_gateway() as gateway:
        for content in (oversized, chunks()):
            response = await gateway.client.post(
                "/graphql", content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 413
            assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
        fine = await gateway.client.post("/graphql", json={"query": "{ __typename }"})
        assert fine.json() == {"data": {"__typename": "Query"}}
    assert services.calls == []


async def test_outside_development_no_introspection_no_graphiql_and_no_get_queries(
    make_gateway: Any,
) -> None:
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post("{ __schema { queryType { name } } }")
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        ide = await gateway.client.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 404 and "graphiql" not in ide.text.lower()
        get = await gateway.client.get("/graphql", params={"query": "{ __typename }"})
        assert (get.status_code, get.headers["allow"]) == (405, "POST")
        typo = await gateway.post("{ mee { id } }")
        assert "Did you mean" not in typo["errors"][0]["message"]  # no schema hints either


async def test_in_development_introspection_graphiql_and_get_queries_are_on(
    make_gateway: Any,
) -> None:
    async with make_gateway(environment="development") as gateway:
        body = await gateway.post("{ __schema { queryType { name } } }")
        assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        ide = await gateway.client.get("/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()
        get = await gateway.client.get("/graphql", params={"query": "{ __typename }"})
        assert get.json() == {"data": {"__typename": "Query"}}
        mutation = await gateway.client.get(
            "/graphql", params={"query": "mutation { eraseMe { erasedAt } }"}
        )
        assert (mutation.status_code, mutation.headers["allow"]) == (405, "POST")  # never over GET


async def test_parsing_and_validation_are_cached_across_requests(make_gateway: Any) -> None:
    from strawberry.extensions.parser_cache import _get_parse_cache
    from strawberry.extensions.validation_cache import _get_validate_cache

    parse, validate = _get_parse_cache(CACHE_SIZE), _get_validate_cache(CACHE_SIZE)
    query = "query Cached { c1: __typename c2: __typename }"
    async with make_gateway() as gateway:
        await gateway.post(query)
        parsed, validated = parse.cache_info().hits, validate.cache_info().hits
        for _ in range(3):
            assert (await gateway.post(query))["data"] == {"c1": "Query", "c2": "Query"}
    assert parse.cache_info().hits == parsed + 3
    assert validate.cache_info().hits == validated + 3


async def test_readiness_follows_the_services_health(make_gateway: Any, services: Any) -> None:
    async with make_gateway() as gateway:
        ready = await gateway.client.get("/readyz")
        assert (ready.status_code, ready.json()) == (
            200,
            {"status": "ready", "identity": True, "loyalty": True, "revocations": True},
        )
        services.loyalty_healthy = False
        unready = await gateway.client.get("/readyz")
        assert unready.status_code == 503 and unready.json()["loyalty"] is False
        assert (await gateway.client.get("/healthz")).json() == {"status": "ok"}
        metrics = await gateway.client.get("/metrics")
        assert 'loyalty_http_requests_total{method="GET",part="gateway",route="/readyz"' in (
            metrics.text
        )


@pytest.mark.parametrize("service", ["identity", "loyalty"])
async def test_the_gateway_is_unready_when_a_service_cannot_reach_its_database(
    make_gateway: Any, services: Any, service: str
) -> None:
    """A service whose database is down still answers ``/healthz``, but its ``/readyz`` says
    503: the gateway follows the services' readiness, not their liveness."""
    setattr(services, f"{service}_database_up", False)
    async with make_gateway() as gateway:
        unready = await gateway.client.get("/readyz")
        alive = await gateway.client.get("/healthz")
    assert unready.status_code == 503
    assert unready.json() == {
        "status": "unavailable",
        "identity": service != "identity",
        "loyalty": service != "loyalty",
        "revocations": True,
    }
    assert alive.status_code == 200


HISTORY = "history(first: 100) { nodes { kind points summary actor lines { ruleKey ruleVersion reason } } pageInfo { hasNextPage endCursor } }"


async def test_aliases_in_fragments_count_toward_the_limit(
    make_gateway: Any, services: Any
) -> None:
    async with make_gateway(max_aliases=3) as gateway:
        spread = await gateway.post(
            "query { ...F } fragment F on Query { a: __typename b: __typename c: __typename "
            "d: __typename }"
        )
        inline = await gateway.post(
            "{ ... on Query { a: __typename b: __typename } ... { c: __typename d: __typename } }"
        )
    assert_too_complex(spread, "aliases")
    assert_too_complex(inline, "aliases")
    assert services.calls == []


async def test_fourteen_aliased_pages_of_a_hundred_entries_are_refused_by_their_cost(
    make_gateway: Any, services: Any
) -> None:
    aliased = "{ me { account { " + " ".join(f"h{i}: {HISTORY}" for i in range(14)) + " } } }"
    spread = (
        "{ me { account { "
        + " ".join(f"h{i}: history(first: 100) {{ ...Page }}" for i in range(14))
        + " } } } fragment Page on HistoryPage { nodes { kind points summary actor "
        "lines { ruleKey ruleVersion reason } } pageInfo { hasNextPage endCursor } }"
    )
    by_variable = (
        "query($n: Int!) { me { account { "
        + " ".join(f"h{i}: history(first: $n) {{ nodes {{ kind }} }}" for i in range(14))
        + " } } }"
    )
    async with make_gateway() as gateway:  # within the depth, alias and token limits
        answers = [
            await gateway.post(aliased),
            await gateway.post(spread),
            await gateway.post(by_variable, {"n": 100}),
        ]
    for body, cost in zip(answers, (16_816, 16_816, 2_816), strict=True):
        assert body.get("data") is None, body
        [error] = body["errors"]
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "cost", "cost": cost}
        assert error["message"] == (
            f"this operation would cost {cost}, over the limit of 2000: ask for fewer items "
            "(first) or fewer fields"
        )
    assert services.calls == []


async def test_a_page_size_variable_is_judged_with_the_value_sent_whatever_its_default(
    make_gateway: Any, services: Any
) -> None:
    """Validation sees only a variable's default: a default of -100000 (or 1) must not carry 14
    pages of a hundred past the limit; before the operation runs it is judged again with the
    value sent, and a page never counts for less than one entry."""
    pages = " ".join(f"h{i}: history(first: $n) {{ nodes {{ kind }} }}" for i in range(14))
    answers = []
    async with make_gateway() as gateway:
        for default in ("-100000", "1"):
            query = f"query($n: Int = {default}) {{ me {{ account {{ {pages} }} }} }}"
            answers.append(await gateway.post(query, {"n": 100}))
        # me 1 + account 1 + 14 x (history 1 + one entry x (nodes 1 + kind 1)) = 44
        left_out = await gateway.post(
            "query($n: Int = -100000) { me { account { " + pages + " } } }"
        )
    for body in answers:
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": "this operation would cost 2816, over the limit of 2000: ask for "
                    "fewer items (first) or fewer fields",
                    "extensions": {"code": "QUERY_TOO_COMPLEX", "limit": "cost", "cost": 2816},
                }
            ],
        }
    assert left_out["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}  # it ran
    assert services.calls == []


async def test_the_cost_limit_lets_an_operation_through_exactly_at_its_limit(
    make_gateway: Any, services: Any
) -> None:
    # me 1 + account 1 + history 1 + 3 entries x (nodes 1 + kind 1) = 9
    query = "{ me { account { history(first: 3) { nodes { kind } } } } }"
    async with make_gateway(max_query_cost=9) as at_limit:
        within = await at_limit.post(query)
    async with make_gateway(max_query_cost=8) as below:
        over = await below.post(query)
    assert within["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}  # it ran
    assert over["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "cost",
        "cost": 9,
    }


async def test_a_members_dashboard_with_a_page_of_a_hundred_is_within_the_cost_limit(
    make_gateway: Any, services: Any
) -> None:
    member_id = services.add_member()
    async with make_gateway() as gateway:
        body = await gateway.post(
            "{ me { displayName account { balance " + HISTORY + " } } }",
            token=services.token(member_id),
        )
    assert all(e["extensions"].get("limit") != "cost" for e in body.get("errors", [])), body


@pytest.mark.parametrize(
    ("query", "hinted"),
    [
        (
            "{ me { account { history(firs: 1) { pageInfo { hasNextPage } } } } }",
            "Unknown argument 'firs' on field 'Account.history'.",
        ),
        (
            'mutation { login(input: {email: "a@b.c", password: "p", portal: MEMBR}) { __typename } }',
            "Value 'MEMBR' does not exist in 'Portal' enum.",
        ),
        ("query($a: Strin) { __typename }", "Unknown type 'Strin'."),
        ("{ __typename ... on Querry { __typename } }", "Unknown type 'Querry'."),
        ("{ mee { id } }", "Cannot query field 'mee' on type 'Query'."),
    ],
)
async def test_outside_development_errors_give_no_hint_at_the_schema(
    make_gateway: Any, query: str, hinted: str
) -> None:
    async with make_gateway(environment="production") as gateway:
        production = await gateway.post(query)
    async with make_gateway(environment="development") as gateway:
        development = await gateway.post(query)
    messages = [e["message"] for e in production["errors"]]
    assert hinted in messages
    assert not any("Did you mean" in m for m in messages)
    if "mee" not in query:  # development keeps graphql-core's hints
        assert any("Did you mean" in e["message"] for e in development["errors"])


async def test_in_production_a_batch_is_refused(make_gateway: Any, services: Any) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await gateway.client.post(
            "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}]
        )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Expected a JSON object (batches are not supported).",
                "extensions": {"code": "INVALID_INPUT"},
            }
        ]
    }
    assert services.calls == []
