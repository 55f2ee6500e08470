"""The services' internal APIs answer in JSON, whatever happens: a crash is a 500 with the code
``INTERNAL_ERROR`` and nothing of the exception (its text, SQL or traceback is logged only), an
unknown route a 404, a malformed body a 422 ``INVALID_INPUT``."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import EXCEPTION_HANDLERS, base_middleware, parse_body, reply

SECRET = "internal-api-tests-secret-0123456789"


class Greeting(BaseModel):
    name: str


async def crash(_: Request) -> Response:
    raise RuntimeError("[SQL: SELECT password_hash FROM identity.members] boom")


async def greet(request: Request) -> Response:
    return reply(await parse_body(request, Greeting))


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/internal/crash", crash, methods=["GET"]),
            Route("/greet", greet, methods=["POST"]),
        ],
        middleware=base_middleware("tests", service_secret=None, audience=None),
        exception_handlers=EXCEPTION_HANDLERS,
    )


async def call(method: str, path: str, content: bytes | None = None) -> httpx.Response:
    # the ASGI transport raises what the app lets through: nothing may get through
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.request(method, path, content=content)


async def test_a_crash_is_a_json_500_that_says_nothing_of_the_exception() -> None:
    response = await call("GET", "/internal/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "code": "INTERNAL_ERROR",
        "message": "unexpected error",
        "details": {},
    }


async def test_an_unknown_route_and_a_wrong_method_are_json_too() -> None:
    missing = await call("GET", "/internal/nothing-here")
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": "NOT_FOUND", "message": "not found", "details": {}},
    )
    wrong = await call("GET", "/greet")
    assert (wrong.status_code, wrong.json()) == (
        405,
        {"code": "METHOD_NOT_ALLOWED", "message": "method not allowed", "details": {}},
    )
    assert wrong.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\xff\xfe"}',
        b'["a"]',
        b'"a"',
        b'{"name": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
        b'{"name": ' + b"9" * 5000 + b"}",
        b'{"name": NaN}',
    ],
    ids=["invalid-utf8", "array", "string", "deeply-nested", "5000-digits", "nan"],
)
async def test_a_malformed_body_is_a_json_422_invalid_input(body: bytes) -> None:
    response = await call("POST", "/greet", body)
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"
    assert response.json()["message"] == "the request is not valid"
