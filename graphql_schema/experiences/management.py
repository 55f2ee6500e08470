# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Staff of their venue and admins: read, create, change and cancel experiences.

Staff act for their own venues, admins for all: checked here where the input names the venue,
and by the loyalty service from the experience otherwise.
"""

from __future__ import annotations

import uuid

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import invalid_input
from graphql_schema.experiences.access import STAFF_AND_ADMINS, of_venue
from graphql_schema.experiences.eligibility import eligibility_body
from graphql_schema.experiences.inputs import (
    CancelExperienceInput,
    CreateExperienceInput,
    UpdateExperienceInput,
    changes_sent,
)
from graphql_schema.experiences.outcomes import (
    CancelExperienceResult,
    CreateExperienceResult,
    ExperienceCancelled,
    ExperienceClosed,
    ExperienceCreated,
    ExperienceKeyTaken,
    ExperienceUpdated,
    InvalidEligibility,
    InvalidSchedule,
    SeatsBelowTaken,
    UpdateExperienceResult,
    refusal,
)
from graphql_schema.experiences.outputs import Experience
from graphql_schema.types import Locale, NotFound
from services.common.actor import ActorKind
from services.loyalty.experiences import contract as ec


@strawberry.type
class Query:
    @strawberry.field(description="Staff of its venue and admins: one experience (null: none).")
    async def experience(
        self, info: Info, id: strawberry.ID, locale: Locale | None = None
    ) -> Experience | None:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        language = locale_code(locale)
        try:
            found = await info.context.loyalty.experience(
                principal.actor, parse_uuid(id, "id"), language
            )
        except ServiceProblem as problem:
            if problem.code == ec.ExperienceProblem.EXPERIENCE_NOT_FOUND:
                return None
            raise unexpected(problem) from None
        return Experience.of(found, language)

    @strawberry.field(
        description="Staff: their venues' experiences; admins: every venue's. Upcoming and "
        "under way, by start; with includePast, the past ones too."
    )
    async def experiences(
        self,
        info: Info,
        venue_id: strawberry.ID | None = None,
        include_past: bool = False,
        locale: Locale | None = None,
    ) -> list[Experience]:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        venue = parse_uuid(venue_id, "venueId") if venue_id is not None else None
        of_venue(principal, venue)
        language = locale_code(locale)
        try:
            found = await info.context.loyalty.experiences(
                principal.actor, venue_id=venue, include_past=include_past, locale=language
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return [Experience.of(e, language) for e in found]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Staff of the venue and admins: a new experience.")
    async def create_experience(
        self, info: Info, input: CreateExperienceInput, locale: Locale | None = None
    ) -> CreateExperienceResult:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        venue = parse_uuid(input.venue_id, "venueId") if input.venue_id is not None else None
        if venue is None and principal.kind is ActorKind.STAFF and len(principal.venues) == 1:
            venue = uuid.UUID(next(iter(principal.venues)))
        if venue is None:
            raise invalid_input("venueId is required")
        of_venue(principal, venue)
        body = build(
            ec.CreateExperience,
            key=input.key,
            venue_id=venue,
            texts={
                "title_en": input.title.en,
                "title_fr": input.title.fr,
                "description_en": input.description.en,
                "description_fr": input.description.fr,
            },
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            seats=input.seats,
            guest_allowance=input.guest_allowance,
            production_id=input.production_id,
            production_title=input.production_title,
            eligibility=eligibility_body(input.eligibility),
            invitations_open_at=input.invitations_open_at,
            invitations_close_at=input.invitations_close_at,
            purpose=input.purpose,
            interests=input.interests,
            door_opens_minutes_before=input.door_opens_minutes_before,
            door_closes_minutes_after=input.door_closes_minutes_after,
        )
        language = locale_code(locale)
        try:
            found, created = await info.context.loyalty.create_experience(
                principal.actor, body, language
            )
        except ServiceProblem as problem:
            refused = refusal(problem)
            if isinstance(refused, ExperienceKeyTaken | InvalidSchedule | InvalidEligibility):
                return refused
            raise unexpected(problem) from None
        return ExperienceCreated(experience=Experience.of(found, language), created=created)

    @strawberry.mutation(description="Staff of the venue and admins: change it before it starts.")
    async def update_experience(
        self, info: Info, input: UpdateExperienceInput, locale: Locale | None = None
    ) -> UpdateExperienceResult:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        experience_id = parse_uuid(input.experience_id, "experienceId")
        changes = changes_sent(input)
        language = locale_code(locale)
        try:
            found = await info.context.loyalty.update_experience(
                principal.actor, experience_id, changes, language
            )
        except ServiceProblem as problem:
            refused = refusal(problem)
            if isinstance(
                refused,
                NotFound
                | ExperienceClosed
                | InvalidSchedule
                | InvalidEligibility
                | SeatsBelowTaken,
            ):
                return refused
            raise unexpected(problem) from None
        return ExperienceUpdated(experience=Experience.of(found, language))

    @strawberry.mutation(
        description="Staff of the venue and admins: cancel it for good, with its invitations."
    )
    async def cancel_experience(
        self, info: Info, input: CancelExperienceInput, locale: Locale | None = None
    ) -> CancelExperienceResult:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        experience_id = parse_uuid(input.experience_id, "experienceId")
        body = build(ec.CancelExperience, reason=input.reason)
        language = locale_code(locale)
        try:
            found = await info.context.loyalty.cancel_experience(
                principal.actor, experience_id, body, language
            )
        except ServiceProblem as problem:
            refused = refusal(problem)
            if isinstance(refused, NotFound | ExperienceClosed):
                return refused
            raise unexpected(problem) from None
        return ExperienceCancelled(experience=Experience.of(found, language))
