# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The experiences' figures that ``programmeStats { experiences }`` shows (see ``accounts``)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import graphql_id, parse_uuid, unexpected, venue_name
from graphql_schema.context import Info
from graphql_schema.experiences.access import STAFF_AND_ADMINS, of_venue
from graphql_schema.experiences.report import SuppressionCount, suppression_counts
from services.loyalty.experiences import contract as ec


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
            suppressions=suppression_counts(f.suppressions),
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
    of_venue(principal, venue)
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
