"""Strings from clients hold no control character (tab, line feed and carriage return aside)
and no lone surrogate: in variables or written in the document, they are refused before
execution with ``INVALID_INPUT`` and the reason ``CONTROL_CHARACTER``; no service is called."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

REGISTER = """mutation($i: RegisterMemberInput!) { registerMember(input: $i) {
  __typename ... on UserError { code } } }"""


@pytest.mark.parametrize(
    "character", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\ud800"]
)
@pytest.mark.parametrize("field", ["email", "password", "displayName", "idempotencyKey"])
async def test_a_control_character_in_any_string_variable_is_refused_before_any_call(
    make_gateway: Any, services: Any, character: str, field: str
) -> None:
    variables = {
        "email": "ines@example.org",
        "password": "a long passphrase",
        field: f"a{character}b",
    }
    payload = json.dumps({"query": REGISTER, "variables": {"i": variables}})  # ASCII, escaped
    async with make_gateway(environment="development") as gateway:
        response = await gateway.client.post(
            "/graphql", content=payload, headers={"content-type": "application/json"}
        )
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": f"variables.i.{field} contains a control character, which is not allowed",
                "extensions": {"code": "INVALID_INPUT", "reason": "CONTROL_CHARACTER"},
            }
        ],
    }
    assert services.calls == []


async def test_a_control_character_escaped_in_the_document_is_refused_too(
    make_gateway: Any, services: Any
) -> None:
    document = (
        'mutation { login(input: {email: "a@example.org", password: "x\\u0000y"}) { __typename } }'
    )
    async with make_gateway() as gateway:
        body = await gateway.post(document)
    [error] = body["errors"]
    assert error["message"] == (
        "a string in the document contains a control character, which is not allowed"
    )
    assert error["extensions"] == {"code": "INVALID_INPUT", "reason": "CONTROL_CHARACTER"}
    assert body["data"] is None
    assert services.calls == []


async def test_tabs_and_line_breaks_are_text_and_reach_the_service_as_sent(
    make_gateway: Any, services: Any
) -> None:
    password = "a\tb\nc\r\nd é 💡 long enough"

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/internal/login":
            assert json.loads(request.content)["password"] == password
            return services.problem(401, "INVALID_CREDENTIALS", "wrong email or password")
        return None

    services.overrides.append(refuse)
    login = "mutation($i: LoginInput!) { login(input: $i) { __typename } }"
    async with make_gateway() as gateway:
        body = await gateway.post(login, {"i": {"email": "a@example.org", "password": password}})
    assert body == {"data": {"login": {"__typename": "InvalidCredentials"}}}
    assert len(services.internal_calls("/internal/login")) == 1
