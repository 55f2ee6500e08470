# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Who may be invited: the conditions of an experience, as read and as given."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from graphql_schema.experiences.enums import Period
from services.loyalty.experiences import contract as ec


@strawberry.type(description="The member's tier is this one or higher.")
class TierAtLeastCondition:
    tier: str


@strawberry.type(description="The member booked the production (null: the experience's own).")
class BookedProductionCondition:
    production_id: str | None


@strawberry.type(description="The member attended the production (null: the experience's own).")
class AttendedProductionCondition:
    production_id: str | None


@strawberry.type(description="The member attended at least `count` performances over `period`.")
class AttendedAtLeastCondition:
    count: int
    period: Period


EligibilityCondition = Annotated[
    TierAtLeastCondition
    | BookedProductionCondition
    | AttendedProductionCondition
    | AttendedAtLeastCondition,
    strawberry.union("EligibilityCondition"),
]


def as_condition(c: ec.Condition) -> EligibilityCondition:
    if isinstance(c, ec.TierAtLeast):
        return TierAtLeastCondition(tier=c.tier)
    if isinstance(c, ec.BookedProduction):
        return BookedProductionCondition(production_id=c.production_id)
    if isinstance(c, ec.AttendedProduction):
        return AttendedProductionCondition(production_id=c.production_id)
    return AttendedAtLeastCondition(count=c.count, period=c.period)


@strawberry.input(description="A production: null (or left out) for the experience's own.")
class ProductionConditionInput:
    production_id: str | None = None


@strawberry.input
class AttendanceConditionInput:
    count: int
    period: Period = Period.SEASON


@strawberry.input(one_of=True, description="One condition a member must meet to be invited.")
class EligibilityConditionInput:
    tier_at_least: str | None = strawberry.UNSET
    booked_production: ProductionConditionInput | None = strawberry.UNSET
    attended_production: ProductionConditionInput | None = strawberry.UNSET
    attended_at_least: AttendanceConditionInput | None = strawberry.UNSET


def eligibility_body(conditions: list[EligibilityConditionInput]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for c in conditions:
        if c.tier_at_least:
            out.append({"kind": "tier_at_least", "tier": c.tier_at_least})
        elif c.booked_production:
            out.append(
                {"kind": "booked_production", "production_id": c.booked_production.production_id}
            )
        elif c.attended_production:
            production = c.attended_production.production_id
            out.append({"kind": "attended_production", "production_id": production})
        elif c.attended_at_least:
            at_least = c.attended_at_least
            out.append(
                {"kind": "attended_at_least", "count": at_least.count, "period": at_least.period}
            )
    return {"conditions": out}
