"""The GraphQL gateway: the only public API. It authenticates callers, checks authorization per
field, enforces limits, and reaches the services through typed clients; it owns no tables.

Routes: ``/graphql`` (POST; GET and GraphiQL only where configured), ``/healthz``, ``/readyz``
(ready when identity and loyalty answer their ``/healthz``) and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_correlation_id import correlation_id
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from graphql_schema.auth import ApiKeys, TokenVerifier
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from graphql_schema.context import Context, Services
from graphql_schema.errors import INTERNAL, request_error_code
from graphql_schema.limits import MAX_BODY_BYTES, BodySizeLimit
from graphql_schema.schema import build_schema
from services.common.http import ServiceTokens, base_middleware, operational_routes
from services.common.settings import Settings


class GatewayView(GraphQL[Context, None]):
    """strawberry's ASGI view, with the context built per request from the app's services."""

    def __init__(self, holder: dict[str, Services], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holder = holder

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            services=self._holder["services"], request=request, request_id=correlation_id.get()
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every error carries a code, also those that never reached the schema's extensions."""
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            if isinstance(error, dict):
                extensions = error.setdefault("extensions", {})
                if "path" in error:
                    extensions.setdefault("code", INTERNAL)
                else:
                    extensions["code"] = request_error_code(str(error.get("message")), extensions)
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
    """The gateway. The transports let one process reach in-process service apps (ASGI)."""
    holder: dict[str, Services] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tokens = ServiceTokens(service_secret)
        identity = IdentityClient(identity_url, tokens, identity_transport)
        loyalty = LoyaltyClient(loyalty_url, tokens, loyalty_transport)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(identity.aclose)
            stack.push_async_callback(loyalty.aclose)
            holder["services"] = Services(
                identity=identity,
                loyalty=loyalty,
                tokens=TokenVerifier(
                    identity, issuer=settings.token_issuer, audience=settings.token_audience
                ),
                api_keys=ApiKeys(identity),
            )
            try:
                yield
            finally:
                holder.clear()

    view = GatewayView(
        holder,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=settings.is_development,
    )

    async def readyz(_: Request) -> Response:
        services = holder.get("services")
        if services is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        identity, loyalty = await asyncio.gather(
            services.identity.healthy(), services.loyalty.healthy()
        )
        ready = identity and loyalty
        return JSONResponse(
            {
                "status": "ready" if ready else "unavailable",
                "identity": identity,
                "loyalty": loyalty,
            },
            status_code=200 if ready else 503,
        )

    shared = [r for r in operational_routes(lambda: None) if _path(r) in ("/healthz", "/metrics")]
    return Starlette(
        routes=[
            *shared,
            Route("/readyz", readyz, methods=["GET"]),
            Route("/graphql", BodySizeLimit(view, MAX_BODY_BYTES), methods=["GET", "POST"]),
        ],
        middleware=base_middleware("gateway", service_secret=None, audience=None),
        lifespan=lifespan,
    )


def _path(route: BaseRoute) -> str | None:
    return getattr(route, "path", None)
