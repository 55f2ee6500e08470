"""Every rule the engine accepts reads in both languages, whole: no placeholder, no missing value,
no stray spacing, in its description and in the reasons of the lines it awards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.loyalty import rules
from services.loyalty.rules import Event, Locale, MemberContext, Trigger

START = datetime(2026, 1, 1, tzinfo=UTC)
TIERS = [
    {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 100},
    {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 500},
]
# what a rendered text must never contain: unfilled or mistyped values, doubled spaces, spaces
# before a full stop or a comma, English left in French
LEFTOVERS = re.compile(r"[{}]|None|\bnan\b|\binf\b|E\+|  | [.,]|\s$|^\s")
ENGLISH_IN_FRENCH = re.compile(r"\b(points? for|for a|a day|a month|tier|local time|and)\b")

amounts = st.integers(0, 200_000).map(lambda cents: str(Decimal(cents) / 100))
instants = st.integers(0, 400 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
awards = st.one_of(
    st.builds(lambda p: {"kind": "fixed", "points": p}, st.integers(0, 1_000_000)),
    st.builds(
        lambda p, per, r: {"kind": "per_unit", "points": p, "per": per, "rounding": r},
        st.integers(1, 10_000),
        st.sampled_from(["0.01", "0.5", "1", "2.50", "10", "1000", "99999.99"]),
        st.sampled_from(["down", "half_up", "up"]),
    ),
    st.builds(
        lambda f: {"kind": "multiplier", "factor": f},
        st.sampled_from(["1.01", "1.5", "2", "2.25", "10"]),
    ),
)


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if draw(st.booleans()):
        found["categories"] = draw(
            st.lists(
                st.sampled_from(["ticket", "cafe", "shop", "workshop"]), min_size=1, unique=True
            )
        )
    low, high = sorted(draw(st.lists(amounts, min_size=2, max_size=2)), key=Decimal)
    if draw(st.booleans()):
        found["min_amount"] = low
    if draw(st.booleans()):
        found["max_amount"] = high
    if draw(st.booleans()):
        found["venue_ids"] = draw(
            st.lists(st.sampled_from(["v1", "v2", "v3"]), min_size=1, unique=True)
        )
    if draw(st.booleans()):
        found["min_tier"] = draw(st.sampled_from(["silver", "gold"]))
    if draw(st.booleans()):
        found["weekdays"] = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    start, end = sorted(
        draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=2, max_size=2, unique=True))
    )
    clock = [f"{m // 60:02d}:{m % 60:02d}:00" for m in (start, end)]
    if draw(st.booleans()):
        found["local_time_from"] = clock[0]
    if draw(st.booleans()):
        found["local_time_before"] = clock[1]
    found["first_of_kind"] = draw(st.booleans())
    since, until = sorted(draw(st.lists(instants, min_size=2, max_size=2, unique=True)))
    if draw(st.booleans()):
        found["valid_from"] = since.isoformat()
    if draw(st.booleans()):
        found["valid_until"] = until.isoformat()
    return found


@st.composite
def rule_sets(draw: st.DrawFn) -> rules.RuleSet:
    count = draw(st.integers(1, 5))
    rule_list = [
        {
            "key": f"r{n}",
            "title_en": f"Rule {n}",
            "title_fr": f"Règle {n}",
            "trigger": draw(st.sampled_from([t.value for t in Trigger])),
            "conditions": draw(conditions()),
            "award": draw(awards),
            "caps": draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "per_day": st.integers(1, 100_000),
                        "per_month": st.integers(1, 100_000),
                    },
                )
            ),
            "exclusive_group": draw(st.one_of(st.none(), st.sampled_from(["g1", "offers"]))),
            "pending_days": draw(st.integers(0, 365)),
            "counts_for_status": draw(st.booleans()),
        }
        for n in range(count)
    ]
    return rules.parse_rule_set(
        {
            "version": draw(st.integers(1, 1000)),
            "effective_at": START.isoformat(),
            "timezone": draw(st.sampled_from(["Europe/Paris", "America/New_York", "UTC"])),
            "currency": draw(st.sampled_from(["EUR", "GBP", "USD", "CHF"])),
            "expiry_months": draw(st.one_of(st.none(), st.integers(1, 120))),
            "rules": rule_list,
            "tiers": TIERS,
        }
    )


def assert_whole(text: str, language: Locale) -> None:
    assert not LEFTOVERS.search(text), text
    if language is Locale.FR:
        assert not ENGLISH_IN_FRENCH.search(text), text


@given(rule_sets())
def test_every_accepted_rule_reads_whole_in_english_and_french(rule_set: rules.RuleSet) -> None:
    for rule in rule_set.rules:
        for language, title in ((Locale.EN, rule.title_en), (Locale.FR, rule.title_fr)):
            text = rules.describe(rule, language, rule_set)
            assert text.startswith(f"{title}: " if language is Locale.EN else f"{title} : ")
            assert text.endswith(".")
            assert_whole(text, language)
    for language in Locale:
        for sentence in rules.describe_policy(rule_set, language):
            assert_whole(sentence, language)
        for tier in rule_set.tiers:
            assert_whole(rules.describe_tier(tier, language), language)


@given(
    rule_sets(),
    st.sampled_from(list(Trigger)),
    instants,
    amounts,
    st.sampled_from(["ticket", "cafe", None]),
    st.sampled_from(["v1", "v2", None]),
    st.sampled_from([None, "silver", "gold"]),
)
def test_every_line_awarded_gives_its_reason_whole_in_both_languages(
    rule_set: rules.RuleSet,
    trigger: Trigger,
    at: datetime,
    amount: str,
    category: str | None,
    venue: str | None,
    tier: str | None,
) -> None:
    event = Event(trigger, at, Decimal(amount), rule_set.currency, category, venue)
    award = rules.evaluate(rule_set, event, MemberContext(tier=tier))
    back = rules.reverse(rule_set, event, award, Decimal(amount) / 2)
    for line in (*award.lines, *back.lines):
        assert_whole(line.reason_en, Locale.EN)
        assert_whole(line.reason_fr, Locale.FR)
        assert line.reason_en.endswith(
            ("point", "points", "points”", "point”", "(limited by the rule's cap)", "cap)”")
        )
