# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""An experience as staff of its venue and admins read it."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import graphql_id, unexpected, venue_name
from graphql_schema.context import Info
from graphql_schema.experiences.access import STAFF_AND_ADMINS
from graphql_schema.experiences.eligibility import EligibilityCondition, as_condition
from graphql_schema.experiences.enums import Purpose
from graphql_schema.experiences.report import IssuanceReport
from graphql_schema.types import LocalizedText
from services.loyalty.experiences import contract as ec


@strawberry.type(description="A private evening, an open rehearsal, a backstage visit...")
class Experience:
    id: strawberry.ID
    key: str
    venue_id: strawberry.ID
    title: str
    description: str
    titles: LocalizedText
    descriptions: LocalizedText
    starts_at: dt.datetime
    ends_at: dt.datetime
    seats: int
    seats_taken: int = strawberry.field(description="By members holding a seat and their guests.")
    waitlisted: int
    guest_allowance: int
    production_id: str | None
    production_title: str | None
    eligibility: list[EligibilityCondition]
    eligibility_text: str = strawberry.field(description="Who may be invited, in words.")
    invitations_open_at: dt.datetime
    invitations_close_at: dt.datetime = strawberry.field(
        description="Offers not answered by then expire."
    )
    purpose: Purpose
    interests: list[str]
    door_opens_at: dt.datetime
    door_closes_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    created_at: dt.datetime
    created_by: str
    locale: strawberry.Private[str]

    @classmethod
    def of(cls, e: ec.Experience, locale: str) -> Experience:
        return cls(
            id=graphql_id(e.id),
            key=e.key,
            venue_id=graphql_id(e.venue_id),
            title=e.title,
            description=e.description,
            titles=LocalizedText(en=e.texts.title_en, fr=e.texts.title_fr),
            descriptions=LocalizedText(en=e.texts.description_en, fr=e.texts.description_fr),
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            seats=e.seats,
            seats_taken=e.seats_taken,
            waitlisted=e.waitlisted,
            guest_allowance=e.guest_allowance,
            production_id=e.production_id,
            production_title=e.production_title,
            eligibility=[as_condition(c) for c in e.eligibility.conditions],
            eligibility_text=e.eligibility_text,
            invitations_open_at=e.invitations_open_at,
            invitations_close_at=e.invitations_close_at,
            purpose=e.purpose,
            interests=list(e.interests),
            door_opens_at=e.door_opens_at,
            door_closes_at=e.door_closes_at,
            cancelled_at=e.cancelled_at,
            cancel_reason=e.cancel_reason,
            created_at=e.created_at,
            created_by=e.created_by,
            locale=locale,
        )

    @strawberry.field(description="The venue's name.")
    async def venue_name(self, info: Info) -> str | None:
        return await venue_name(info, uuid.UUID(str(self.venue_id)))

    @strawberry.field(description="The reports of every issuance of invitations, oldest first.")
    async def issuances(self, info: Info) -> list[IssuanceReport]:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        try:
            reports = await info.context.loyalty.issuances(
                principal.actor, uuid.UUID(str(self.id)), self.locale
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return [IssuanceReport.of(r) for r in reports]
