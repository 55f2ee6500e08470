"""Earning's internal routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.loyalty import contract, routing
from services.loyalty.earning.award import simulate_earn
from services.loyalty.earning.earn import earn_points
from services.loyalty.earning.jobs import run_point_jobs
from services.loyalty.earning.reversal import reverse_earn
from services.loyalty.referrals import hooks as referrals
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook.book import book_of


async def record_earn(request: Request) -> Response:
    body = await parse_body(request, contract.RecordEarn)
    engine, book = routing.engine(request), book_of(request)
    outcome = await earn_points(
        engine,
        book,
        routing.actor(request),
        body,
        locale=routing.locale(request),
        turns=request.app.state.turns,
    )
    # perhaps a referee's first qualifying event; told again when the earn is replayed, since
    # the first request may have been cut off after the earn and before this (told twice, it
    # counts once)
    event = body.event
    await referrals.after_earn(
        engine, book, body.member_id, event.trigger.value, event.occurred_at, outcome.entry.id
    )
    return reply(outcome, 201 if outcome.created else 200)


async def simulate(request: Request) -> Response:
    body = await parse_body(request, contract.SimulateEarn)
    return reply(await simulate_earn(routing.engine(request), book_of(request), body))


async def reverse(request: Request) -> Response:
    body = await parse_body(request, contract.ReverseEarn)
    outcome = await reverse_earn(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        body,
        locale=routing.locale(request),
    )
    return reply(outcome, 201 if outcome.created else 200)


async def settle_points(request: Request) -> Response:
    routing.require_admin(routing.actor(request))
    return reply(await run_point_jobs(routing.engine(request)))


routes = [
    Route(f"{INTERNAL}/earn", record_earn, methods=["POST"]),
    Route(f"{INTERNAL}/earn/simulate", simulate, methods=["POST"]),
    Route(f"{INTERNAL}/reversals", reverse, methods=["POST"]),
    Route(f"{INTERNAL}/jobs/settle-points", settle_points, methods=["POST"]),
]
