"""The loyalty service's internal HTTP API: parse, call one use case, serialise."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.actor import Actor, ActorKind
from services.common.db import create_engine
from services.common.http import (
    EXCEPTION_HANDLERS,
    base_middleware,
    operational_routes,
    parse_body,
    reply,
)
from services.common.problems import Forbidden, InvalidInput
from services.common.settings import Settings
from services.common.tasks import stop_task
from services.loyalty import contract, service
from services.loyalty.contract import Locale

AUDIENCE = "loyalty"

log = structlog.get_logger(__name__)


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _book(request: Request) -> service.RuleBook:
    book: service.RuleBook = request.app.state.rule_book
    return book


def _actor(request: Request) -> Actor:
    return Actor.from_headers(request.headers)


def _uuid(value: str | None, name: str) -> UUID:
    try:
        return UUID(value or "")
    except ValueError:
        raise InvalidInput(f"{name} must be a UUID") from None


def _locale(request: Request) -> Locale:
    try:
        return Locale(request.query_params.get("locale", "en"))
    except ValueError:
        raise InvalidInput("locale must be one of en, fr") from None


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer") from None


def _require_admin(actor: Actor) -> None:
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(contract.ProblemCode.FORBIDDEN, "admins only")


async def receive_events(request: Request) -> Response:
    batch = await parse_body(request, contract.EventBatch)
    return reply(await service.receive_identity_events(_engine(request), batch))


async def export_member(request: Request) -> Response:
    member_id = _uuid(request.path_params["member_id"], "member id")
    return reply(await service.export_member(_engine(request), member_id))


async def record_earn(request: Request) -> Response:
    body = await parse_body(request, contract.RecordEarn)
    outcome = await service.earn_points(
        _engine(request),
        _book(request),
        _actor(request),
        body,
        locale=_locale(request),
        turns=request.app.state.turns,
    )
    return reply(outcome, 201 if outcome.created else 200)


async def simulate_earn(request: Request) -> Response:
    body = await parse_body(request, contract.SimulateEarn)
    return reply(await service.simulate_earn(_engine(request), _book(request), body))


async def reverse_earn(request: Request) -> Response:
    body = await parse_body(request, contract.ReverseEarn)
    outcome = await service.reverse_earn(
        _engine(request), _book(request), _actor(request), body, locale=_locale(request)
    )
    return reply(outcome, 201 if outcome.created else 200)


async def redeem_reward(request: Request) -> Response:
    body = await parse_body(request, contract.RedeemReward)
    outcome = await service.redeem_reward(
        _engine(request), _book(request), _actor(request), body, locale=_locale(request)
    )
    return reply(outcome, 201 if outcome.created else 200)


async def member_account(request: Request) -> Response:
    member_id = _uuid(request.path_params["member_id"], "member id")
    return reply(
        await service.account(
            _engine(request),
            _book(request),
            member_id,
            first=_int(request, "first", 10),
            after=request.query_params.get("after"),
            locale=_locale(request),
        )
    )


async def list_rewards(request: Request) -> Response:
    raw = request.query_params.get("member_id")
    member_id = _uuid(raw, "member_id") if raw else None
    rewards = await service.list_rewards(
        _engine(request), _book(request), member_id=member_id, locale=_locale(request)
    )
    return reply([r.model_dump(mode="json") for r in rewards])


async def create_reward(request: Request) -> Response:
    body = await parse_body(request, contract.CreateReward)
    reward, created = await service.create_reward(_engine(request), _actor(request), body)
    return reply(reward, 201 if created else 200)


async def rulebook(request: Request) -> Response:
    return reply(await service.rulebook(_engine(request), _book(request), locale=_locale(request)))


async def publish_rule_set(request: Request) -> Response:
    body = await parse_body(request, contract.PublishRuleSet)
    published = await service.publish_rule_set(
        _engine(request), _book(request), _actor(request), body
    )
    return reply(published, 201 if published.created else 200)


async def liability(request: Request) -> Response:
    _require_admin(_actor(request))
    return reply(await service.liability(_engine(request)))


async def settle_points(request: Request) -> Response:
    _require_admin(_actor(request))
    return reply(await service.run_point_jobs(_engine(request)))


async def _point_jobs(engine: AsyncEngine, interval: float) -> None:
    """Release due pending points and expire old ones, every ``interval`` seconds."""
    while True:
        try:
            await service.run_point_jobs(engine)
        except Exception:  # keep the schedule alive; the next run retries
            log.exception("points job failed")
        await asyncio.sleep(interval)


def create_app(
    settings: Settings, *, database_url: str, service_secret: str, run_jobs: bool = False
) -> Starlette:
    """The loyalty service. With ``run_jobs`` it also releases and expires points on a schedule."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url, pool_size=settings.db_pool_size, application_name="loyalty"
        )
        app.state.engine = engine
        app.state.rule_book = service.RuleBook()
        app.state.turns = service.Turns()
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            if run_jobs:
                task = asyncio.create_task(
                    _point_jobs(engine, settings.points_job_interval_seconds),
                    name="loyalty-points-jobs",
                )
                stack.push_async_callback(stop_task, task)
            yield

    internal = "/internal"
    app = Starlette(
        routes=[
            *operational_routes(lambda: getattr(app.state, "engine", None)),
            Route(f"{internal}/events", receive_events, methods=["POST"]),
            Route(f"{internal}/members/{{member_id}}/export", export_member, methods=["GET"]),
            Route(f"{internal}/members/{{member_id}}/account", member_account, methods=["GET"]),
            Route(f"{internal}/earn", record_earn, methods=["POST"]),
            Route(f"{internal}/earn/simulate", simulate_earn, methods=["POST"]),
            Route(f"{internal}/reversals", reverse_earn, methods=["POST"]),
            Route(f"{internal}/redemptions", redeem_reward, methods=["POST"]),
            Route(f"{internal}/rewards", list_rewards, methods=["GET"]),
            Route(f"{internal}/rewards", create_reward, methods=["POST"]),
            Route(f"{internal}/rulebook", rulebook, methods=["GET"]),
            Route(f"{internal}/rule-sets", publish_rule_set, methods=["POST"]),
            Route(f"{internal}/liability", liability, methods=["GET"]),
            Route(f"{internal}/jobs/settle-points", settle_points, methods=["POST"]),
        ],
        middleware=base_middleware("loyalty", service_secret=service_secret, audience=AUDIENCE),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app
