"""The loyalty service's internal HTTP API: parse, call one use case, serialise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.db import create_engine
from services.common.http import (
    EXCEPTION_HANDLERS,
    base_middleware,
    operational_routes,
    parse_body,
    reply,
)
from services.common.problems import InvalidInput
from services.common.settings import Settings
from services.loyalty import contract, service

AUDIENCE = "loyalty"


def _member_id(request: Request) -> UUID:
    try:
        return UUID(request.path_params["member_id"])
    except ValueError:
        raise InvalidInput("member id must be a UUID") from None


async def receive_events(request: Request) -> Response:
    batch = await parse_body(request, contract.EventBatch)
    return reply(await service.receive_identity_events(request.app.state.engine, batch))


async def export_member(request: Request) -> Response:
    return reply(await service.export_member(request.app.state.engine, _member_id(request)))


def create_app(settings: Settings, *, database_url: str, service_secret: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = create_engine(
            database_url, pool_size=settings.db_pool_size, application_name="loyalty"
        )
        try:
            yield
        finally:
            await app.state.engine.dispose()

    app = Starlette(
        routes=[
            *operational_routes(lambda: getattr(app.state, "engine", None)),
            Route("/internal/events", receive_events, methods=["POST"]),
            Route("/internal/members/{member_id}/export", export_member, methods=["GET"]),
        ],
        middleware=base_middleware("loyalty", service_secret=service_secret, audience=AUDIENCE),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app
