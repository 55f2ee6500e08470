"""Sessions' HTTP routes: login and refresh (internal), and the public JWKS."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.identity import contract
from services.identity.routing import INTERNAL, engine, settings
from services.identity.sessions import signing_keys, use_cases

JWKS_CACHE_SECONDS = 300


async def login(request: Request) -> Response:
    body = await parse_body(request, contract.Login)
    return reply(await use_cases.login(engine(request), settings(request), body))


async def refresh(request: Request) -> Response:
    body = await parse_body(request, contract.Refresh)
    return reply(await use_cases.refresh_session(engine(request), settings(request), body))


async def jwks(request: Request) -> Response:
    response = reply(await signing_keys.jwks(engine(request)))
    response.headers["cache-control"] = f"public, max-age={JWKS_CACHE_SECONDS}"
    return response


routes = [
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    Route(f"{INTERNAL}/login", login, methods=["POST"]),
    Route(f"{INTERNAL}/refresh", refresh, methods=["POST"]),
]
