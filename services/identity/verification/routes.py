"""Verifications' internal HTTP routes: ask for a code, give it back."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.identity import contract
from services.identity.routing import INTERNAL, actor, engine, path_uuid
from services.identity.verification import use_cases

_PATH = f"{INTERNAL}/members/{{member_id}}/verifications"


async def request_code(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    body = await parse_body(request, contract.IdentifierRef)
    sent = await use_cases.request_code(engine(request), actor(request), member_id, body)
    return reply(sent, 201)


async def verify_identifier(request: Request) -> Response:
    member_id = path_uuid(request, "member_id")
    body = await parse_body(request, contract.VerifyIdentifier)
    return reply(
        await use_cases.verify_identifier(engine(request), actor(request), member_id, body)
    )


routes = [
    Route(_PATH, request_code, methods=["POST"]),
    Route(f"{_PATH}/check", verify_identifier, methods=["POST"]),
]
