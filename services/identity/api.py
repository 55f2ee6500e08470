"""The identity service's internal HTTP API: parse, call one use case, serialise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.actor import Actor
from services.common.db import create_engine
from services.common.http import (
    EXCEPTION_HANDLERS,
    ServiceTokens,
    base_middleware,
    operational_routes,
    parse_body,
    reply,
)
from services.common.problems import InvalidInput
from services.common.settings import Settings
from services.common.tasks import stop_task
from services.identity import contract, relay, service

AUDIENCE = "identity"
JWKS_CACHE_SECONDS = 300
MAX_RESOLVE_VALUE = 100


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _actor(request: Request) -> Actor:
    return Actor.from_headers(request.headers)


def _uuid(request: Request, name: str) -> UUID:
    try:
        return UUID(request.path_params[name])
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a UUID") from None


def _created(outcome: service.Outcome[Any]) -> Response:
    value: BaseModel = outcome.value
    return reply(value, 201 if outcome.created else 200)


# ---- members ---------------------------------------------------------------------------------


async def register_member(request: Request) -> Response:
    body = await parse_body(request, contract.RegisterMember)
    return _created(await service.register_member(_engine(request), _actor(request), body))


async def get_member(request: Request) -> Response:
    member_id = _uuid(request, "member_id")
    return reply(await service.get_member(_engine(request), _actor(request), member_id))


async def link_identifier(request: Request) -> Response:
    member_id = _uuid(request, "member_id")
    body = await parse_body(request, contract.LinkIdentifier)
    return _created(
        await service.link_identifier(_engine(request), _actor(request), member_id, body)
    )


async def update_preferences(request: Request) -> Response:
    member_id = _uuid(request, "member_id")
    body = await parse_body(request, contract.UpdatePreferences)
    return reply(
        await service.update_preferences(_engine(request), _actor(request), member_id, body)
    )


async def export_member(request: Request) -> Response:
    member_id = _uuid(request, "member_id")
    return reply(await service.export_member(_engine(request), _actor(request), member_id))


async def erase_member(request: Request) -> Response:
    member_id = _uuid(request, "member_id")
    return reply(await service.erase_member(_engine(request), _actor(request), member_id))


async def resolve(request: Request) -> Response:
    try:
        kind = contract.IdentifierKind(request.query_params.get("kind", ""))
    except ValueError:
        raise InvalidInput(
            "kind must be one of " + ", ".join(k.value for k in contract.IdentifierKind)
        ) from None
    value = request.query_params.get("value", "").strip()
    if not 1 <= len(value) <= MAX_RESOLVE_VALUE:
        raise InvalidInput(f"value must have 1 to {MAX_RESOLVE_VALUE} characters")
    return reply(await service.resolve(_engine(request), _actor(request), kind, value))


async def merge_members(request: Request) -> Response:
    body = await parse_body(request, contract.MergeMembers)
    return reply(await service.merge_members(_engine(request), _actor(request), body), 201)


# ---- sessions --------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    body = await parse_body(request, contract.Login)
    return reply(await service.login(_engine(request), request.app.state.settings, body))


async def refresh(request: Request) -> Response:
    body = await parse_body(request, contract.Refresh)
    return reply(await service.refresh_session(_engine(request), request.app.state.settings, body))


async def jwks(request: Request) -> Response:
    response = reply(await service.jwks(_engine(request)))
    response.headers["cache-control"] = f"public, max-age={JWKS_CACHE_SECONDS}"
    return response


# ---- organisations and credentials -----------------------------------------------------------


async def create_venue(request: Request) -> Response:
    body = await parse_body(request, contract.CreateVenue)
    return _created(await service.create_venue(_engine(request), _actor(request), body))


async def get_venue(request: Request) -> Response:
    return reply(await service.get_venue(_engine(request), _uuid(request, "venue_id")))


async def create_partner(request: Request) -> Response:
    body = await parse_body(request, contract.CreatePartner)
    return _created(await service.create_partner(_engine(request), _actor(request), body))


async def create_staff_account(request: Request) -> Response:
    body = await parse_body(request, contract.CreateStaffAccount)
    return _created(await service.create_staff_account(_engine(request), _actor(request), body))


async def issue_api_key(request: Request) -> Response:
    partner_id = _uuid(request, "partner_id")
    body = await parse_body(request, contract.IssueApiKey)
    return _created(
        await service.issue_api_key(_engine(request), _actor(request), partner_id, body)
    )


async def revoke_api_key(request: Request) -> Response:
    key_id = _uuid(request, "key_id")
    return reply(await service.revoke_api_key(_engine(request), _actor(request), key_id))


async def verify_api_key(request: Request) -> Response:
    body = await parse_body(request, contract.VerifyApiKey)
    return reply(await service.verify_api_key(_engine(request), body))


def create_app(
    settings: Settings,
    *,
    database_url: str,
    service_secret: str,
    loyalty_url: str | None = None,
    loyalty_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The identity service. With ``loyalty_url`` it also runs the outbox relay to loyalty."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url, pool_size=settings.db_pool_size, application_name="identity"
        )
        app.state.engine = engine
        app.state.settings = settings
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            await service.signing_key(engine)
            if loyalty_url is not None:
                client = httpx.AsyncClient(
                    base_url=loyalty_url, transport=loyalty_transport, timeout=10.0
                )
                stack.push_async_callback(client.aclose)
                task = asyncio.create_task(
                    relay.run_relay(
                        engine,
                        client,
                        ServiceTokens(service_secret),
                        interval=settings.relay_interval_seconds,
                    ),
                    name="identity-outbox-relay",
                )
                stack.push_async_callback(stop_task, task)
            yield

    internal = "/internal"
    app = Starlette(
        routes=[
            *operational_routes(lambda: getattr(app.state, "engine", None)),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route(f"{internal}/members", register_member, methods=["POST"]),
            Route(f"{internal}/members/{{member_id}}", get_member, methods=["GET"]),
            Route(
                f"{internal}/members/{{member_id}}/identifiers", link_identifier, methods=["POST"]
            ),
            Route(
                f"{internal}/members/{{member_id}}/preferences",
                update_preferences,
                methods=["PUT"],
            ),
            Route(f"{internal}/members/{{member_id}}/export", export_member, methods=["GET"]),
            Route(f"{internal}/members/{{member_id}}/erase", erase_member, methods=["POST"]),
            Route(f"{internal}/resolve", resolve, methods=["GET"]),
            Route(f"{internal}/merges", merge_members, methods=["POST"]),
            Route(f"{internal}/login", login, methods=["POST"]),
            Route(f"{internal}/refresh", refresh, methods=["POST"]),
            Route(f"{internal}/venues", create_venue, methods=["POST"]),
            Route(f"{internal}/venues/{{venue_id}}", get_venue, methods=["GET"]),
            Route(f"{internal}/partners", create_partner, methods=["POST"]),
            Route(f"{internal}/staff", create_staff_account, methods=["POST"]),
            Route(f"{internal}/partners/{{partner_id}}/api-keys", issue_api_key, methods=["POST"]),
            Route(f"{internal}/api-keys/verify", verify_api_key, methods=["POST"]),
            Route(f"{internal}/api-keys/{{key_id}}/revoke", revoke_api_key, methods=["POST"]),
        ],
        middleware=base_middleware("identity", service_secret=service_secret, audience=AUDIENCE),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app
