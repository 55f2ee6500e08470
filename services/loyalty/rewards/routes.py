"""The rewards' internal routes: the catalogue, its management by admins, and redemptions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import parse_body, reply
from services.loyalty import contract, routing
from services.loyalty.rewards.admin import create_reward, retire_reward, update_reward
from services.loyalty.rewards.catalogue import list_rewards
from services.loyalty.rewards.redemption import redeem_reward
from services.loyalty.routing import INTERNAL
from services.loyalty.rulebook.book import book_of


async def redeem(request: Request) -> Response:
    body = await parse_body(request, contract.RedeemReward)
    outcome = await redeem_reward(
        routing.engine(request),
        book_of(request),
        routing.actor(request),
        body,
        locale=routing.locale(request),
    )
    return reply(outcome, 201 if outcome.created else 200)


async def catalogue(request: Request) -> Response:
    raw = request.query_params.get("member_id")
    member_id = routing.uuid_of(raw, "member_id") if raw else None
    rewards = await list_rewards(
        routing.engine(request),
        book_of(request),
        member_id=member_id,
        locale=routing.locale(request),
    )
    return reply([r.model_dump(mode="json") for r in rewards])


async def create(request: Request) -> Response:
    body = await parse_body(request, contract.CreateReward)
    reward, created = await create_reward(
        routing.engine(request),
        routing.actor(request),
        body,
        book=book_of(request),
        locale=routing.locale(request),
    )
    return reply(reward, 201 if created else 200)


async def update(request: Request) -> Response:
    reward_id = routing.uuid_of(request.path_params["reward_id"], "reward id")
    body = await parse_body(request, contract.UpdateReward)
    reward = await update_reward(
        routing.engine(request),
        routing.actor(request),
        reward_id,
        body,
        book=book_of(request),
        locale=routing.locale(request),
    )
    return reply(reward)


async def retire(request: Request) -> Response:
    reward_id = routing.uuid_of(request.path_params["reward_id"], "reward id")
    reward = await retire_reward(
        routing.engine(request), routing.actor(request), reward_id, locale=routing.locale(request)
    )
    return reply(reward)


routes = [
    Route(f"{INTERNAL}/redemptions", redeem, methods=["POST"]),
    Route(f"{INTERNAL}/rewards", catalogue, methods=["GET"]),
    Route(f"{INTERNAL}/rewards", create, methods=["POST"]),
    Route(f"{INTERNAL}/rewards/{{reward_id}}", update, methods=["PATCH"]),
    Route(f"{INTERNAL}/rewards/{{reward_id}}/retire", retire, methods=["POST"]),
]
