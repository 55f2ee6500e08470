# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""A reward of the catalogue."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.types import LocalizedText
from services.loyalty import contract as lc


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
