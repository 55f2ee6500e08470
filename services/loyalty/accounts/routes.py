"""The accounts' internal routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import reply
from services.loyalty import routing
from services.loyalty.accounts.figures import liability
from services.loyalty.accounts.view import account
from services.loyalty.privacy.export import export_member
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook.book import book_of


async def member_account(request: Request) -> Response:
    member_id = routing.uuid_of(request.path_params["member_id"], "member id")
    return reply(
        await account(
            routing.engine(request),
            book_of(request),
            member_id,
            first=routing.int_param(request, "first", 10),
            after=request.query_params.get("after"),
            locale=routing.locale(request),
        )
    )


async def member_export(request: Request) -> Response:
    member_id = routing.uuid_of(request.path_params["member_id"], "member id")
    return reply(await export_member(routing.engine(request), member_id))


async def programme_liability(request: Request) -> Response:
    routing.require_admin(routing.actor(request))
    return reply(await liability(routing.engine(request)))


routes = [
    Route(f"{INTERNAL}/members/{{member_id}}/export", member_export, methods=["GET"]),
    Route(f"{INTERNAL}/members/{{member_id}}/account", member_account, methods=["GET"]),
    Route(f"{INTERNAL}/liability", programme_liability, methods=["GET"]),
]
