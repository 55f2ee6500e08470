"""The GraphQL gateway: the only public API. It authenticates callers, checks authorization per
field, enforces limits, and reaches the services through typed clients; it owns no tables.

Routes: ``/graphql`` (POST; GET and GraphiQL only where configured), ``/healthz``, ``/readyz``
(ready when identity and loyalty answer their ``/readyz``, so when both reach their
database, and the revocations it follows are current), ``/metrics``, ``/door`` (the door
page for venue staff) with ``/door/keys.json`` (the keys that sign door passes), and ``/static``
(the files of the gateway's own pages). ``/graphql`` follows the GraphQL over HTTP specification
(see ``over_http``); GraphiQL and the door page are pages of the gateway (see ``pages``), which
load nothing from elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_correlation_id import correlation_id
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from graphql_schema import door_page
from graphql_schema.auth import ApiKeys, TokenVerifier
from graphql_schema.budgets import CallerBudgets
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from graphql_schema.context import Context, Services
from graphql_schema.errors import INTERNAL, INVALID_INPUT, NOT_FOUND, request_error_code
from graphql_schema.guest_referrals import guest_referrals_job
from graphql_schema.limits import MAX_BODY_BYTES, BodySizeLimit
from graphql_schema.over_http import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    METHOD_NOT_ALLOWED,
    UNSUPPORTED_MEDIA_TYPE,
    error_body,
    is_json_body,
    negotiate,
    with_charset,
)
from graphql_schema.pages import GRAPHIQL, static_files
from graphql_schema.revocations import RevocationFeed
from graphql_schema.schema import build_schema
from services.common.http import ServiceTokens, base_middleware, operational_routes
from services.common.settings import Settings
from services.common.tasks import stop_task
from services.common.text import find_forbidden


class _Refused(Exception):
    """A request refused before GraphQL saw it (answered in ``application/json``)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


_OPTIONAL_GET_PARAMETERS = ("operationName", "variables", "extensions")


