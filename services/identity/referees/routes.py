"""Referees' internal route."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.identity import contract
from services.identity.referees.use_cases import resolve_referee
from services.identity.routing import INTERNAL, actor, engine


async def resolve(request: Request) -> Response:
    body = await parse_body(request, contract.ResolveReferee)
    return reply(await resolve_referee(engine(request), actor(request), body))


routes = [Route(f"{INTERNAL}/referees/resolve", resolve, methods=["POST"])]
