# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Admins manage the catalogue: create (idempotent by key), update and retire rewards."""

from __future__ import annotations

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.rewards.inputs import (
    CreateRewardInput,
    RetireRewardInput,
    UpdateRewardInput,
    update_body,
)
from graphql_schema.rewards.outcomes import (
    CreateRewardResult,
    RetireRewardResult,
    RewardAlreadyRetired,
    RewardCreated,
    RewardKeyTaken,
    RewardRetired,
    RewardUpdated,
    UpdateRewardResult,
    invalid_window,
    moment,
    unknown_tier,
)
from graphql_schema.rewards.outputs import Reward
from graphql_schema.types import Locale, NotFound
from services.common.actor import ActorKind
from services.loyalty import contract as lc


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Admins: add a reward to the catalogue; idempotent by key.")
    async def create_reward(
        self, info: Info, input: CreateRewardInput, locale: Locale | None = None
    ) -> CreateRewardResult:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            lc.CreateReward,
            key=input.key,
            title_en=input.title.en,
            title_fr=input.title.fr,
            description_en=input.description.en,
            description_fr=input.description.fr,
            cost=input.cost,
            stock=input.stock,
            per_member_limit=input.per_member_limit,
            min_tier=input.min_tier,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
        )
        try:
            reward, created = await info.context.loyalty.create_reward(
                principal.actor, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            if problem.code == lc.ProblemCode.REWARD_KEY_TAKEN:
                reward_id = strawberry.ID(str(problem.details.get("reward_id", "")))
                return RewardKeyTaken(
                    message=problem.message, code=problem.code, reward_id=reward_id
                )
            if problem.code == lc.ProblemCode.INVALID_VALIDITY_WINDOW:
                return invalid_window(problem)
            if problem.code == lc.ProblemCode.UNKNOWN_TIER:
                return unknown_tier(problem)
            raise unexpected(problem) from None
        return RewardCreated(reward=Reward.of(reward), created=created)

    @strawberry.mutation(description="Admins: change a reward; only the fields sent change.")
    async def update_reward(
        self, info: Info, input: UpdateRewardInput, locale: Locale | None = None
    ) -> UpdateRewardResult:
        principal = await info.context.require(ActorKind.ADMIN)
        reward_id = parse_uuid(input.reward_id, "rewardId")
        body = update_body(input)
        try:
            reward = await info.context.loyalty.update_reward(
                principal.actor, reward_id, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            if problem.code == lc.ProblemCode.REWARD_NOT_FOUND:
                return NotFound(message=problem.message, code=problem.code)
            if problem.code == lc.ProblemCode.REWARD_RETIRED:
                retired_at = moment(problem.details.get("retired_at"))
                assert retired_at is not None
                return RewardAlreadyRetired(
                    message=problem.message, code=problem.code, retired_at=retired_at
                )
            if problem.code == lc.ProblemCode.INVALID_VALIDITY_WINDOW:
                return invalid_window(problem)
            if problem.code == lc.ProblemCode.UNKNOWN_TIER:
                return unknown_tier(problem)
            raise unexpected(problem) from None
        return RewardUpdated(reward=Reward.of(reward))

    @strawberry.mutation(
        description="Admins: take a reward off the catalogue for good (vouchers already issued "
        "stay valid); retiring it again answers the same."
    )
    async def retire_reward(
        self, info: Info, input: RetireRewardInput, locale: Locale | None = None
    ) -> RetireRewardResult:
        principal = await info.context.require(ActorKind.ADMIN)
        reward_id = parse_uuid(input.reward_id, "rewardId")
        try:
            reward = await info.context.loyalty.retire_reward(
                principal.actor, reward_id, locale_code(locale)
            )
        except ServiceProblem as problem:
            if problem.code == lc.ProblemCode.REWARD_NOT_FOUND:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return RewardRetired(reward=Reward.of(reward))
