"""Members' internal HTTP routes: parse, call one use case, serialise."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.common.problems import InvalidInput
from services.identity import contract
from services.identity.members import use_cases
from services.identity.routing import INTERNAL, actor, created, engine, path_uuid

MAX_RESOLVE_VALUE = 100


async def register_member(request: Request) -> Response:
    body = await parse_body(request, contract.RegisterMember)
    return created(await use_cases.register_member(engine(request), actor(request), body))


async def get_member(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    return reply(await use_cases.get_member(engine(request), actor(request), member_id))


async def link_identifier(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    body = await parse_body(request, contract.LinkIdentifier)
    return created(
        await use_cases.link_identifier(engine(request), actor(request), member_id, body)
    )


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
    return reply(await use_cases.resolve(engine(request), actor(request), kind, value))


async def merge_members(request: Request) -> Response:
    body = await parse_body(request, contract.MergeMembers)
    return reply(await use_cases.merge_members(engine(request), actor(request), body), 201)


routes = [
    Route(f"{INTERNAL}/members", register_member, methods=["POST"]),
    Route(f"{INTERNAL}/members/{{member_id}}", get_member, methods=["GET"]),
    Route(f"{INTERNAL}/members/{{member_id}}/identifiers", link_identifier, methods=["POST"]),
    Route(f"{INTERNAL}/resolve", resolve, methods=["GET"]),
    Route(f"{INTERNAL}/merges", merge_members, methods=["POST"]),
]
