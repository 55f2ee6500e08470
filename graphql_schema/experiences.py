# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Exclusive experiences, for staff of their venue and admins: create, change and cancel them,
issue invitations in the fair order within the contact guardrails (the report says who was
invited and who was spared, and why, and stays readable), and the experiences' figures that
``programmeStats { experiences }`` shows (built here, see ``accounts``).

Staff act for their own venues, admins for all: checked here per field where the input names
the venue, and by the loyalty service from the experience otherwise. The member's side is in
``invitations``, the door in ``door``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from graphql_schema.auth import Principal
from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import (
    build,
    graphql_id,
    locale_code,
    parse_uuid,
    unexpected,
    venue_name,
)
from graphql_schema.context import Info
from graphql_schema.errors import UserError, forbidden, invalid_input
from graphql_schema.types import Channel, Locale, LocalizedText, LocalizedTextInput, NotFound
from services.common.actor import ActorKind
from services.loyalty.experiences import contract as ec

strawberry.enum(
    ec.Purpose,
    name="ExperiencePurpose",
    description="TICKET_HOLDERS: a reward for those holding a ticket; DISCOVERY: to make the "
    "production discovered (never offered to those who booked or attended it).",
)
strawberry.enum(ec.Suppression, description="Why a member was spared an invitation.")
strawberry.enum(
    ec.Period, name="AttendancePeriod", description="Over which time attendance counts."
)
Purpose = ec.Purpose
Suppression = ec.Suppression
Period = ec.Period

STAFF_AND_ADMINS = (ActorKind.STAFF, ActorKind.ADMIN)


def _of_venue(principal: Principal, venue_id: uuid.UUID | None) -> None:
    """Staff act only for their own venues (admins for all)."""
    if (
        venue_id is not None
        and principal.kind is ActorKind.STAFF
        and str(venue_id) not in principal.venues
    ):
        raise forbidden("staff act only for their own venues")


# ---- eligibility -----------------------------------------------------------------------------


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


def _condition(c: ec.Condition) -> EligibilityCondition:
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


def _eligibility(conditions: list[EligibilityConditionInput]) -> dict[str, Any]:
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


# ---- experiences -----------------------------------------------------------------------------


@strawberry.type(description="The figures of one issuance's spared members, for one reason.")
class SuppressionCount:
    reason: Suppression
    count: int


def _counts(by_reason: dict[ec.Suppression, int]) -> list[SuppressionCount]:
    return [SuppressionCount(reason=r, count=by_reason.get(r, 0)) for r in ec.Suppression]


@strawberry.type
class IssuedInvitation:
    invitation_id: strawberry.ID
    member_id: strawberry.ID
    position: int = strawberry.field(description="In the fair order, 1 for the first.")
    channel: Channel
    deliver_after: dt.datetime | None = strawberry.field(
        description="Held for the member's quiet hours: delivered no earlier than this."
    )


@strawberry.type(description="A member the guardrails spared, with every guardrail that failed.")
class SparedMember:
    member_id: strawberry.ID
    position: int
    reasons: list[Suppression] = strawberry.field(description="The first is the one counted.")


@strawberry.type(description="What one issuance did: who was invited, who was spared and why.")
class IssuanceReport:
    id: strawberry.ID
    experience_id: strawberry.ID
    key: str
    issued_at: dt.datetime
    issued_by: str
    seed: str = strawberry.field(description="Settles the draw among equals; published.")
    order: str = strawberry.field(description="The fair order, in words.")
    candidates: int
    eligible: int
    issued: int
    held: int = strawberry.field(description="Of those issued, held for quiet hours.")
    suppressed: int
    not_reached: int = strawberry.field(description="Eligible, past the count: neither.")
    suppressed_by_reason: list[SuppressionCount] = strawberry.field(
        description="Each spared member once, by the first guardrail that failed."
    )
    suppressed_by_any_reason: list[SuppressionCount] = strawberry.field(
        description="Each spared member under every guardrail that failed."
    )
    invitations: list[IssuedInvitation]
    spared: list[SparedMember]

    @classmethod
    def of(cls, r: ec.IssuanceReport) -> IssuanceReport:
        return cls(
            id=graphql_id(r.id),
            experience_id=graphql_id(r.experience_id),
            key=r.key,
            issued_at=r.issued_at,
            issued_by=r.issued_by,
            seed=r.seed,
            order=r.order,
            candidates=r.candidates,
            eligible=r.eligible,
            issued=r.issued,
            held=r.held,
            suppressed=r.suppressed,
            not_reached=r.not_reached,
            suppressed_by_reason=_counts(r.suppressed_by_reason),
            suppressed_by_any_reason=_counts(r.suppressed_by_any_reason),
            invitations=[
                IssuedInvitation(
                    invitation_id=graphql_id(i.invitation_id),
                    member_id=graphql_id(i.member_id),
                    position=i.position,
                    channel=Channel(i.channel.value),
                    deliver_after=i.deliver_after,
                )
                for i in r.invitations
            ],
            spared=[
                SparedMember(
                    member_id=graphql_id(s.member_id), position=s.position, reasons=list(s.reasons)
                )
                for s in r.spared
            ],
        )


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
            eligibility=[_condition(c) for c in e.eligibility.conditions],
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


