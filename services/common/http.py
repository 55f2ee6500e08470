"""What every part's Starlette app shares: health, readiness, metrics, request ids, service auth."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

import jwt
import structlog
from asgi_correlation_id import CorrelationIdMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.problems import InvalidInput, Problem
from services.common.settings import check_service_secret
from services.common.text import find_forbidden

REQUESTS = Counter(
    "loyalty_http_requests_total", "HTTP requests handled", ["part", "method", "route", "status"]
)
LATENCY = Histogram(
    "loyalty_http_request_duration_seconds",
    "HTTP request latency",
    ["part", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger(__name__)
INTERNAL_ERROR = "INTERNAL_ERROR"
SERVICE_TOKEN_TTL = 300
_ALGORITHM = "HS256"


class MetricsMiddleware:
    """Counts requests and their latency, labelled by route template (never by raw path)."""

    def __init__(self, app: ASGIApp, part: str) -> None:
        self.app = app
        self.part = part

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            LATENCY.labels(self.part, method, path).observe(time.perf_counter() - started)
            REQUESTS.labels(self.part, method, path, str(status)).inc()


class UnexpectedErrors:
    """Whatever a route lets through is logged (redacted, see ``logs``) and answered as a JSON
    ``500`` with the code ``INTERNAL_ERROR``: no exception text, SQL or traceback reaches the
    caller, and the caller always gets JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            log.exception("unexpected error", method=scope["method"], route=route)
            if started:  # the answer is under way: nothing more can be said
                return
            body = {"code": INTERNAL_ERROR, "message": "unexpected error", "details": {}}
            await JSONResponse(body, status_code=500)(scope, receive, send)


def issue_service_token(secret: str, audience: str) -> str:
    now = int(time.time())
    return jwt.encode(
        {"aud": audience, "iat": now, "exp": now + SERVICE_TOKEN_TTL}, secret, algorithm=_ALGORITHM
    )


class ServiceTokens:
    """Caches short-lived service tokens per audience so callers sign once a minute, not per call."""

    def __init__(self, secret: str) -> None:
        self._secret = check_service_secret(secret)
        self._cache: dict[str, tuple[float, str]] = {}

    def header(self, audience: str) -> str:
        now = time.time()
        cached = self._cache.get(audience)
        if cached is None or cached[0] < now:
            token = issue_service_token(self._secret, audience)
            cached = (now + SERVICE_TOKEN_TTL - 60, f"Bearer {token}")
            self._cache[audience] = cached
        return cached[1]


class ServiceAuthMiddleware:
    """Refuses any ``/internal/`` call that lacks a valid service token for this service."""

    def __init__(self, app: ASGIApp, secret: str, audience: str) -> None:
        self.app = app
        self.secret = check_service_secret(secret)
        self.audience = audience
        self._verified: dict[str, float] = {}

    def _valid(self, header: str) -> bool:
        if not header.startswith("Bearer "):
            return False
        token = header[7:]
        now = time.time()
        expires = self._verified.get(token)
        if expires is not None and expires > now:
            return True
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[_ALGORITHM],
                audience=self.audience,
                options={"require": ["aud", "exp"]},  # a token without an expiry is refused
            )
        except jwt.PyJWTError:
            return False
        if len(self._verified) > 1024:
            self._verified.clear()
        self._verified[token] = float(claims["exp"])
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/internal/"):
            header = ""
            for key, value in scope["headers"]:
                if key == b"authorization":
                    header = value.decode("latin-1")
                    break
            if not self._valid(header):
                response = JSONResponse(
                    {"code": "SERVICE_UNAUTHENTICATED", "message": "service credential required"},
                    status_code=401,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def base_middleware(
    part: str, *, service_secret: str | None, audience: str | None
) -> list[Middleware]:
    middleware = [
        Middleware(CorrelationIdMiddleware, header_name="X-Request-ID"),
        Middleware(UnexpectedErrors),
        Middleware(MetricsMiddleware, part=part),
    ]
    if service_secret is not None and audience is not None:
        middleware.append(
            Middleware(ServiceAuthMiddleware, secret=service_secret, audience=audience)
        )
    return middleware


def operational_routes(get_engine: Callable[[], AsyncEngine | None]) -> list[Route]:
    """``/healthz`` (the process is alive), ``/readyz`` (its database answers), ``/metrics``."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        engine = get_engine()
        if engine is None:
            return JSONResponse({"status": "ok"})
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # readiness reports, it does not raise
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


Endpoint = Callable[[Request], Awaitable[Response]]


async def parse_body(request: Request, model: type[M]) -> M:
    """Validate a JSON body against a contract model; bad input becomes a 422 ``INVALID_INPUT``
    (a control character in a string: ``CONTROL_CHARACTER``, see ``services.common.text``)."""
    raw = await request.body()
    if b"\\u" in raw:  # an escape, which may spell a control character
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):
            decoded = None  # the contract's validation says what is wrong
        forbidden = find_forbidden(decoded)
        if forbidden is not None:
            raise InvalidInput(forbidden.message, code=forbidden.reason, field=forbidden.where)
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise InvalidInput("the request is not valid", errors=errors) from None


def reply(model: BaseModel | list[Any] | dict[str, Any], status: int = 200) -> Response:
    if isinstance(model, BaseModel):
        return Response(model.model_dump_json(by_alias=True), status, media_type="application/json")
    return JSONResponse(model, status)


async def problem_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return JSONResponse(exc.body(), status_code=exc.status)


_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def http_error_handler(_: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed) in the problem shape."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "INVALID_INPUT" if exc.status_code < 500 else "ERROR")
    body = {"code": code, "message": str(exc.detail).lower(), "details": {}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS = {Problem: problem_handler, HTTPException: http_error_handler}
