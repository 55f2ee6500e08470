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
            {"status": "ready", "identity": True, "loyalty": True},
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
    }
    assert alive.status_code == 200