class GatewayView(GraphQL[Context, None]):
    """strawberry's ASGI view, with the context built per request from the app's services, and
    the media types and status codes of the GraphQL over HTTP specification."""

    def __init__(self, holder: dict[str, Services], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await self._answer(Request(_plain_json_content_type(scope), receive))
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            if self.graphql_ide is None:  # outside development: nothing tells it was ever here
                return _refusal(404, NOT_FOUND, "Not Found", {})
            try:
                return await self.run(request)
            except HTTPException as e:
                return PlainTextResponse(e.reason, status_code=e.status_code)
        media_type = negotiate(request.headers.get("accept"))
        if media_type is None:
            return PlainTextResponse(
                f"Not Acceptable: answers are {GRAPHQL_RESPONSE_JSON} or {JSON}", status_code=406
            )
        request.state.media_type = media_type
        request.state.request_error = False
        try:
            if request.method == "POST" and not is_json_body(request.headers.get("content-type")):
                raise _Refused(
                    415,
                    UNSUPPORTED_MEDIA_TYPE,
                    f"the request body must be {JSON} (UTF-8)",
                    {"Accept-Post": JSON},
                )
            response = await self.run(request)
        except _Refused as e:
            return _refusal(e.status, e.code, e.message, e.headers)
        except HTTPException as e:  # not a GraphQL-over-HTTP request: bad JSON, no query...
            return _refusal(e.status_code, INVALID_INPUT, e.reason, {})
        response.headers["content-type"] = with_charset(media_type)
        if request.state.request_error:
            response.status_code = 400
        retry_after = getattr(request.state, "retry_after", None)
        if retry_after is not None:  # the caller's budget is spent (see ``budgets``)
            response.status_code = 429
            response.headers["retry-after"] = str(retry_after)
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the gateway's own files (not strawberry's page, which loads them from a
        public CDN)."""
        return GRAPHIQL.response(request)

    def parse_query_params(self, params: Mapping[str, str | None]) -> dict[str, Any]:
        """An empty optional parameter of a GET request is the same as none."""
        return super().parse_query_params(
            {k: v for k, v in params.items() if v or k not in _OPTIONAL_GET_PARAMETERS}
        )

    def decode_json(self, data: str | bytes) -> object:
        """Strict JSON: UTF-8, an object, no ``NaN`` or ``Infinity``; a body that is not is a
        request error (400 ``INVALID_INPUT``), however it fails to decode."""
        try:
            decoded = json.loads(data, parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not valid UTF-8.") from None
        except RecursionError:
            raise HTTPException(400, "The request body is nested too deeply.") from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        except ValueError:  # an integer of thousands of digits, NaN, Infinity
            raise HTTPException(
                400, "The request body holds a number that is too long, NaN or Infinity."
            ) from None
        if not isinstance(decoded, dict):  # batches, strings, numbers
            raise HTTPException(400, "Expected a JSON object (batches are not supported).")
        return decoded

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(400, "The operation's `operationName` must be a string.")
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        forbidden = find_forbidden(request_data.variables or {}, ("variables",))
        if forbidden is not None:  # refused like a variable that cannot be coerced
            extensions = {"code": INVALID_INPUT, "reason": forbidden.reason}
            return ExecutionResult(
                data=None, errors=[GraphQLError(forbidden.message, extensions=extensions)]
            )
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as e:
            if isinstance(e.__cause__, InvalidOperationTypeError):
                raise _Refused(405, METHOD_NOT_ALLOWED, e.reason, {"Allow": "POST"}) from e
            if isinstance(e.__cause__, CannotGetOperationTypeError):
                # a request error like a validation error: a GraphQL response tells it
                return ExecutionResult(data=None, errors=[GraphQLError(e.reason)])
            raise

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            services=self._holder["services"], request=request, request_id=correlation_id.get()
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Every error carries a code, also those that never reached the schema's extensions.
        A request that failed before execution has no ``data`` in a
        ``application/graphql-response+json`` answer (and is answered 400)."""
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            if isinstance(error, dict):
                extensions = error.setdefault("extensions", {})
                if "path" in error:
                    extensions.setdefault("code", INTERNAL)
                else:
                    extensions["code"] = request_error_code(str(error.get("message")), extensions)
        nothing_ran = result.data is None and all(e.path is None for e in result.errors or ())
        if result.errors and nothing_ran and request.state.media_type == GRAPHQL_RESPONSE_JSON:
            response.pop("data", None)
            request.state.request_error = True
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
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tokens = ServiceTokens(service_secret)
        identity = IdentityClient(identity_url, tokens, identity_transport)
        loyalty = LoyaltyClient(loyalty_url, tokens, loyalty_transport)
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(identity.aclose)
            stack.push_async_callback(loyalty.aclose)
            await stack.enter_async_context(
                guest_referrals_job(identity, loyalty, settings.guest_referrals_interval_seconds)
            )
            revocations = RevocationFeed(
                identity,
                wait=settings.revocation_poll_seconds,
                max_staleness=settings.revocation_max_staleness_seconds,
            )
            await revocations.load()
            follow = asyncio.create_task(revocations.run(), name="gateway-revocations")
            stack.push_async_callback(stop_task, follow)
            holder["services"] = Services(
                identity=identity,
                loyalty=loyalty,
                tokens=TokenVerifier(
                    identity,
                    issuer=settings.token_issuer,
                    audience=settings.token_audience,
                    revocations=revocations,
                ),
                api_keys=ApiKeys(identity, revocations),
                budgets=CallerBudgets.from_settings(settings),
            )
            app.state.services = holder["services"]
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
            services.identity.ready(), services.loyalty.ready()
        )
        revocations = services.tokens.revocations.current
        ready = identity and loyalty and revocations
        return JSONResponse(
            {
                "status": "ready" if ready else "unavailable",
                "identity": identity,
                "loyalty": loyalty,
                "revocations": revocations,
            },
            status_code=200 if ready else 503,
        )

    shared = [r for r in operational_routes(lambda: None) if _path(r) in ("/healthz", "/metrics")]
    graphql = Route("/graphql", BodySizeLimit(view, MAX_BODY_BYTES), methods=["GET", "POST"])
    graphql.methods = {"GET", "POST"}  # Starlette adds HEAD beside GET; this view has none
    return Starlette(
        routes=[
            *shared,
            Route("/readyz", readyz, methods=["GET"]),
            graphql,
            *door_page.routes(lambda: holder["services"].loyalty),
            static_files(),
        ],
        middleware=[
            *_forwarded_addresses(settings),
            *base_middleware("gateway", service_secret=None, audience=None),
        ],
        lifespan=lifespan,
    )


def _forwarded_addresses(settings: Settings) -> list[Middleware]:
    """The client's address from ``X-Forwarded-For``, only when the request comes from one of
    the trusted proxies (the budgets of anonymous callers go by address, see ``budgets``)."""
    trusted = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    if not trusted:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)]


def _plain_json_content_type(scope: Scope) -> Scope:
    """JSON in UTF-8, however its type is spelled (``Application/JSON; charset=UTF-8``), is
    passed on as ``application/json``: strawberry compares the type as written."""
    headers = [
        (name, b"application/json")
        if name == b"content-type" and is_json_body(value.decode("latin-1"))
        else (name, value)
        for name, value in scope["headers"]
    ]
    return {**scope, "headers": headers}


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _refusal(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    response = JSONResponse(error_body(message, code), status_code=status, headers=headers)
    response.headers["content-type"] = with_charset(JSON)
    return response


def _path(route: BaseRoute) -> str | None:
    return getattr(route, "path", None)
