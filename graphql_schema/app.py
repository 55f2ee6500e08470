"""The GraphQL gateway: the only public API. It authenticates callers, checks authorization per
field, enforces limits, and reaches the services through typed clients; it owns no tables."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from graphql_schema.auth import ApiKeys, TokenVerifier
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from graphql_schema.context import Context, Services
from graphql_schema.errors import request_error_code
from graphql_schema.schema import build_schema
from services.common.http import ServiceTokens, base_middleware
from services.common.settings import Settings

MAX_BODY_BYTES = 64 * 1024


class GatewayView(GraphQL[Context, None]):
    def __init__(self, services: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._services = services

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(services=self._services["services"], request=request)

    async def handle_request(self, request: Request) -> Response:  # type: ignore[override]
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "the request is too large",
                            "extensions": {"code": "REQUEST_TOO_LARGE"},
                        }
                    ]
                },
                status_code=413,
            )
        return await super().handle_request(request)  # type: ignore[no-any-return]

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every error carries a code, also those raised before execution (syntax errors)."""
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            extensions = error.setdefault("extensions", {})
            extensions.setdefault("code", request_error_code(str(error.get("message", ""))))
        return response


def create_app(
    settings: Settings,
    *,
    identity_url: str,
    loyalty_url: str,
    service_secret: str,
    identity_transport: httpx.AsyncBaseTransport | None = None,
    loyalty_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tokens = ServiceTokens(service_secret)
        identity = IdentityClient(identity_url, tokens, identity_transport)
        loyalty = LoyaltyClient(loyalty_url, tokens, loyalty_transport)
        holder["services"] = Services(
            identity=identity,
            loyalty=loyalty,
            tokens=TokenVerifier(
                identity, issuer=settings.token_issuer, audience=settings.token_audience
            ),
            api_keys=ApiKeys(identity),
        )
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(identity.aclose)
            stack.push_async_callback(loyalty.aclose)
            yield

    view = GatewayView(
        holder,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=settings.is_development,
    )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        services: Services | None = holder.get("services")
        if services is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks = {}
        for name, client in (("identity", services.identity), ("loyalty", services.loyalty)):
            try:
                checks[name] = (await client.http.get("/readyz", timeout=2.0)).status_code == 200
            except httpx.HTTPError:
                checks[name] = False
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **checks},
            status_code=200 if ready else 503,
        )

    async def metrics(_: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/graphql", view, methods=["GET", "POST"]),
        ],
        middleware=base_middleware("gateway", service_secret=None, audience=None),
        lifespan=lifespan,
    )
