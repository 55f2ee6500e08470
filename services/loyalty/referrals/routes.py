"""Referrals' internal routes: parse, call one use case, serialise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.loyalty import routing
from services.loyalty.referrals import contract, guests, reading, use_cases, webhooks
from services.loyalty.referrals.effects import run_referral_jobs
from services.loyalty.referrals.hooks import settle
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook.book import book_of


async def member_code(request: Request) -> Response:
    member_id = routing.uuid_of(request.path_params["member_id"], "member id")
    link_base: str = request.app.state.referral_link_base
    return reply(
        await use_cases.member_code(
            routing.engine(request), routing.actor(request), member_id, link_base
        )
    )


async def check_code(request: Request) -> Response:
    code = request.query_params.get("code", "")
    return reply(await use_cases.check_code(routing.engine(request), code))


async def register(request: Request) -> Response:
    body = await parse_body(request, contract.RegisterReferral)
    engine = routing.engine(request)
    decision = await use_cases.register_referral(
        engine, book_of(request), routing.actor(request), body, locale=routing.locale(request)
    )
    return reply(decision, 201 if decision.created else 200)


async def register_signup(request: Request) -> Response:
    body = await parse_body(request, contract.SignupReferral)
    engine, book = routing.engine(request), book_of(request)
    decision, touched = await use_cases.register_signup(
        engine, book, routing.actor(request), body, locale=routing.locale(request)
    )
    await settle(engine, book, touched)
    return reply(decision, 201 if decision.created else 200)


async def register_guest(request: Request) -> Response:
    body = await parse_body(request, contract.GuestReferral)
    engine = routing.engine(request)
    decision = await use_cases.register_guest(
        engine, book_of(request), routing.actor(request), body
    )
    return reply(decision, 201 if decision.created else 200)


async def due_guests(request: Request) -> Response:
    found = await guests.due_guests(
        routing.engine(request),
        routing.actor(request),
        first=routing.int_param(request, "first", 20),
    )
    return reply([g.model_dump(mode="json") for g in found])


async def drop_guest(request: Request) -> Response:
    body = await parse_body(request, contract.GuestDone)
    dropped = await guests.drop_guest(routing.engine(request), routing.actor(request), body)
    return reply({"dropped": dropped})


async def partner_referrals(request: Request) -> Response:
    return reply(
        await reading.partner_referrals(
            routing.engine(request),
            routing.actor(request),
            first=routing.int_param(request, "first", 20),
            after=request.query_params.get("after"),
        )
    )


async def member_referrals(request: Request) -> Response:
    member_id = routing.uuid_of(request.path_params["member_id"], "member id")
    found = await reading.member_referrals(
        routing.engine(request), routing.actor(request), member_id, locale=routing.locale(request)
    )
    return reply([r.model_dump(mode="json") for r in found])


async def ambassador_board(request: Request) -> Response:
    return reply(
        await reading.ambassador_board(
            routing.engine(request),
            book_of(request),
            routing.actor(request),
            first=routing.int_param(request, "first", 10),
            locale=routing.locale(request),
        )
    )


async def set_webhook(request: Request) -> Response:
    body = await parse_body(request, contract.SetWebhook)
    return reply(await webhooks.set_webhook(routing.engine(request), routing.actor(request), body))


async def rotate_secret(request: Request) -> Response:
    body = await parse_body(request, contract.RotateSecret)
    return reply(
        await webhooks.rotate_secret(routing.engine(request), routing.actor(request), body)
    )


async def deliveries(request: Request) -> Response:
    raw = request.query_params.get("partner_id")
    found = await webhooks.deliveries(
        routing.engine(request),
        routing.actor(request),
        routing.uuid_of(raw, "partner_id") if raw else None,
        routing.int_param(request, "first", 20),
    )
    return reply([d.model_dump(mode="json") for d in found])


async def run_jobs(request: Request) -> Response:
    routing.require_admin(routing.actor(request))
    state = request.app.state
    report = await run_referral_jobs(
        routing.engine(request), book_of(request), state.webhook_client, state.retry_policy
    )
    return reply(report)


routes = [
    Route(f"{INTERNAL}/members/{{member_id}}/referral-code", member_code, methods=["GET"]),
    Route(f"{INTERNAL}/referral-codes", check_code, methods=["GET"]),
    Route(f"{INTERNAL}/referrals", register, methods=["POST"]),
    Route(f"{INTERNAL}/referrals/signup", register_signup, methods=["POST"]),
    Route(f"{INTERNAL}/referrals/guest", register_guest, methods=["POST"]),
    Route(f"{INTERNAL}/referrals/guests/due", due_guests, methods=["POST"]),
    Route(f"{INTERNAL}/referrals/guests/drop", drop_guest, methods=["POST"]),
    Route(f"{INTERNAL}/partner/referrals", partner_referrals, methods=["GET"]),
    Route(f"{INTERNAL}/members/{{member_id}}/referrals", member_referrals, methods=["GET"]),
    Route(f"{INTERNAL}/ambassadors", ambassador_board, methods=["GET"]),
    Route(f"{INTERNAL}/partner/webhook", set_webhook, methods=["PUT"]),
    Route(f"{INTERNAL}/partner/webhook/rotate", rotate_secret, methods=["POST"]),
    Route(f"{INTERNAL}/partner/webhook/deliveries", deliveries, methods=["GET"]),
    Route(f"{INTERNAL}/jobs/referrals", run_jobs, methods=["POST"]),
]
