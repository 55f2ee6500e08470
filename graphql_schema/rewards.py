# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Rewards: the catalogue (with eligibility for a signed-in member) and redeeming points for a
reward, which returns a voucher. Everything about the catalogue belongs here."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError
from graphql_schema.types import LedgerEntry, Locale
from services.common.actor import SYSTEM, ActorKind
from services.loyalty import contract as lc

# ---- types -----------------------------------------------------------------------------------


@strawberry.type
class Reward:
    id: strawberry.ID
    key: str
    title: str
    description: str
    cost: int
    stock: int | None
    min_tier: str | None
    eligible: bool | None
    ineligible_reason: str | None

    @classmethod
    def of(cls, r: lc.Reward) -> Reward:
        return cls(
            id=strawberry.ID(str(r.id)),
            key=r.key,
            title=r.title,
            description=r.description,
            cost=r.cost,
            stock=r.stock,
            min_tier=r.min_tier,
            eligible=r.eligible,
            ineligible_reason=r.ineligible_reason,
        )


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class RewardRedeemed:
    created: bool
    voucher_code: str
    reward: Reward
    cost: int
    balance: int
    entry: LedgerEntry


@strawberry.type
class NotEnoughPoints(UserError):
    needed: int
    available: int


@strawberry.type
class RewardUnavailable(UserError):
    pass


RedeemRewardResult = Annotated[
    RewardRedeemed | NotEnoughPoints | RewardUnavailable, strawberry.union("RedeemRewardResult")
]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class RedeemRewardInput:
    reward_id: strawberry.ID
    idempotency_key: str


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(
        description="The rewards catalogue; for a signed-in member, with eligibility."
    )
    async def rewards(self, info: Info, locale: Locale | None = None) -> list[Reward]:
        principal = await info.context.optional()
        member = (
            uuid.UUID(principal.id)
            if principal and principal.kind is ActorKind.MEMBER and principal.id
            else None
        )
        try:
            found = await info.context.loyalty.rewards(
                principal.actor if principal else SYSTEM, member, locale_code(locale)
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return [Reward.of(r) for r in found]


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
            if problem.status in (404, 409):
                return RewardUnavailable(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return RewardRedeemed(
            created=redemption.created,
            voucher_code=redemption.voucher_code,
            reward=Reward.of(redemption.reward),
            cost=redemption.cost,
            balance=redemption.balance,
            entry=LedgerEntry.of(redemption.entry),
        )
