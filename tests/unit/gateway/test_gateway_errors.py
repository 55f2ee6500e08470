"""Errors as clients see them: every error has a stable code; the unexpected is masked outside
development; bad input is refused before any service is called. And what the services see:
the service credential, the actor and the request id on every internal call."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest

from graphql_schema.errors import MASKED_MESSAGE

SECRET = "unit-tests-service-secret-0123456789"
LOGIN = """mutation($i: LoginInput!) { login(input: $i) {
  __typename ... on Session { subjectId } ... on UserError { code message } } }"""
REGISTER = """mutation($i: RegisterMemberInput!) { registerMember(input: $i) {
  __typename ... on MemberRegistered { created member { id } } ... on UserError { code } } }"""
CREDENTIALS = {"email": "ines@example.org", "password": "correct horse"}


def fail_login_with(response: Any) -> Any:
    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != "/internal/login":
            return None
        if isinstance(response, Exception):
            raise response
        return response

    return handler


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="Traceback (most recent call last): secret internals"),
        httpx.ConnectError("connection refused to 10.0.0.7:8001"),
        httpx.Response(401, json={"code": "SERVICE_UNAUTHENTICATED", "message": "bad secret"}),
        httpx.Response(200, text="<html>a proxy's error page</html>"),
    ],
    ids=["service-error", "unreachable", "credential-refused", "not-json"],
)
async def test_unexpected_failures_are_masked_outside_development(
    make_gateway: Any, services: Any, failure: Any
) -> None:
    services.overrides.append(fail_login_with(failure))
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post(LOGIN, {"i": CREDENTIALS})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == MASKED_MESSAGE
    assert error["extensions"] == {"code": "INTERNAL_ERROR"}
    assert error["path"] == ["login"]


@pytest.mark.parametrize("environment", ["development", "test"])
async def test_in_development_too_unexpected_failures_are_masked_with_their_code(
    make_gateway: Any, services: Any, environment: str
) -> None:
    services.overrides.append(fail_login_with(httpx.Response(500, text="boom")))
    async with make_gateway(environment=environment) as gateway:
        body = await gateway.post(LOGIN, {"i": CREDENTIALS})
    [error] = body["errors"]
    assert error["message"] == MASKED_MESSAGE
    assert error["extensions"] == {"code": "INTERNAL_ERROR"}


async def test_expected_outcomes_are_union_members_not_errors(
    make_gateway: Any, services: Any
) -> None:
    services.overrides.append(
        fail_login_with(services.problem(401, "INVALID_CREDENTIALS", "wrong email or password"))
    )
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post(LOGIN, {"i": CREDENTIALS})
    assert body == {
        "data": {
            "login": {
                "__typename": "InvalidCredentials",
                "code": "INVALID_CREDENTIALS",
                "message": "wrong email or password",
            }
        }
    }


async def test_coded_errors_pass_the_mask_with_their_message(make_gateway: Any) -> None:
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post("{ me { id } }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["message"] == "sign in to do this"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"email": "a@b.org", "password": "short"}, "password"),
        ({"email": "x" * 300 + "@example.org", "password": "long enough"}, "email"),
        ({"email": "a@b.org", "password": "long enough", "displayName": "n" * 201}, "display_name"),
        ({"email": "a@b.org", "password": "long enough", "idempotencyKey": ""}, "idempotency_key"),
    ],
)
async def test_bad_input_is_refused_in_the_gateway_before_any_service_is_called(
    make_gateway: Any, services: Any, variables: dict[str, Any], field: str
) -> None:
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post(REGISTER, {"i": variables})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert field in error["message"]
    assert [e["field"] for e in error["extensions"]["errors"]] == [field]
    assert services.internal_calls() == []


@pytest.mark.parametrize(
    "variables",
    [
        {"email": 42, "password": "long enough"},
        {"email": "a@b.org"},
        {"email": "a@b.org", "password": "long enough", "locale": "KLINGON"},
        {"email": "a@b.org", "password": "long enough", "birthDate": "1990-13-45"},
        {"email": "a@b.org", "password": "long enough", "surprise": True},
    ],
    ids=["wrong-type", "missing", "unknown-enum-value", "bad-date", "unknown-field"],
)
async def test_input_that_does_not_fit_the_schema_is_invalid_input(
    make_gateway: Any, services: Any, variables: dict[str, Any]
) -> None:
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post(REGISTER, {"i": variables})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "INVALID_INPUT"}, body
    assert "Variable '$i'" in error["message"]
    assert services.internal_calls() == []


async def test_malformed_documents_are_invalid_input(make_gateway: Any) -> None:
    async with make_gateway(environment="production") as gateway:
        for document in ("{ me { id }", "{ nothing }", "mutation { login { x } }"):
            response = await gateway.client.post("/graphql", json={"query": document})
            errors = response.json()["errors"]
            assert [e["extensions"]["code"] for e in errors] == ["INVALID_INPUT"] * len(errors)
        # not GraphQL at all: refused at the HTTP level, as strawberry does
        for content in (b"{nope", b'{"query": ""}', b"[]"):
            response = await gateway.client.post(
                "/graphql", content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400


async def test_a_services_validation_failure_is_invalid_input_with_the_services_reason(
    make_gateway: Any, services: Any
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/internal/members" and request.method == "POST":
            return services.problem(422, "INVALID_EMAIL", "this is not an email address")
        return None

    services.overrides.append(refuse)
    async with make_gateway(environment="production") as gateway:
        body = await gateway.post(REGISTER, {"i": {"email": "nope", "password": "long enough"}})
    [error] = body["errors"]
    assert error["message"] == "this is not an email address"
    assert error["extensions"] == {"code": "INVALID_INPUT", "reason": "INVALID_EMAIL"}


async def test_every_internal_call_carries_the_credential_the_actor_and_the_request_id(
    make_gateway: Any, services: Any
) -> None:
    member_id = services.add_member()
    request_id = "3b0f5a8e-8c1e-4b8a-9d3f-2f1e0c9b7a65"
    async with make_gateway() as gateway:
        response = await gateway.client.post(
            "/graphql",
            json={"query": "{ me { id displayName identifiers { value } } }"},
            headers={
                "authorization": f"Bearer {services.token(member_id)}",
                "x-request-id": request_id,
            },
        )
    assert response.json()["data"]["me"]["id"] == str(member_id)
    assert response.headers["x-request-id"] == request_id
    [call] = services.internal_calls()  # sibling fields shared one call (a DataLoader)
    assert call.url.path == f"/internal/members/{member_id}"
    assert call.headers["x-request-id"] == request_id
    assert call.headers["x-actor-kind"] == "member"
    assert call.headers["x-actor-id"] == str(member_id)
    scheme, _, token = call.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.decode(token, SECRET, algorithms=["HS256"], audience="identity")["aud"] == "identity"


async def test_a_request_without_an_id_gets_one_and_the_services_see_the_same(
    make_gateway: Any, services: Any
) -> None:
    async with make_gateway() as gateway:
        response = await gateway.client.post(
            "/graphql",
            json={"query": REGISTER, "variables": {"i": CREDENTIALS}},
        )
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id)
    [call] = services.internal_calls()
    assert call.headers["x-request-id"] == request_id
    assert call.headers["x-actor-kind"] == "anonymous"
