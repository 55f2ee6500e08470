"""The identity service's internal HTTP API: each capability brings its routes, composed here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from services.common.db import create_engine
from services.common.http import (
    EXCEPTION_HANDLERS,
    ServiceTokens,
    base_middleware,
    operational_routes,
)
from services.common.settings import Settings
from services.common.tasks import stop_task
from services.identity.members.routes import routes as member_routes
from services.identity.organisations.routes import routes as organisation_routes
from services.identity.outbox import relay
from services.identity.privacy.routes import routes as privacy_routes
from services.identity.referees.routes import routes as referee_routes
from services.identity.revocations.listener import Signal, listen
from services.identity.revocations.routes import routes as revocation_routes
from services.identity.sessions.routes import routes as session_routes
from services.identity.sessions.sealing import derive_kek
from services.identity.sessions.signing_keys import open_signing_key
from services.identity.verification.routes import routes as verification_routes

AUDIENCE = "identity"


def create_app(
    settings: Settings,
    *,
    database_url: str,
    service_secret: str,
    loyalty_url: str | None = None,
    loyalty_transport: httpx.AsyncBaseTransport | None = None,
    key_encryption_secret: str | None = None,
) -> Starlette:
    """The identity service. With ``loyalty_url`` it also runs the outbox relay to loyalty.

    Signing keys are sealed under a key derived from ``key_encryption_secret``, else the
    setting ``LOYALTY_KEY_ENCRYPTION_SECRET``, else the service secret; the service does not
    start when that key does not open the active signing key."""
    kek = derive_kek(key_encryption_secret or settings.key_encryption_secret_or(service_secret))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url, pool_size=settings.db_pool_size, application_name="identity"
        )
        app.state.engine = engine
        app.state.settings = settings
        app.state.revocation_signal = signal = Signal()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            await open_signing_key(engine, kek)
            listener = asyncio.create_task(
                listen(database_url, signal), name="identity-revocations-listener"
            )
            stack.push_async_callback(stop_task, listener)
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

    app = Starlette(
        routes=[
            *operational_routes(lambda: getattr(app.state, "engine", None)),
            *member_routes,
            *privacy_routes,
            *session_routes,
            *organisation_routes,
            *referee_routes,
            *revocation_routes,
            *verification_routes,
        ],
        middleware=base_middleware("identity", service_secret=service_secret, audience=AUDIENCE),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app
