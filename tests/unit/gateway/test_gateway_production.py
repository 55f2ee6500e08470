"""Production mode (``LOYALTY_ENVIRONMENT=production``), one guarantee per test, each answer
asserted whole: no introspection, no GraphiQL, no query over GET, no batch, no hint at the
schema in error messages, unexpected errors masked. The development answers beside some of
them show what production withholds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.common.settings import Environment, Settings

JSON = "application/json; charset=utf-8"


async def post(gateway: Any, body: object) -> httpx.Response:
    return await gateway.client.post("/graphql", json=body)


def whole(response: httpx.Response) -> tuple[int, str, Any]:
    return response.status_code, response.headers["content-type"], response.json()


def test_the_environment_variable_selects_production_and_turns_each_feature_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_ENVIRONMENT", "production")
    settings = Settings()
    assert settings.environment is Environment.PRODUCTION
    assert (settings.is_development, settings.graphiql_enabled, settings.introspection_enabled) == (
        False,
        False,
        False,
    )


async def test_in_production_introspection_of_the_schema_is_refused(make_gateway: Any) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await post(gateway, {"query": "{ __schema { queryType { name } } }"})
    assert whole(response) == (
        200,
        JSON,
        {
            "data": None,
            "errors": [
                {
                    "message": "GraphQL introspection has been disabled, but the requested "
                    "query contained the field '__schema'.",
                    "locations": [{"line": 1, "column": 3}],
                    "extensions": {"code": "INVALID_INPUT"},
                },
                {
                    "message": "GraphQL introspection has been disabled, but the requested "
                    "query contained the field 'queryType'.",
                    "locations": [{"line": 1, "column": 14}],
                    "extensions": {"code": "INVALID_INPUT"},
                },
            ],
        },
    )


async def test_in_production_introspection_of_a_type_is_refused(
    make_gateway: Any, services: Any
) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await post(gateway, {"query": '{ __type(name: "Member") { name } }'})
    assert whole(response) == (
        200,
        JSON,
        {
            "data": None,
            "errors": [
                {
                    "message": "GraphQL introspection has been disabled, but the requested "
                    "query contained the field '__type'.",
                    "locations": [{"line": 1, "column": 3}],
                    "extensions": {"code": "INVALID_INPUT"},
                }
            ],
        },
    )
    assert services.calls == []


@pytest.mark.parametrize("accept", ["text/html", "*/*"])
async def test_in_production_graphiql_is_not_served(make_gateway: Any, accept: str) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await gateway.client.get("/graphql", headers={"accept": accept})
    assert whole(response) == (
        404,
        JSON,
        {"errors": [{"message": "Not Found", "extensions": {"code": "NOT_FOUND"}}]},
    )


async def test_in_production_a_query_over_get_is_refused(make_gateway: Any) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await gateway.client.get("/graphql", params={"query": "{ __typename }"})
    assert response.headers["allow"] == "POST"
    assert whole(response) == (
        405,
        JSON,
        {
            "errors": [
                {
                    "message": "queries are not allowed when using GET",
                    "extensions": {"code": "METHOD_NOT_ALLOWED"},
                }
            ]
        },
    )


async def test_in_production_a_batch_of_one_is_refused_too(
    make_gateway: Any, services: Any
) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await post(gateway, [{"query": "{ __typename }"}])
    assert whole(response) == (
        400,
        JSON,
        {
            "errors": [
                {
                    "message": "Expected a JSON object (batches are not supported).",
                    "extensions": {"code": "INVALID_INPUT"},
                }
            ]
        },
    )
    assert services.calls == []


@pytest.mark.parametrize(
    ("query", "message", "hint"),
    [
        ("{ mee { id } }", "Cannot query field 'mee' on type 'Query'.", " Did you mean 'me'?"),
        (
            "{ me { account { history(firs: 1) { pageInfo { hasNextPage } } } } }",
            "Unknown argument 'firs' on field 'Account.history'.",
            " Did you mean 'first'?",
        ),
        (
            'mutation { login(input: {email: "a@b.c", password: "p", portal: MEMBR}) '
            "{ __typename } }",
            "Value 'MEMBR' does not exist in 'Portal' enum.",
            " Did you mean the enum value 'MEMBER'?",
        ),
    ],
    ids=["field", "argument", "enum-value"],
)
async def test_in_production_a_validation_error_gives_no_suggestion(
    make_gateway: Any, query: str, message: str, hint: str
) -> None:
    async with make_gateway(environment="production") as gateway:
        production = await post(gateway, {"query": query})
    async with make_gateway(environment="development") as gateway:
        development = await post(gateway, {"query": query})
    [error] = development.json()["errors"]
    location = error["locations"]

    def answer(text: str) -> tuple[int, str, Any]:
        coded = {"message": text, "locations": location, "extensions": {"code": "INVALID_INPUT"}}
        return 200, JSON, {"data": None, "errors": [coded]}

    assert whole(production) == answer(message)
    assert whole(development) == answer(message + hint)


async def test_in_production_a_variable_error_gives_no_suggestion(make_gateway: Any) -> None:
    query = "query($e: EarnEventInput!) { simulateEarn(event: $e) { total } }"
    event = {"trigger": "PURCHASE", "occurredAt": "2026-12-01T19:30:00Z", "amout": "45.90"}
    async with make_gateway(environment="production") as gateway:
        production = await post(gateway, {"query": query, "variables": {"e": event}})
    async with make_gateway(environment="development") as gateway:
        development = await post(gateway, {"query": query, "variables": {"e": event}})

    def answer(hint: str) -> tuple[int, str, Any]:
        message = (
            "Variable '$e' has invalid value: Expected value of type 'EarnEventInput' not to "
            f"include unknown field 'amout'.{hint} Found: {{'trigger': 'PURCHASE', "
            "'occurredAt': '2026-12-01T19:30:00Z', 'amout': '45.90'}."
        )
        coded = {
            "message": message,
            "locations": [{"line": 1, "column": 7}],
            "extensions": {"code": "INVALID_INPUT"},
        }
        return 200, JSON, {"data": None, "errors": [coded]}

    assert whole(production) == answer("")
    assert whole(development) == answer(" Did you mean 'amount'?")


async def test_in_production_an_unexpected_failure_is_masked(
    make_gateway: Any, services: Any
) -> None:
    def failing_login(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != "/internal/login":
            return None
        return httpx.Response(500, text="Traceback (most recent call last): at db.internal:5432")

    services.overrides.append(failing_login)
    query = "mutation($i: LoginInput!) { login(input: $i) { __typename } }"
    variables = {"i": {"email": "ines@example.org", "password": "correct horse"}}
    async with make_gateway(environment="production") as gateway:
        response = await post(gateway, {"query": query, "variables": variables})
    assert whole(response) == (
        200,
        JSON,
        {
            "data": None,
            "errors": [
                {
                    "message": "Unexpected error.",
                    "locations": [{"line": 1, "column": 29}],
                    "path": ["login"],
                    "extensions": {"code": "INTERNAL_ERROR"},
                }
            ],
        },
    )
