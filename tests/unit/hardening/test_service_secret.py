"""The internal service secret signs HS256 tokens between the parts: it must hold at least 32
bytes (the key size RFC 7518 requires for HS256), counted in UTF-8, wherever it is given."""

from __future__ import annotations

import httpx
import jwt
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from services.cli import cli
from services.common.http import (
    EXCEPTION_HANDLERS,
    ServiceAuthMiddleware,
    ServiceTokens,
    base_middleware,
    issue_service_token,
)
from services.common.settings import MIN_SERVICE_SECRET_BYTES, Settings


def test_the_minimum_is_the_32_bytes_of_an_hs256_key() -> None:
    assert MIN_SERVICE_SECRET_BYTES == 32


def test_settings_refuse_a_secret_of_31_bytes_and_take_one_of_32() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(service_secret="s" * 31)
    [error] = refused.value.errors()
    assert error["loc"] == ("service_secret",)
    assert error["msg"] == (
        "Value error, the service secret must be at least 32 bytes (it has 31); "
        "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
    settings = Settings(service_secret="s" * 32)
    assert settings.service_secret is not None
    assert settings.service_secret.get_secret_value() == "s" * 32


def test_bytes_are_counted_in_utf8_not_in_characters() -> None:
    with pytest.raises(ValidationError):
        Settings(service_secret="é" * 15)  # 15 characters, 30 bytes
    assert Settings(service_secret="é" * 16).service_secret is not None  # 32 bytes


def test_no_secret_at_all_is_allowed_for_the_single_process_mode() -> None:
    assert Settings().service_secret is None


@pytest.mark.parametrize("make", [ServiceTokens, lambda s: ServiceAuthMiddleware(None, s, "x")])
def test_the_parts_refuse_a_short_secret_even_when_given_in_code(make: object) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        make("s" * 16)  # type: ignore[operator]
    make("s" * 32)  # type: ignore[operator]


def test_serving_a_part_alone_with_a_16_character_secret_stops_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.common.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("LOYALTY_SERVICE_SECRET", "sixteen-chars-ok")
    try:
        result = CliRunner().invoke(cli, ["serve", "gateway"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.output.startswith(
        "LOYALTY_SERVICE_SECRET: the service secret must be at least 32 bytes (it has 16)"
    )


async def test_a_service_token_without_an_expiry_is_refused_with_401_not_a_500() -> None:
    """A token signed with the secret but without ``exp`` (it would never expire) is refused as
    any other bad credential; it ended in INTERNAL_ERROR when the middleware read its expiry."""
    secret = "s" * 32

    async def ok(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/internal/x", ok)],
        middleware=base_middleware("test", service_secret=secret, audience="loyalty"),
        exception_handlers=EXCEPTION_HANDLERS,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://loyalty"
    ) as client:

        async def answer(token: str) -> tuple[int, object]:
            response = await client.get("/internal/x", headers={"authorization": f"Bearer {token}"})
            return response.status_code, response.json()

        refused = (
            401,
            {"code": "SERVICE_UNAUTHENTICATED", "message": "service credential required"},
        )
        assert await answer(jwt.encode({"aud": "loyalty"}, secret, algorithm="HS256")) == refused
        assert await answer(jwt.encode({"exp": 2**40}, secret, algorithm="HS256")) == refused
        assert await answer(issue_service_token(secret, "loyalty")) == (200, {"ok": True})
