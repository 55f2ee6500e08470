# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""What members send to redeem a reward, and admins to manage the catalogue."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.common import build
from graphql_schema.errors import invalid_input
from graphql_schema.types import LocalizedTextInput
from services.loyalty import contract as lc


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


def update_body(input: UpdateRewardInput) -> lc.UpdateReward:
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
