# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""What staff and admins send to create, change and cancel experiences and to issue
invitations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from graphql_schema.common import build
from graphql_schema.errors import invalid_input
from graphql_schema.experiences.eligibility import EligibilityConditionInput, eligibility_body
from graphql_schema.experiences.enums import Purpose
from graphql_schema.types import LocalizedTextInput
from services.loyalty.experiences import contract as ec


@strawberry.input(description="A new experience. Its key makes creating it idempotent.")
class CreateExperienceInput:
    key: str
    venue_id: strawberry.ID | None = strawberry.field(
        default=None, description="Left out: the staff account's venue, when it has one."
    )
    title: LocalizedTextInput
    description: LocalizedTextInput
    starts_at: dt.datetime
    ends_at: dt.datetime
    seats: int
    guest_allowance: int = 0
    production_id: str | None = strawberry.field(
        default=None, description="The production it accompanies, as the ticketing names it."
    )
    production_title: str | None = None
    eligibility: list[EligibilityConditionInput] = strawberry.field(
        default_factory=list, description="Every condition must hold; none: every member."
    )
    invitations_open_at: dt.datetime
    invitations_close_at: dt.datetime
    purpose: Purpose = Purpose.TICKET_HOLDERS
    interests: list[str] = strawberry.field(
        default_factory=list, description="When given, only members sharing one are invited."
    )
    door_opens_minutes_before: int = 120
    door_closes_minutes_after: int = 60


@strawberry.input(
    description="Changes before the start: a field left out stays as it is; productionId and "
    "productionTitle sent as null are cleared, the others cannot be."
)
class UpdateExperienceInput:
    experience_id: strawberry.ID
    title: LocalizedTextInput | None = strawberry.UNSET
    description: LocalizedTextInput | None = strawberry.UNSET
    starts_at: dt.datetime | None = strawberry.UNSET
    ends_at: dt.datetime | None = strawberry.UNSET
    seats: int | None = strawberry.UNSET
    guest_allowance: int | None = strawberry.UNSET
    production_id: str | None = strawberry.UNSET
    production_title: str | None = strawberry.UNSET
    eligibility: list[EligibilityConditionInput] | None = strawberry.UNSET
    invitations_open_at: dt.datetime | None = strawberry.UNSET
    invitations_close_at: dt.datetime | None = strawberry.UNSET
    purpose: Purpose | None = strawberry.UNSET
    interests: list[str] | None = strawberry.UNSET
    door_opens_minutes_before: int | None = strawberry.UNSET
    door_closes_minutes_after: int | None = strawberry.UNSET


@strawberry.input
class CancelExperienceInput:
    experience_id: strawberry.ID
    reason: str


@strawberry.input(
    description="Invite up to `count` members (default: the seats) in the fair order, within "
    "the guardrails; idempotent per key."
)
class IssueInvitationsInput:
    experience_id: strawberry.ID
    key: str
    count: int | None = None
    seed: str | None = strawberry.field(
        default=None, description="Settles the draw; default: from the experience and the key."
    )


_CLEARABLE = ("production_id", "production_title")


def changes_sent(input: UpdateExperienceInput) -> dict[str, Any]:
    """The changes sent, as the service's JSON: fields left out are not sent on."""
    sent: dict[str, Any] = {
        name: getattr(input, name)
        for name in (
            "starts_at",
            "ends_at",
            "seats",
            "guest_allowance",
            "production_id",
            "production_title",
            "invitations_open_at",
            "invitations_close_at",
            "purpose",
            "interests",
            "door_opens_minutes_before",
            "door_closes_minutes_after",
        )
        if getattr(input, name) is not strawberry.UNSET
    }
    cleared = [n for n, v in sent.items() if v is None and n not in _CLEARABLE]
    for name in ("title", "description", "eligibility"):
        if getattr(input, name) is None:
            cleared.append(name)
    if cleared:
        raise invalid_input(f"{', '.join(sorted(cleared))} cannot be cleared")
    title, description = input.title, input.description
    if (title is strawberry.UNSET) != (description is strawberry.UNSET):
        raise invalid_input("title and description change together")
    if title and description:
        sent["texts"] = {
            "title_en": title.en,
            "title_fr": title.fr,
            "description_en": description.en,
            "description_fr": description.fr,
        }
    if input.eligibility:
        sent["eligibility"] = eligibility_body(input.eligibility)
    elif input.eligibility == []:
        sent["eligibility"] = {"conditions": []}
    body = build(ec.UpdateExperience, **sent)  # checks the values; nulls are sent as such
    return {
        **body.model_dump(mode="json", exclude_unset=True),
        **{n: None for n in _CLEARABLE if n in sent and sent[n] is None},
    }