# ---- programme figures -----------------------------------------------------------------------


@strawberry.type(description="Invitations, attendance and the evening's pulse.")
class ExperienceFigureSet:
    invited: int
    accepted: int = strawberry.field(description="At some point (waitlist promotions included).")
    declined: int
    expired: int
    cancelled: int
    waitlisted: int
    checked_in: int
    no_shows: int = strawberry.field(description="Accepted, door closed, never checked in.")
    guests: int = strawberry.field(description="Guests of those holding seats.")
    guests_checked_in: int
    suppressions: list[SuppressionCount] = strawberry.field(
        description="Members spared, by the first guardrail that failed."
    )
    ratings: int
    promoters: int = strawberry.field(description="Ratings of 9 and 10.")
    passives: int
    detractors: int = strawberry.field(description="Ratings of 0 to 6.")
    score: Decimal | None = strawberry.field(
        description="Promoters minus detractors, in percent of ratings; null without ratings."
    )

    @classmethod
    def of(cls, f: ec.Figures) -> ExperienceFigureSet:
        return cls(
            invited=f.invited,
            accepted=f.accepted,
            declined=f.declined,
            expired=f.expired,
            cancelled=f.cancelled,
            waitlisted=f.waitlisted,
            checked_in=f.checked_in,
            no_shows=f.no_shows,
            guests=f.guests,
            guests_checked_in=f.guests_checked_in,
            suppressions=_counts(f.suppressions),
            ratings=f.ratings,
            promoters=f.promoters,
            passives=f.passives,
            detractors=f.detractors,
            score=f.score,
        )


@strawberry.type
class ExperienceFigures:
    experience_id: strawberry.ID
    venue_id: strawberry.ID
    title: str
    starts_at: dt.datetime
    figures: ExperienceFigureSet


@strawberry.type
class VenueExperienceFigures:
    venue_id: strawberry.ID
    experiences: int
    figures: ExperienceFigureSet

    @strawberry.field(description="The venue's name.")
    async def venue_name(self, info: Info) -> str | None:
        return await venue_name(info, uuid.UUID(str(self.venue_id)))


@strawberry.type(description="Experiences' figures, per venue and per experience.")
class ExperienceStats:
    venues: list[VenueExperienceFigures]
    experiences: list[ExperienceFigures] = strawberry.field(description="Newest start first.")


async def experience_stats(
    info: Info, venue_id: strawberry.ID | None, locale: str
) -> ExperienceStats:
    """``programmeStats { experiences }``: admins see every venue, staff their own (see
    ``accounts``)."""
    principal = await info.context.require(*STAFF_AND_ADMINS)
    venue = parse_uuid(venue_id, "venueId") if venue_id is not None else None
    _of_venue(principal, venue)
    try:
        found = await info.context.loyalty.experience_figures(principal.actor, venue, locale)
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    return ExperienceStats(
        venues=[
            VenueExperienceFigures(
                venue_id=graphql_id(v.venue_id),
                experiences=v.experiences,
                figures=ExperienceFigureSet.of(v.figures),
            )
            for v in found.venues
        ],
        experiences=[
            ExperienceFigures(
                experience_id=graphql_id(e.experience_id),
                venue_id=graphql_id(e.venue_id),
                title=e.title,
                starts_at=e.starts_at,
                figures=ExperienceFigureSet.of(e.figures),
            )
            for e in found.experiences
        ],
    )


# ---- expected outcomes of managing experiences and answering invitations --------------------


@strawberry.type
class ExperienceCreated:
    experience: Experience
    created: bool = strawberry.field(description="False when the key was already used.")


@strawberry.type
class ExperienceUpdated:
    experience: Experience


@strawberry.type(description="Cancelled for good; every live invitation is cancelled with it.")
class ExperienceCancelled:
    experience: Experience


@strawberry.type
class InvitationsIssued:
    report: IssuanceReport
    created: bool = strawberry.field(
        description="False when the key was already used: the first issuance's report."
    )


@strawberry.type(description="An experience with this key exists, with other content.")
class ExperienceKeyTaken(UserError):
    experience_id: strawberry.ID


@strawberry.type(
    description="The times are out of order: invitations open, close, the start, the end."
)
class InvalidSchedule(UserError):
    pass


@strawberry.type(
    description="A condition would hold for nobody (an unknown tier, 'this production' for an "
    "experience without one)."
)
class InvalidEligibility(UserError):
    errors: list[str]


@strawberry.type(description="Fewer seats than are taken already.")
class SeatsBelowTaken(UserError):
    seats_taken: int | None


@strawberry.type(
    description="The experience cannot change any more: EXPERIENCE_CANCELLED (cancelled) or "
    "EXPERIENCE_STARTED (it has started)."
)
class ExperienceClosed(UserError):
    pass


@strawberry.type(
    description="Outside the invitation window: INVITATIONS_NOT_OPEN or INVITATIONS_CLOSED."
)
class InvitationWindowClosed(UserError):
    opens_at: dt.datetime | None = strawberry.field(description="When invitations open.")


