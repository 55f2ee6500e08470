"""The route that identity's outbox relay delivers to."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.loyalty import contract, routing
from services.loyalty.identity_events.use_cases import receive_identity_events
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook.book import book_of


async def receive_events(request: Request) -> Response:
    batch = await parse_body(request, contract.EventBatch)
    return reply(await receive_identity_events(routing.engine(request), batch, book_of(request)))


routes = [Route(f"{INTERNAL}/events", receive_events, methods=["POST"])]
