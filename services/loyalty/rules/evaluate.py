"""From an event to an award: one line per contributing rule, each saying why (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from services.loyalty.rules import words
from services.loyalty.rules.model import (
    Fixed,
    Multiplier,
    PerUnit,
    Rounding,
    Rule,
    RuleSet,
    Trigger,
)

_ROUNDING = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
}


@dataclass(frozen=True, slots=True)
class Event:
    trigger: Trigger
    occurred_at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    category: str | None = None
    venue_id: str | None = None


@dataclass(frozen=True, slots=True)
class MemberContext:
    tier: str | None = None
    prior_counts: Mapping[str, int] = field(default_factory=dict)
    awarded_today: Mapping[str, int] = field(default_factory=dict)
    awarded_this_month: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AwardLine:
    rule_key: str
    rule_version: int
    points: int
    reason_en: str
    reason_fr: str
    pending_until: datetime | None
    counts_for_status: bool


@dataclass(frozen=True, slots=True)
class Award:
    total: int
    lines: tuple[AwardLine, ...]


def in_force(versions: Sequence[RuleSet], at: datetime) -> RuleSet | None:
    """The rule set in force at ``at``: the latest effective one (ties: the highest version)."""
    candidates = [v for v in versions if v.effective_at <= at]
    return max(candidates, key=lambda v: (v.effective_at, v.version), default=None)


def _amount(rule_set: RuleSet, event: Event) -> Decimal | None:
    """The event's amount, if it is in the programme's currency."""
    if event.amount is None or (event.currency not in (None, rule_set.currency)):
        return None
    return event.amount


def conditions_hold(
    rule: Rule,
    rule_set: RuleSet,
    event: Event,
    member: MemberContext,
    *,
    amount: Decimal | None = None,
) -> bool:
    if rule.trigger is not event.trigger:
        return False
    c = rule.conditions
    value = _amount(rule_set, event) if amount is None else amount
    if (c.min_amount is not None or c.max_amount is not None) and value is None:
        return False
    if c.min_amount is not None and value is not None and value < c.min_amount:
        return False
    if c.max_amount is not None and value is not None and value > c.max_amount:
        return False
    if c.categories is not None and event.category not in c.categories:
        return False
    if c.venue_ids is not None and event.venue_id not in c.venue_ids:
        return False
    if c.min_tier is not None and rule_set.tier_rank(member.tier) < rule_set.tier_rank(c.min_tier):
        return False
    if c.valid_from is not None and event.occurred_at < c.valid_from:
        return False
    if c.valid_until is not None and event.occurred_at >= c.valid_until:
        return False
    local = event.occurred_at.astimezone(ZoneInfo(rule_set.timezone))
    if c.weekdays is not None and local.weekday() not in c.weekdays:
        return False
    if c.local_time_from is not None and local.time() < c.local_time_from:
        return False
    if c.local_time_before is not None and local.time() >= c.local_time_before:
        return False
    if c.first_of_kind:
        kind = event.trigger.value
        if c.categories is not None and event.category is not None:
            kind = f"{kind}:{event.category}"
        if member.prior_counts.get(kind, 0) > 0:
            return False
    return True


def per_unit_points(award: PerUnit, amount: Decimal) -> int:
    raw = amount / award.per * award.points
    return int(raw.to_integral_value(rounding=_ROUNDING[award.rounding]))


def _base_points(rule: Rule, amount: Decimal | None) -> int | None:
    if isinstance(rule.award, Fixed):
        return rule.award.points
    if isinstance(rule.award, PerUnit):
        return None if amount is None else per_unit_points(rule.award, amount)
    return None


def _cap(rule: Rule, points: int, member: MemberContext) -> tuple[int, bool]:
    allowed = points
    if rule.caps.per_day is not None:
        allowed = min(allowed, rule.caps.per_day - member.awarded_today.get(rule.key, 0))
    if rule.caps.per_month is not None:
        allowed = min(allowed, rule.caps.per_month - member.awarded_this_month.get(rule.key, 0))
    allowed = max(allowed, 0)
    return allowed, allowed < points


def _best_per_group(candidates: list[tuple[Rule, int]]) -> list[tuple[Rule, int]]:
    """Within an exclusive group only the best line applies (the first one on a tie)."""
    best: dict[str, tuple[Rule, int]] = {}
    for rule, points in candidates:
        if rule.exclusive_group is None:
            continue
        held = best.get(rule.exclusive_group)
        if held is None or points > held[1]:
            best[rule.exclusive_group] = (rule, points)
    return [
        (rule, points)
        for rule, points in candidates
        if rule.exclusive_group is None or best[rule.exclusive_group][0] is rule
    ]


def _line(
    rule: Rule, rule_set: RuleSet, event: Event, points: int, capped: bool, base: int | None = None
) -> AwardLine:
    amount = _amount(rule_set, event)
    return AwardLine(
        rule_key=rule.key,
        rule_version=rule_set.version,
        points=points,
        reason_en=words.reason(rule, rule_set, amount, points, capped, base, "en"),
        reason_fr=words.reason(rule, rule_set, amount, points, capped, base, "fr"),
        pending_until=(
            event.occurred_at + timedelta(days=rule.pending_days) if rule.pending_days else None
        ),
        counts_for_status=rule.counts_for_status,
    )


def evaluate(rule_set: RuleSet, event: Event, member: MemberContext) -> Award:
    """What ``event`` earns the member under ``rule_set``: deterministic, never negative, caps
    respected given what the member was already awarded today and this month."""
    amount = _amount(rule_set, event)
    applicable = [r for r in rule_set.rules if conditions_hold(r, rule_set, event, member)]
    bases: list[tuple[Rule, int]] = []
    for rule in applicable:
        points = _base_points(rule, amount)
        if points:
            bases.append((rule, points))
    chosen = _best_per_group(bases)
    lines: dict[str, AwardLine] = {}
    for rule, points in chosen:
        allowed, capped = _cap(rule, points, member)
        if allowed > 0:
            lines[rule.key] = _line(rule, rule_set, event, allowed, capped)
    base_total = sum(line.points for line in lines.values())
    multipliers = [
        (rule, int((base_total * (rule.award.factor - 1)).to_integral_value(rounding=ROUND_FLOOR)))
        for rule in applicable
        if isinstance(rule.award, Multiplier)
    ]
    taken = {r.exclusive_group for r, _ in chosen if r.key in lines and r.exclusive_group}
    multipliers = [
        (r, p)
        for r, p in multipliers
        if r.exclusive_group not in taken or r.exclusive_group is None
    ]
    for rule, extra in _best_per_group(multipliers):
        allowed, capped = _cap(rule, extra, member)
        if allowed > 0:
            lines[rule.key] = _line(rule, rule_set, event, allowed, capped, base=base_total)
    ordered = tuple(lines[r.key] for r in rule_set.rules if r.key in lines)
    return Award(total=sum(line.points for line in ordered), lines=ordered)


def reverse(
    rule_set: RuleSet, event: Event, original: Award, refunded_amount: Decimal | None
) -> Award:
    """The points to take back when ``event`` is refunded, by the rule set that awarded it.

    A full refund (no amount, or the whole amount) takes back every line. A partial refund takes
    back what per-unit lines gave for the refunded part, a multiplier's share in proportion, and
    every line whose conditions no longer hold on what remains; fixed awards are kept."""
    amount = _amount(rule_set, event)
    full = refunded_amount is None or amount is None or refunded_amount >= amount
    lines: list[AwardLine] = []
    for line in original.lines:
        rule = rule_set.rule(line.rule_key)
        if full or rule is None:
            back = line.points
        else:
            # only narrows the types: a partial refund knows both amounts
            assert amount is not None and refunded_amount is not None  # pragma: no mutate
            remaining = amount - refunded_amount
            if not conditions_hold(
                rule, rule_set, event, MemberContext(), amount=remaining
            ) and not (rule.conditions.first_of_kind or rule.conditions.min_tier):
                back = line.points
            elif isinstance(rule.award, PerUnit):
                kept = per_unit_points(rule.award, remaining)
                back = max(0, line.points - kept)
            elif isinstance(rule.award, Multiplier):
                share = Decimal(line.points) * refunded_amount / amount
                back = int(share.to_integral_value(rounding=ROUND_FLOOR))
            else:
                back = 0
        back = min(max(back, 0), line.points)
        if back > 0:
            lines.append(
                AwardLine(
                    rule_key=line.rule_key,
                    rule_version=line.rule_version,
                    points=back,
                    reason_en=words.reversal_reason(line.reason_en, back, full, "en"),
                    reason_fr=words.reversal_reason(line.reason_fr, back, full, "fr"),
                    pending_until=line.pending_until,
                    counts_for_status=line.counts_for_status,
                )
            )
    return Award(total=sum(line.points for line in lines), lines=tuple(lines))