@strawberry.type(description="This issuance key was used for another request.")
class IssuanceKeyReused(UserError):
    pass


CreateExperienceResult = Annotated[
    ExperienceCreated | ExperienceKeyTaken | InvalidSchedule | InvalidEligibility,
    strawberry.union("CreateExperienceResult"),
]
UpdateExperienceResult = Annotated[
    ExperienceUpdated
    | NotFound
    | ExperienceClosed
    | InvalidSchedule
    | InvalidEligibility
    | SeatsBelowTaken,
    strawberry.union("UpdateExperienceResult"),
]
CancelExperienceResult = Annotated[
    ExperienceCancelled | NotFound | ExperienceClosed, strawberry.union("CancelExperienceResult")
]
IssueInvitationsResult = Annotated[
    InvitationsIssued | NotFound | ExperienceClosed | InvitationWindowClosed | IssuanceKeyReused,
    strawberry.union("IssueInvitationsResult"),
]


Refusal = (
    NotFound
    | ExperienceKeyTaken
    | InvalidSchedule
    | InvalidEligibility
    | SeatsBelowTaken
    | ExperienceClosed
    | InvitationWindowClosed
    | IssuanceKeyReused
)


def _refusal(problem: ServiceProblem) -> Refusal:
    """A refusal of the service as a typed outcome; anything else is a coded error."""
    code, message, details = problem.code, problem.message, problem.details
    p = ec.ExperienceProblem
    if code in (p.EXPERIENCE_NOT_FOUND, p.ISSUANCE_NOT_FOUND):
        return NotFound(message=message, code=code)
    if code == p.EXPERIENCE_KEY_TAKEN:
        experience_id = strawberry.ID(str(details.get("experience_id", "")))
        return ExperienceKeyTaken(message=message, code=code, experience_id=experience_id)
    if code == p.INVALID_SCHEDULE:
        return InvalidSchedule(message=message, code=code)
    if code == p.INVALID_ELIGIBILITY:
        errors = [str(e) for e in details.get("errors", [])] or [message]
        return InvalidEligibility(message=message, code=code, errors=errors)
    if code == p.SEATS_BELOW_TAKEN:
        taken = details.get("seats_taken")
        return SeatsBelowTaken(
            message=message, code=code, seats_taken=int(taken) if taken is not None else None
        )
    if code in (p.EXPERIENCE_CANCELLED, p.EXPERIENCE_STARTED):
        return ExperienceClosed(message=message, code=code)
    if code in (p.INVITATIONS_NOT_OPEN, p.INVITATIONS_CLOSED):
        opens_at = details.get("opens_at")
        return InvitationWindowClosed(
            message=message,
            code=code,
            opens_at=dt.datetime.fromisoformat(str(opens_at)) if opens_at else None,
        )
    if code == p.ISSUANCE_KEY_REUSED:
        return IssuanceKeyReused(message=message, code=code)
    raise unexpected(problem) from None


# ---- inputs ----------------------------------------------------------------------------------


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


def _changes(input: UpdateExperienceInput) -> dict[str, Any]:
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
        sent["eligibility"] = _eligibility(input.eligibility)
    elif input.eligibility == []:
        sent["eligibility"] = {"conditions": []}
    body = build(ec.UpdateExperience, **sent)  # checks the values; nulls are sent as such
    return {
        **body.model_dump(mode="json", exclude_unset=True),
        **{n: None for n in _CLEARABLE if n in sent and sent[n] is None},
    }


# ---- resolvers -------------------------------------------------------------------------------


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
        _of_venue(principal, venue)
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
        _of_venue(principal, venue)
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
            eligibility=_eligibility(input.eligibility),
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
            refused = _refusal(problem)
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
        changes = _changes(input)
        language = locale_code(locale)
        try:
            found = await info.context.loyalty.update_experience(
                principal.actor, experience_id, changes, language
            )
        except ServiceProblem as problem:
            refused = _refusal(problem)
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
            refused = _refusal(problem)
            if isinstance(refused, NotFound | ExperienceClosed):
                return refused
            raise unexpected(problem) from None
        return ExperienceCancelled(experience=Experience.of(found, language))

    @strawberry.mutation(
        description="Staff of the venue and admins: invite members in the fair order, within "
        "the contact guardrails; the report says who was spared and why."
    )
    async def issue_invitations(
        self, info: Info, input: IssueInvitationsInput, locale: Locale | None = None
    ) -> IssueInvitationsResult:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        experience_id = parse_uuid(input.experience_id, "experienceId")
        body = build(ec.IssueInvitations, key=input.key, count=input.count, seed=input.seed)
        try:
            report = await info.context.loyalty.issue_invitations(
                principal.actor, experience_id, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            refused = _refusal(problem)
            if isinstance(
                refused, NotFound | ExperienceClosed | InvitationWindowClosed | IssuanceKeyReused
            ):
                return refused
            raise unexpected(problem) from None
        return InvitationsIssued(report=IssuanceReport.of(report), created=report.created)
