# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Spending points on a reward, which returns a voucher."""

from __future__ import annotations

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import unauthenticated
from graphql_schema.rewards.inputs import RedeemRewardInput
from graphql_schema.rewards.outcomes import (
    NotEnoughPoints,
    RedeemRewardResult,
    RedemptionLimitReached,
    RewardOutsideValidity,
    RewardRedeemed,
    RewardUnavailable,
    moment,
)
from graphql_schema.rewards.outputs import Reward
from graphql_schema.types import LedgerEntry, Locale
from services.common.actor import ActorKind
from services.loyalty import contract as lc


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Spend points on a reward; returns a voucher code.")
    async def redeem_reward(
        self, info: Info, input: RedeemRewardInput, locale: Locale | None = None
    ) -> RedeemRewardResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(
            lc.RedeemReward,
            member_id=principal.id,
            reward_id=input.reward_id,
            idempotency_key=input.idempotency_key,
        )
        try:
            redemption = await info.context.loyalty.redeem(
                principal.actor, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            if problem.code == lc.ProblemCode.NOT_ENOUGH_POINTS:
                return NotEnoughPoints(
                    message=problem.message,
                    code=problem.code,
                    needed=int(problem.details.get("needed", 0)),
                    available=int(problem.details.get("available", 0)),
                )
            if problem.code == lc.ProblemCode.REDEMPTION_LIMIT_REACHED:
                return RedemptionLimitReached(
                    message=problem.message,
                    code=problem.code,
                    limit=int(problem.details.get("limit", 0)),
                    redeemed=int(problem.details.get("redeemed", 0)),
                )
            if problem.code in (
                lc.ProblemCode.REWARD_NOT_YET_AVAILABLE,
                lc.ProblemCode.REWARD_NO_LONGER_AVAILABLE,
            ):
                return RewardOutsideValidity(
                    message=problem.message,
                    code=problem.code,
                    valid_from=moment(problem.details.get("valid_from")),
                    valid_until=moment(problem.details.get("valid_until")),
                )
            if problem.status in (404, 409):
                return RewardUnavailable(message=problem.message, code=problem.code)
            if problem.code == lc.ProblemCode.MEMBER_ERASED:
                raise unauthenticated("this account was erased") from None
            raise unexpected(problem) from None
        return RewardRedeemed(
            created=redemption.created,
            voucher_code=redemption.voucher_code,
            reward=Reward.of(redemption.reward),
            cost=redemption.cost,
            balance=redemption.balance,
            entry=LedgerEntry.of(redemption.entry),
        )
