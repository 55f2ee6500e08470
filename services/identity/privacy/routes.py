"""Privacy's internal HTTP routes: parse, call one use case, serialise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.identity import contract
from services.identity.privacy import use_cases
from services.identity.routing import INTERNAL, actor, engine, path_uuid


async def update_preferences(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    body = await parse_body(request, contract.UpdatePreferences)
    return reply(
        await use_cases.update_preferences(engine(request), actor(request), member_id, body)
    )


async def export_member(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    return reply(await use_cases.export_member(engine(request), actor(request), member_id))


async def erase_member(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    return reply(await use_cases.erase_member(engine(request), actor(request), member_id))


routes = [
    Route(f"{INTERNAL}/members/{{member_id}}/preferences", update_preferences, methods=["PUT"]),
    Route(f"{INTERNAL}/members/{{member_id}}/export", export_member, methods=["GET"]),
    Route(f"{INTERNAL}/members/{{member_id}}/erase", erase_member, methods=["POST"]),
]
