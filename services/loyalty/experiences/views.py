"""From stored rows to the pure model and to the contract's answers; who may act for a venue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, NotFound
from services.loyalty import rules
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.experiences import contract, eligibility, lifecycle
from services.loyalty.experiences.contract import ExperienceProblem
from services.loyalty.experiences.model import Experience, InvitationState, Purpose
from services.loyalty.rulebook.book import RuleBook

Row = Any


def lang(locale: Locale) -> rules.Locale:
    return rules.Locale(locale.value)


def may_act_for(actor: Actor, venue_id: UUID) -> bool:
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        return True
    return actor.kind is ActorKind.STAFF and str(venue_id) in actor.venue_ids


def require_venue(actor: Actor, venue_id: UUID) -> None:
    """Staff act only for their venues; admins for every venue."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM, ActorKind.STAFF):
        raise Forbidden(ProblemCode.FORBIDDEN, "only venue staff and admins manage experiences")
    if not may_act_for(actor, venue_id):
        raise Forbidden(ProblemCode.WRONG_VENUE, "you do not work for that venue")


def venues_of(actor: Actor) -> set[UUID] | None:
    """The venues whose experiences the actor reads (``None``: all of them)."""
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        return None
    if actor.kind is ActorKind.STAFF:
        return set(actor.venue_uuids())
    raise Forbidden(ProblemCode.FORBIDDEN, "only venue staff and admins read experiences")


def missing_experience() -> NotFound:
    return NotFound(ExperienceProblem.EXPERIENCE_NOT_FOUND, "no such experience")


def model(row: Row) -> Experience:
    return Experience(
        id=row.id,
        venue_id=str(row.venue_id),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        seats=row.seats,
        offers_close_at=row.invitations_close_at,
        guest_allowance=row.guest_allowance,
        purpose=Purpose(row.purpose),
        production_id=row.production_id,
        interests=frozenset(row.interests),
        door_opens_before=timedelta(seconds=row.door_opens_before_s),
        door_closes_after=timedelta(seconds=row.door_closes_after_s),
    )


def invitation(row: Row) -> lifecycle.Invitation:
    return lifecycle.Invitation(
        id=row.id,
        member_id=row.member_id,
        state=InvitationState(row.state),
        offered_at=row.offered_at,
        guests=row.guests,
        accepted_at=row.accepted_at,
        queued_at=row.queued_at,
        closed_at=row.closed_at,
        checked_in_at=row.checked_in_at,
        checked_in_by=row.checked_in_by,
        guests_checked_in=row.guests_checked_in,
        rating=row.rating,
        rated_at=row.rated_at,
    )


def invitation_values(moved: lifecycle.Invitation) -> dict[str, Any]:
    """The columns a transition changes."""
    return {
        "state": moved.state.value,
        "guests": moved.guests,
        "accepted_at": moved.accepted_at,
        "queued_at": moved.queued_at,
        "closed_at": moved.closed_at,
        "checked_in_at": moved.checked_in_at,
        "checked_in_by": moved.checked_in_by,
        "guests_checked_in": moved.guests_checked_in,
    }


async def rule_set_at(book: RuleBook, conn: AsyncConnection, at: datetime) -> rules.RuleSet:
    """The rule set in force (its tiers and time zone); before any, an empty programme, under
    which tier conditions hold for nobody."""
    found = await book.in_force(conn, at)
    return found or rules.RuleSet(version=1, effective_at=at, rules=())


def context(row: Row, rule_set: rules.RuleSet, at: datetime) -> eligibility.Context:
    titles = {row.production_id: row.production_title} if row.production_title else {}
    return eligibility.Context(
        at=at, rule_set=rule_set, production_id=row.production_id, titles=titles
    )


def conditions(row: Row) -> eligibility.Eligibility:
    return eligibility.parse_eligibility(row.eligibility)


def texts(row: Row) -> contract.ExperienceTexts:
    return contract.ExperienceTexts(
        title_en=row.title_en,
        title_fr=row.title_fr,
        description_en=row.description_en,
        description_fr=row.description_fr,
    )


def experience(
    row: Row, rule_set: rules.RuleSet, locale: Locale, now: datetime
) -> contract.Experience:
    pure = model(row)
    fr = locale is Locale.FR
    return contract.Experience(
        id=row.id,
        key=row.key,
        venue_id=row.venue_id,
        title=row.title_fr if fr else row.title_en,
        description=row.description_fr if fr else row.description_en,
        texts=texts(row),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        seats=row.seats,
        seats_taken=row.seats_taken,
        waitlisted=row.waitlisted,
        guest_allowance=row.guest_allowance,
        production_id=row.production_id,
        production_title=row.production_title,
        eligibility=conditions(row),
        eligibility_text=eligibility.describe(
            conditions(row), context(row, rule_set, now), lang(locale)
        ),
        invitations_open_at=row.invitations_open_at,
        invitations_close_at=row.invitations_close_at,
        purpose=Purpose(row.purpose),
        interests=list(row.interests),
        door_opens_at=pure.door_opens_at,
        door_closes_at=pure.door_closes_at,
        cancelled_at=row.cancelled_at,
        cancel_reason=row.cancel_reason,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def summary(row: Row, locale: Locale) -> contract.ExperienceSummary:
    fr = locale is Locale.FR
    return contract.ExperienceSummary(
        id=row.id,
        venue_id=row.venue_id,
        title=row.title_fr if fr else row.title_en,
        description=row.description_fr if fr else row.description_en,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        guest_allowance=row.guest_allowance,
        production_id=row.production_id,
        production_title=row.production_title,
        cancelled=row.cancelled_at is not None,
    )
