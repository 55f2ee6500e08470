"""From an event and what is known of the member to an award: the one path that the real earn
and its preview (``simulate_earn``) both take, so the preview can never disagree with the award."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.problems import Problem
from services.loyalty import contract, rules, tiers
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.earning import queries
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import both
from services.loyalty.rulebook.book import RuleBook


def engine_event(body: contract.EarnEvent, rule_set: rules.RuleSet) -> rules.Event:
    return rules.Event(
        trigger=rules.Trigger(body.trigger.value),
        occurred_at=body.occurred_at,
        amount=body.amount,
        currency=body.currency or rule_set.currency,
        category=body.category,
        venue_id=str(body.venue_id) if body.venue_id else None,
    )


def local(rule_set: rules.RuleSet, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(rule_set.timezone))


def month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def award(
    rule_set: rules.RuleSet, body: contract.EarnEvent, context: queries.EarnContext | None
) -> rules.Award:
    """The one path from an event and what is known of the member to an award: the real earn
    and its preview both take it, so the preview can never disagree with the award."""
    event = engine_event(body, rule_set)
    if context is None:  # a preview for no one in particular
        return rules.evaluate(rule_set, event, rules.MemberContext())
    held = None
    if needs(rule_set, event).status:
        found = tiers.current_tier(
            rule_set, [tiers.StatusEntry(at, p) for at, p in context.status], event.occurred_at
        )
        held = found.key if found else None
    member = rules.MemberContext(
        tier=held,
        prior_counts=context.prior_counts,
        awarded_today=context.awarded_today,
        awarded_this_month=context.awarded_this_month,
    )
    return rules.evaluate(rule_set, event, member)


@dataclass(frozen=True, slots=True)
class Needs:
    status: bool
    capped: tuple[str, ...]
    counts: bool


def needs(rule_set: rules.RuleSet | None, event: rules.Event | contract.EarnEvent) -> Needs:
    """What the rules for this event's trigger need to know about the member."""
    if rule_set is None:
        return Needs(False, (), False)
    trigger = event.trigger.value
    relevant = [r for r in rule_set.rules if r.trigger.value == trigger]
    return Needs(
        status=bool(rule_set.tiers) and any(r.conditions.min_tier for r in relevant),
        capped=tuple(r.key for r in relevant if r.caps.per_day or r.caps.per_month),
        counts=any(r.conditions.first_of_kind for r in relevant),
    )


async def earn_context(
    conn: AsyncConnection,
    member: UUID,
    source: str,
    external_id: str,
    rule_set: rules.RuleSet | None,
    event: contract.EarnEvent,
) -> queries.EarnContext | None:
    rule_needs = needs(rule_set, event)
    at = event.occurred_at
    day = local(rule_set, at).date() if rule_set else at.date()
    window = None
    if rule_needs.status and rule_set is not None:
        horizon = timedelta(days=rule_set.tier_window_days + rule_set.tier_grace_days)
        window = (at - horizon, at)
    return await queries.earn_context(
        conn,
        member,
        source=source,
        external_id=external_id,
        status_window=window,
        capped=rule_needs.capped,
        day=day,
        month=month_bounds(day),
        counts_until=at if rule_needs.counts else None,
    )


def line_json(line: rules.AwardLine) -> dict[str, Any]:
    return {
        "rule_key": line.rule_key,
        "rule_version": line.rule_version,
        "points": line.points,
        "reason": both(line.reason_en, line.reason_fr),
        "pending_until": line.pending_until.isoformat() if line.pending_until else None,
        "counts_for_status": line.counts_for_status,
    }


def line_from_json(raw: dict[str, Any]) -> rules.AwardLine:
    return rules.AwardLine(
        rule_key=raw["rule_key"],
        rule_version=raw["rule_version"],
        points=raw["points"],
        reason_en=raw["reason"]["en"],
        reason_fr=raw["reason"]["fr"],
        pending_until=datetime.fromisoformat(raw["pending_until"])
        if raw["pending_until"]
        else None,
        counts_for_status=raw["counts_for_status"],
    )


def award_view(
    award: rules.Award, rule_set: rules.RuleSet | None, locale: Locale, occurred_at: datetime
) -> contract.Award:
    return contract.Award(
        total=award.total,
        lines=[
            contract.AwardLine(
                rule_key=line.rule_key,
                rule_version=line.rule_version,
                points=line.points,
                reason=line.reason_fr if locale is Locale.FR else line.reason_en,
                pending_until=line.pending_until,
                counts_for_status=line.counts_for_status,
            )
            for line in award.lines
        ],
        rule_version=rule_set.version if rule_set else None,
        pending=sum(
            line.points
            for line in award.lines
            if line.pending_until is not None and line.pending_until > occurred_at
        ),
    )


async def simulate_earn(
    engine: AsyncEngine, book: RuleBook, body: contract.SimulateEarn
) -> contract.Award:
    """What an event would earn, through the very code that awards it (nothing is written)."""
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        rule_set = await book.in_force(conn, body.event.occurred_at)
        if rule_set is None:
            raise Problem(
                ProblemCode.NO_RULES_IN_FORCE, "no rule set is in force at that time", status=409
            )
        context = None
        if body.member_id is not None:
            member = await journal.survivor(conn, body.member_id)
            context = await earn_context(conn, member, "", "", rule_set, body.event)
    found = award(rule_set, body.event, context)
    return award_view(found, rule_set, body.locale, body.event.occurred_at)
