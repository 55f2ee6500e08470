"""The experiences' internal routes (listed with their bodies in ``experiences.contract``) and
the public key set of door passes."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.loyalty import routing
from services.loyalty.experiences import contract, door, issue, manage, respond, signing, stats
from services.loyalty.experiences.jobs import run_experience_jobs
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook.book import book_of


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in ("1", "true", "yes")


def _venue(request: Request) -> UUID | None:
    raw = request.query_params.get("venue_id")
    return routing.uuid_of(raw, "venue_id") if raw else None


async def create(request: Request) -> Response:
    body = await parse_body(request, contract.CreateExperience)
    found, created = await manage.create_experience(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        body,
        locale=routing.locale(request),
    )
    return reply(found, 201 if created else 200)


async def listing(request: Request) -> Response:
    venue = _venue(request)
    found = await manage.list_experiences(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        venue_id=venue,
        include_past=_flag(request, "include_past"),
        locale=routing.locale(request),
    )
    return reply([e.model_dump(mode="json") for e in found])


async def one(request: Request) -> Response:
    found = await manage.get_experience(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["experience_id"], "experience id"),
        locale=routing.locale(request),
    )
    return reply(found)


async def update(request: Request) -> Response:
    body = await parse_body(request, contract.UpdateExperience)
    found = await manage.update_experience(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["experience_id"], "experience id"),
        body,
        locale=routing.locale(request),
    )
    return reply(found)


async def cancel(request: Request) -> Response:
    body = await parse_body(request, contract.CancelExperience)
    found = await manage.cancel_experience(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["experience_id"], "experience id"),
        body,
        locale=routing.locale(request),
    )
    return reply(found)


async def issue_invitations(request: Request) -> Response:
    body = await parse_body(request, contract.IssueInvitations)
    found = await issue.issue_invitations(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["experience_id"], "experience id"),
        body,
        locale=routing.locale(request),
    )
    return reply(found, 201 if found.created else 200)


async def issuances(request: Request) -> Response:
    found = await issue.list_issuances(
        routing.engine(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["experience_id"], "experience id"),
        locale=routing.locale(request),
    )
    return reply([r.model_dump(mode="json") for r in found])


async def issuance(request: Request) -> Response:
    found = await issue.read_issuance(
        routing.engine(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["issuance_id"], "issuance id"),
        locale=routing.locale(request),
    )
    return reply(found)


async def member_invitations(request: Request) -> Response:
    found = await respond.member_invitations(
        routing.engine(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["member_id"], "member id"),
        locale=routing.locale(request),
    )
    return reply([i.model_dump(mode="json") for i in found])


async def respond_to(request: Request) -> Response:
    body = await parse_body(request, contract.RespondToInvitation)
    found = await respond.respond_to_invitation(
        routing.engine(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["invitation_id"], "invitation id"),
        body,
        locale=routing.locale(request),
    )
    return reply(found)


async def rate(request: Request) -> Response:
    body = await parse_body(request, contract.RateExperience)
    found = await respond.rate_experience(
        routing.engine(request),
        routing.actor(request),
        routing.uuid_of(request.path_params["invitation_id"], "invitation id"),
        body,
    )
    return reply(found, 201)


def _door(request: Request, venue_id: UUID | None) -> door.Door:
    return door.door_of(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        venue_id,
        routing.locale(request),
        request.app.state.turns,
    )


async def redeem(request: Request) -> Response:
    body = await parse_body(request, contract.RedeemInvitation)
    return reply(await door.redeem_invitation(_door(request, body.venue_id), body))


async def redeem_batch(request: Request) -> Response:
    body = await parse_body(request, contract.RedeemBatch)
    return reply(await door.redeem_batch(_door(request, body.venue_id), body))


async def experience_figures(request: Request) -> Response:
    found = await stats.experience_figures(
        routing.engine(request),
        routing.actor(request),
        venue_id=_venue(request),
        locale=routing.locale(request),
    )
    return reply(found)


async def jobs(request: Request) -> Response:
    routing.require_admin(routing.actor(request))
    return reply(await run_experience_jobs(routing.engine(request), book_of(request)))


async def jwks(request: Request) -> Response:
    response = reply(await signing.jwks(routing.engine(request)))
    response.headers["cache-control"] = "public, max-age=300"
    return response


routes = [
    Route(f"{INTERNAL}/experiences", create, methods=["POST"]),
    Route(f"{INTERNAL}/experiences", listing, methods=["GET"]),
    Route(f"{INTERNAL}/experiences/{{experience_id}}", one, methods=["GET"]),
    Route(f"{INTERNAL}/experiences/{{experience_id}}", update, methods=["PATCH"]),
    Route(f"{INTERNAL}/experiences/{{experience_id}}/cancel", cancel, methods=["POST"]),
    Route(
        f"{INTERNAL}/experiences/{{experience_id}}/issuances", issue_invitations, methods=["POST"]
    ),
    Route(f"{INTERNAL}/experiences/{{experience_id}}/issuances", issuances, methods=["GET"]),
    Route(f"{INTERNAL}/issuances/{{issuance_id}}", issuance, methods=["GET"]),
    Route(f"{INTERNAL}/members/{{member_id}}/invitations", member_invitations, methods=["GET"]),
    Route(f"{INTERNAL}/invitations/{{invitation_id}}/respond", respond_to, methods=["POST"]),
    Route(f"{INTERNAL}/invitations/{{invitation_id}}/rating", rate, methods=["POST"]),
    Route(f"{INTERNAL}/door/redeem", redeem, methods=["POST"]),
    Route(f"{INTERNAL}/door/redeem-batch", redeem_batch, methods=["POST"]),
    Route(f"{INTERNAL}/experience-figures", experience_figures, methods=["GET"]),
    Route(f"{INTERNAL}/jobs/experiences", jobs, methods=["POST"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]
