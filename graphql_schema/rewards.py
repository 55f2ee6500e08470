# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Rewards: the catalogue (with eligibility for a signed-in member), its management by admins
(create, update, retire), and redeeming points for a reward, which returns a voucher. Everything
about the catalogue belongs here.

Managing the catalogue: ``createReward`` is idempotent by the reward's ``key`` (the same input
again answers ``created: false``; the same key with other content is ``RewardKeyTaken``);
``updateReward`` changes only the fields sent, and a field sent as null is cleared; retiring is its
own operation, ``retireReward``, because it is not an edit: it takes the reward off the catalogue
for good (vouchers already issued stay valid), and retiring again answers the same.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input, unauthenticated
from graphql_schema.types import LedgerEntry, Locale, LocalizedText, LocalizedTextInput, NotFound
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
    stock: int | None = strawberry.field(description="Items left; null: unlimited.")
    min_tier: str | None
    eligible: bool | None
    ineligible_reason: str | None
    per_member_limit: int | None = strawberry.field(
        description="How many times one member may redeem it; null: no limit."
    )
    valid_from: dt.datetime | None = strawberry.field(
        description="Redeemable from this moment (inclusive); null: from its creation."
    )
    valid_until: dt.datetime | None = strawberry.field(
        description="Redeemable until this moment (exclusive); null: no end."
    )
    retired_at: dt.datetime | None = strawberry.field(
        description="When an admin retired it; a retired reward is no longer offered."
    )
    redeemed_by_member: int | None = strawberry.field(
        description="For a signed-in member: how many times they have redeemed it."
    )
    titles: LocalizedText = strawberry.field(description="The title in both languages.")
    descriptions: LocalizedText = strawberry.field(description="The description in both languages.")

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
            per_member_limit=r.per_member_limit,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            retired_at=r.retired_at,
            redeemed_by_member=r.redeemed_by_member,
            titles=LocalizedText(en=r.texts.title_en, fr=r.texts.title_fr),
            descriptions=LocalizedText(en=r.texts.description_en, fr=r.texts.description_fr),
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


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class RedeemRewardInput:
    reward_id: strawberry.ID
    idempotency_key: str


@strawberry.input(
    description="A new reward. Its key names it for good and makes creating it idempotent."
)
class CreateRewardInput:
    key: str
    title: LocalizedTextInput
    description: LocalizedTextInput
    cost: int
    stock: int | None = strawberry.field(default=None, description="Items; null: unlimited.")
    per_member_limit: int | None = strawberry.field(
        default=None, description="How many times one member may redeem it; null: no limit."
    )
    min_tier: str | None = strawberry.field(
        default=None, description="The lowest tier that may redeem it; null: every member."
    )
    valid_from: dt.datetime | None = strawberry.field(
        default=None, description="Redeemable from this moment (inclusive)."
    )
    valid_until: dt.datetime | None = strawberry.field(
        default=None, description="Redeemable until this moment (exclusive)."
    )


@strawberry.input(
    description="Changes to a reward: a field left out stays as it is; stock, perMemberLimit, "
    "minTier, validFrom and validUntil sent as null are cleared. A title or description sets "
    "both languages; they and the cost cannot be cleared."
)
class UpdateRewardInput:
    reward_id: strawberry.ID
    title: LocalizedTextInput | None = strawberry.UNSET
    description: LocalizedTextInput | None = strawberry.UNSET
    cost: int | None = strawberry.UNSET
    stock: int | None = strawberry.UNSET
    per_member_limit: int | None = strawberry.UNSET
    min_tier: str | None = strawberry.UNSET
    valid_from: dt.datetime | None = strawberry.UNSET
    valid_until: dt.datetime | None = strawberry.UNSET


@strawberry.input
class RetireRewardInput:
    reward_id: strawberry.ID


# ---- from the service's answers --------------------------------------------------------------


def _moment(raw: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(raw)) if raw else None


def _window(problem: ServiceProblem) -> InvalidValidityWindow:
    return InvalidValidityWindow(
        message=problem.message,
        code=problem.code,
        valid_from=_moment(problem.details.get("valid_from")),
        valid_until=_moment(problem.details.get("valid_until")),
    )


def _unknown_tier(problem: ServiceProblem) -> UnknownTier:
    known = [str(t) for t in problem.details.get("known", [])]
    return UnknownTier(message=problem.message, code=problem.code, known_tiers=known)


def _update_body(input: UpdateRewardInput) -> lc.UpdateReward:
    """The changes sent: fields left out are not sent on, and nulls are (they clear)."""
    cleared = [
        name
        for name, value in (
            ("title", input.title),
            ("description", input.description),
            ("cost", input.cost),
        )
        if value is None
    ]
    if cleared:
        raise invalid_input(f"{', '.join(cleared)} cannot be cleared")
    sent = {
        "cost": input.cost,
        "stock": input.stock,
        "per_member_limit": input.per_member_limit,
        "min_tier": input.min_tier,
        "valid_from": input.valid_from,
        "valid_until": input.valid_until,
    }
    for name, text in (("title", input.title), ("description", input.description)):
        if text is not strawberry.UNSET and text is not None:
            sent[f"{name}_en"], sent[f"{name}_fr"] = text.en, text.fr
    sent = {name: value for name, value in sent.items() if value is not strawberry.UNSET}
    body = build(lc.UpdateReward, **sent)  # checks the values sent; nulls are added below
    return body.model_copy(update={name: None for name, value in sent.items() if value is None})


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
                    valid_from=_moment(problem.details.get("valid_from")),
                    valid_until=_moment(problem.details.get("valid_until")),
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
                return _window(problem)
            if problem.code == lc.ProblemCode.UNKNOWN_TIER:
                return _unknown_tier(problem)
            raise unexpected(problem) from None
        return RewardCreated(reward=Reward.of(reward), created=created)

    @strawberry.mutation(description="Admins: change a reward; only the fields sent change.")
    async def update_reward(
        self, info: Info, input: UpdateRewardInput, locale: Locale | None = None
    ) -> UpdateRewardResult:
        principal = await info.context.require(ActorKind.ADMIN)
        reward_id = parse_uuid(input.reward_id, "rewardId")
        body = _update_body(input)
        try:
            reward = await info.context.loyalty.update_reward(
                principal.actor, reward_id, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            if problem.code == lc.ProblemCode.REWARD_NOT_FOUND:
                return NotFound(message=problem.message, code=problem.code)
            if problem.code == lc.ProblemCode.REWARD_RETIRED:
                retired_at = _moment(problem.details.get("retired_at"))
                assert retired_at is not None
                return RewardAlreadyRetired(
                    message=problem.message, code=problem.code, retired_at=retired_at
                )
            if problem.code == lc.ProblemCode.INVALID_VALIDITY_WINDOW:
                return _window(problem)
            if problem.code == lc.ProblemCode.UNKNOWN_TIER:
                return _unknown_tier(problem)
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
