"""The rulebook's internal routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.loyalty import contract, routing
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook import use_cases
from services.loyalty.rulebook.book import book_of


async def rulebook(request: Request) -> Response:
    return reply(
        await use_cases.rulebook(
            routing.engine(request), book_of(request), locale=routing.locale(request)
        )
    )


async def publish_rule_set(request: Request) -> Response:
    body = await parse_body(request, contract.PublishRuleSet)
    published = await use_cases.publish_rule_set(
        routing.engine(request), book_of(request), routing.actor(request), body
    )
    return reply(published, 201 if published.created else 200)


routes = [
    Route(f"{INTERNAL}/rulebook", rulebook, methods=["GET"]),
    Route(f"{INTERNAL}/rule-sets", publish_rule_set, methods=["POST"]),
]
