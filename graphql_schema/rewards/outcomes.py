# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The expected outcomes of redeeming a reward and of managing the catalogue, and the
service's answers read into them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.errors import UserError
from graphql_schema.rewards.outputs import Reward
from graphql_schema.types import LedgerEntry, NotFound


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


@strawberry.type(
    description="The reward cannot be redeemed (REWARD_NOT_FOUND, OUT_OF_STOCK, NOT_ELIGIBLE, ...)."
)
class RewardUnavailable(UserError):
    pass


@strawberry.type(description="The member has redeemed this reward as often as it allows.")
class RedemptionLimitReached(UserError):
    limit: int
    redeemed: int


@strawberry.type(
    description="Outside the reward's validity: REWARD_NOT_YET_AVAILABLE (before validFrom) or "
    "REWARD_NO_LONGER_AVAILABLE (from validUntil)."
)
class RewardOutsideValidity(UserError):
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None


@strawberry.type
class RewardCreated:
    reward: Reward
    created: bool = strawberry.field(description="False when the key was already used.")


@strawberry.type
class RewardUpdated:
    reward: Reward


@strawberry.type
class RewardRetired:
    reward: Reward


@strawberry.type(description="A reward with this key exists, with other content.")
class RewardKeyTaken(UserError):
    reward_id: strawberry.ID


@strawberry.type(description="The validity window ends before it starts, or has already ended.")
class InvalidValidityWindow(UserError):
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None


@strawberry.type(description="No tier of that name in the rules in force or to come.")
class UnknownTier(UserError):
    known_tiers: list[str]


@strawberry.type(description="A retired reward cannot be changed.")
class RewardAlreadyRetired(UserError):
    retired_at: dt.datetime


RedeemRewardResult = Annotated[
    RewardRedeemed
    | NotEnoughPoints
    | RewardUnavailable
    | RedemptionLimitReached
    | RewardOutsideValidity,
    strawberry.union("RedeemRewardResult"),
]
CreateRewardResult = Annotated[
    RewardCreated | RewardKeyTaken | InvalidValidityWindow | UnknownTier,
    strawberry.union("CreateRewardResult"),
]
UpdateRewardResult = Annotated[
    RewardUpdated | NotFound | RewardAlreadyRetired | InvalidValidityWindow | UnknownTier,
    strawberry.union("UpdateRewardResult"),
]
RetireRewardResult = Annotated[RewardRetired | NotFound, strawberry.union("RetireRewardResult")]


def moment(raw: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(raw)) if raw else None


def invalid_window(problem: ServiceProblem) -> InvalidValidityWindow:
    return InvalidValidityWindow(
        message=problem.message,
        code=problem.code,
        valid_from=moment(problem.details.get("valid_from")),
        valid_until=moment(problem.details.get("valid_until")),
    )


def unknown_tier(problem: ServiceProblem) -> UnknownTier:
    known = [str(t) for t in problem.details.get("known", [])]
    return UnknownTier(message=problem.message, code=problem.code, known_tiers=known)
