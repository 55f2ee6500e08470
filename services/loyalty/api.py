"""The loyalty service's internal HTTP API: each capability brings its own routes, composed here
with one line per capability."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from services.common.db import create_engine
from services.common.http import EXCEPTION_HANDLERS, base_middleware, operational_routes
from services.common.settings import Settings
from services.common.tasks import stop_task
from services.loyalty.accounts import routes as accounts
from services.loyalty.earning import routes as earning
from services.loyalty.earning.jobs import run_point_jobs_every
from services.loyalty.earning.turns import Turns
from services.loyalty.experiences import routes as experiences
from services.loyalty.experiences.jobs import run_experience_jobs_every
from services.loyalty.experiences.signing import derive_kek, open_door_key
from services.loyalty.identity_events import routes as identity_events
from services.loyalty.referrals import routes as referrals
from services.loyalty.referrals.lifespan import open_referrals
from services.loyalty.rewards import routes as rewards
from services.loyalty.rulebook import routes as rulebook
from services.loyalty.rulebook.book import RuleBook

AUDIENCE = "loyalty"

CAPABILITIES = (
    identity_events,
    accounts,
    earning,
    rewards,
    rulebook,
    referrals,
    experiences,
)


def create_app(
    settings: Settings,
    *,
    database_url: str,
    service_secret: str,
    run_jobs: bool = False,
    key_encryption_secret: str | None = None,
) -> Starlette:
    """The loyalty service. With ``run_jobs`` it also releases and expires points on a schedule.

    The door keys are sealed under a key derived from ``key_encryption_secret``, else the
    setting ``LOYALTY_KEY_ENCRYPTION_SECRET``, else the service secret; the service does not
    start when that key does not open the active door key."""
    kek = derive_kek(key_encryption_secret or settings.key_encryption_secret_or(service_secret))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url, pool_size=settings.db_pool_size, application_name="loyalty"
        )
        app.state.engine = engine
        app.state.rule_book = RuleBook()
        app.state.turns = Turns()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            await open_door_key(engine, kek)
            await open_referrals(app, stack, engine, settings, run_jobs=run_jobs)
            if run_jobs:
                task = asyncio.create_task(
                    run_point_jobs_every(engine, settings.points_job_interval_seconds),
                    name="loyalty-points-jobs",
                )
                stack.push_async_callback(stop_task, task)
                invitations = asyncio.create_task(
                    run_experience_jobs_every(
                        engine, app.state.rule_book, settings.points_job_interval_seconds
                    ),
                    name="loyalty-experiences-jobs",
                )
                stack.push_async_callback(stop_task, invitations)
            yield

    app = Starlette(
        routes=[
            *operational_routes(lambda: getattr(app.state, "engine", None)),
            *(route for capability in CAPABILITIES for route in capability.routes),
        ],
        middleware=base_middleware("loyalty", service_secret=service_secret, audience=AUDIENCE),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app
