"""Properties of the rules engine over random rule sets and events (DESIGN.md, Rules engine)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.loyalty import rules
from services.loyalty.rules import Event, Locale, MemberContext, Trigger

START = datetime(2026, 1, 1, tzinfo=UTC)
TIERS = [
    {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 100},
    {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 500},
]
CATEGORIES = ["ticket", "cafe", "shop"]

awards = st.one_of(
    st.builds(lambda p: {"kind": "fixed", "points": p}, st.integers(0, 500)),
    st.builds(
        lambda p, per, r: {"kind": "per_unit", "points": p, "per": str(per), "rounding": r},
        st.integers(1, 10),
        st.sampled_from([Decimal("1"), Decimal("0.5"), Decimal("2"), Decimal("10")]),
        st.sampled_from(["down", "half_up", "up"]),
    ),
    st.builds(
        lambda f: {"kind": "multiplier", "factor": str(f)},
        st.sampled_from([Decimal("1.5"), Decimal("2"), Decimal("3")]),
    ),
)
conditions = st.fixed_dictionaries(
    {},
    optional={
        "categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True),
        "min_amount": st.sampled_from(["0", "10", "50"]),
        "min_tier": st.sampled_from(["silver", "gold"]),
        "weekdays": st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
        "local_time_before": st.sampled_from(["12:00:00", "17:00:00"]),
        "first_of_kind": st.booleans(),
    },
)
caps = st.fixed_dictionaries(
    {}, optional={"per_day": st.integers(1, 300), "per_month": st.integers(1, 1000)}
)


@st.composite
def rule_sets(draw: st.DrawFn) -> rules.RuleSet:
    count = draw(st.integers(1, 6))
    rule_list = [
        {
            "key": f"r{n}",
            "title_en": f"Rule {n}",
            "title_fr": f"Règle {n}",
            "trigger": draw(st.sampled_from(["purchase", "attendance"])),
            "conditions": draw(conditions),
            "award": draw(awards),
            "caps": draw(caps),
            "exclusive_group": draw(st.one_of(st.none(), st.sampled_from(["g1", "g2"]))),
            "pending_days": draw(st.integers(0, 10)),
        }
        for n in range(count)
    ]
    return rules.parse_rule_set(
        {"version": 1, "effective_at": START.isoformat(), "rules": rule_list, "tiers": TIERS}
    )


events = st.builds(
    lambda trigger, minutes, cents, category: Event(
        trigger, START + timedelta(minutes=minutes), Decimal(cents) / 100, "EUR", category
    ),
    st.sampled_from([Trigger.PURCHASE, Trigger.ATTENDANCE]),
    st.integers(0, 60 * 24 * 60),
    st.integers(0, 50_000),
    st.sampled_from([*CATEGORIES, None]),
)
contexts = st.builds(
    MemberContext,
    tier=st.sampled_from([None, "silver", "gold"]),
    prior_counts=st.dictionaries(
        st.sampled_from(["purchase", "attendance", "purchase:ticket"]), st.integers(0, 3)
    ),
)


@given(rule_sets(), events, contexts)
def test_an_award_is_deterministic_never_negative_and_its_lines_sum_to_its_total(
    rule_set: rules.RuleSet, event: Event, member: MemberContext
) -> None:
    award = rules.evaluate(rule_set, event, member)
    assert award == rules.evaluate(rule_set, event, member)
    assert award.total == sum(line.points for line in award.lines) >= 0
    assert all(line.points > 0 and line.rule_version == 1 for line in award.lines)
    assert len({line.rule_key for line in award.lines}) == len(award.lines)


@settings(max_examples=60)
@given(rule_sets(), st.lists(events, max_size=25), contexts)
def test_caps_are_never_exceeded_over_any_sequence_of_events(
    rule_set: rules.RuleSet, sequence: list[Event], member: MemberContext
) -> None:
    zone = rule_set.timezone
    by_day: dict[tuple[str, Any], int] = {}
    by_month: dict[tuple[str, Any], int] = {}
    for event in sorted(sequence, key=lambda e: e.occurred_at):
        local = event.occurred_at.astimezone(__import__("zoneinfo").ZoneInfo(zone))
        day, month = local.date(), (local.year, local.month)
        context = MemberContext(
            tier=member.tier,
            prior_counts=member.prior_counts,
            awarded_today={k: v for (k, d), v in by_day.items() if d == day},
            awarded_this_month={k: v for (k, m), v in by_month.items() if m == month},
        )
        for line in rules.evaluate(rule_set, event, context).lines:
            by_day[(line.rule_key, day)] = by_day.get((line.rule_key, day), 0) + line.points
            by_month[(line.rule_key, month)] = by_month.get((line.rule_key, month), 0) + line.points
    for rule in rule_set.rules:
        if rule.caps.per_day:
            assert all(v <= rule.caps.per_day for (k, _), v in by_day.items() if k == rule.key)
        if rule.caps.per_month:
            assert all(v <= rule.caps.per_month for (k, _), v in by_month.items() if k == rule.key)


@given(rule_sets(), events, st.integers(0, 50_000), contexts)
def test_per_unit_awards_never_fall_as_the_amount_grows(
    rule_set: rules.RuleSet, event: Event, extra_cents: int, member: MemberContext
) -> None:
    per_unit_only = rule_set.model_copy(
        update={
            "rules": tuple(
                r.model_copy(
                    update={"conditions": r.conditions.model_copy(update={"max_amount": None})}
                )
                for r in rule_set.rules
                if isinstance(r.award, rules.PerUnit)
            )
        }
    )
    assert event.amount is not None
    bigger = Event(
        event.trigger,
        event.occurred_at,
        event.amount + Decimal(extra_cents) / 100,
        "EUR",
        event.category,
    )
    small = rules.evaluate(per_unit_only, event, member)
    large = rules.evaluate(per_unit_only, bigger, member)
    assert large.total >= small.total
    grouped = {r.key for r in per_unit_only.rules if r.exclusive_group}
    for line in small.lines:
        if line.rule_key not in grouped:
            matching = [other.points for other in large.lines if other.rule_key == line.rule_key]
            assert matching and matching[0] >= line.points


@given(rule_sets(), events, contexts, st.integers(0, 60_000))
def test_a_reversal_never_takes_back_more_than_was_awarded(
    rule_set: rules.RuleSet, event: Event, member: MemberContext, refund_cents: int
) -> None:
    original = rules.evaluate(rule_set, event, member)
    back = rules.reverse(rule_set, event, original, Decimal(refund_cents) / 100)
    awarded = {line.rule_key: line.points for line in original.lines}
    assert all(0 < line.points <= awarded[line.rule_key] for line in back.lines)
    assert rules.reverse(rule_set, event, original, None).total == original.total


@given(rule_sets())
def test_every_rule_can_be_described_in_both_languages_and_round_trips(
    rule_set: rules.RuleSet,
) -> None:
    for rule in rule_set.rules:
        for locale in (Locale.EN, Locale.FR):
            text = rules.describe(rule, locale, rule_set)
            assert text.startswith(rule.title_en if locale is Locale.EN else rule.title_fr)
    assert rules.parse_rule_set(rule_set.model_dump(mode="json")) == rule_set


def test_local_time_conditions_use_the_programme_time_zone() -> None:
    rule_set = rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": START.isoformat(),
            "rules": [
                {
                    "key": "morning",
                    "title_en": "Morning",
                    "title_fr": "Matin",
                    "trigger": "attendance",
                    "conditions": {"local_time_before": time(12).isoformat()},
                    "award": {"kind": "fixed", "points": 5},
                }
            ],
        }
    )
    # 11:30 UTC is 12:30 in Paris in winter: not a morning there
    assert (
        rules.evaluate(
            rule_set, Event(Trigger.ATTENDANCE, START.replace(hour=11, minute=30)), MemberContext()
        ).total
        == 0
    )
    assert (
        rules.evaluate(
            rule_set, Event(Trigger.ATTENDANCE, START.replace(hour=10, minute=30)), MemberContext()
        ).total
        == 5
    )
