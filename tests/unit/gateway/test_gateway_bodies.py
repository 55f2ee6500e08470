"""Malformed bodies are answered ``400`` in JSON with the stable code ``INVALID_INPUT``, never a
plain-text 500: invalid UTF-8, a JSON value that is not an object (a batch, a string, a number),
JSON nested deeper than Python's recursion limit, integers of thousands of digits, NaN; and
variables nested deeper than 32 levels. Nothing reaches a service."""

from __future__ import annotations

from typing import Any

import pytest

TYPENAME = b'{"query": "{ __typename }"'

MALFORMED = [
    (
        "invalid-utf8",
        TYPENAME + b', "variables": {"name": "\xff\xfe"}}',
        "The request body is not valid UTF-8.",
    ),
    (
        "batch",
        b'[{"query": "{ __typename }"}]',
        "Expected a JSON object (batches are not supported).",
    ),
    ("string", b'"{ __typename }"', "Expected a JSON object (batches are not supported)."),
    ("number", b"42", "Expected a JSON object (batches are not supported)."),
    ("null", b"null", "Expected a JSON object (batches are not supported)."),
    (
        "nested-beyond-recursion",
        TYPENAME + b', "variables": {"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}}",
        "The request body is nested too deeply.",
    ),
    (
        "integer-of-5000-digits",
        TYPENAME + b', "variables": {"a": ' + b"9" * 5000 + b"}}",
        "The request body holds a number that is too long, NaN or Infinity.",
    ),
    (
        "nan",
        TYPENAME + b', "variables": {"a": NaN}}',
        "The request body holds a number that is too long, NaN or Infinity.",
    ),
    ("not-json", b"{query: __typename}", "Unable to parse request body as JSON"),
]


@pytest.mark.parametrize(
    ("body", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_a_malformed_body_is_a_json_400_with_a_stable_code(
    make_gateway: Any, services: Any, body: bytes, message: str, accept: str
) -> None:
    async with make_gateway(environment="production") as gateway:
        response = await gateway.client.post(
            "/graphql",
            content=body,
            headers={"content-type": "application/json", "accept": accept},
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "INVALID_INPUT"}}]
    }
    assert services.calls == []


async def test_variables_nested_past_32_levels_are_refused_and_32_levels_are_not(
    make_gateway: Any, services: Any
) -> None:
    def nested(levels: int) -> Any:
        value: Any = "leaf"
        for _ in range(levels):
            value = [value]
        return value

    query = "query($a: [String]) { __typename }"
    async with make_gateway() as gateway:
        deep = await gateway.post(query, {"a": nested(32)})
        fine = await gateway.post("{ __typename }", {"a": nested(31)})
    [error] = deep["errors"]
    assert error["extensions"] == {"code": "INVALID_INPUT", "reason": "NESTED_TOO_DEEP"}
    assert error["message"] == ("variables.a" + ".0" * 31 + " is nested deeper than 32 levels")
    assert fine == {"data": {"__typename": "Query"}}
    assert services.calls == []
