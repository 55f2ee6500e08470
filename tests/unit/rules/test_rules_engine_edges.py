"""The rules engine by worked examples at its edges: conditions one at a time, multipliers and
exclusive groups together, caps on multipliers, and partial refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.loyalty import rules
from services.loyalty.rules import Event, MemberContext, Trigger

AT = datetime(2026, 3, 10, 18, tzinfo=UTC)


def rule(key: str, award: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title_en": key.capitalize(),
        "title_fr": key,
        "trigger": "purchase",
        "award": award,
        **extra,
    }


def programme(*rule_list: dict[str, Any]) -> rules.RuleSet:
    return rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": "2026-01-01T00:00:00+00:00",
            "rules": list(rule_list),
            "tiers": [{"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 10}],
        }
    )


def purchase(amount: str | None = None, **extra: Any) -> Event:
    return Event(Trigger.PURCHASE, AT, None if amount is None else Decimal(amount), "EUR", **extra)


def lines(rule_set: rules.RuleSet, event: Event, **context: Any) -> list[tuple[str, int]]:
    award = rules.evaluate(rule_set, event, MemberContext(**context))
    return [(line.rule_key, line.points) for line in award.lines]


FIXED = {"kind": "fixed", "points": 10}
PER_EURO = {"kind": "per_unit", "points": 1, "per": "1", "rounding": "down"}
DOUBLE = {"kind": "multiplier", "factor": "2"}


def test_a_bound_on_the_amount_alone_needs_an_amount() -> None:
    at_least = programme(rule("least", FIXED, conditions={"min_amount": "5"}))
    at_most = programme(rule("most", FIXED, conditions={"max_amount": "5"}))
    assert lines(at_least, purchase()) == lines(at_most, purchase()) == []
    assert lines(at_least, purchase("5")) == [("least", 10)]
    assert lines(at_least, purchase("4.99")) == []
    assert lines(at_most, purchase("5")) == [("most", 10)]
    assert lines(at_most, purchase("5.01")) == []


def test_an_amount_in_another_currency_does_not_meet_an_amount_bound() -> None:
    at_least = programme(rule("least", FIXED, conditions={"min_amount": "5"}))
    dollars = Event(Trigger.PURCHASE, AT, Decimal("50"), "USD")
    assert lines(at_least, dollars) == []
    unstated = Event(Trigger.PURCHASE, AT, Decimal("50"), None)
    assert lines(at_least, unstated) == [("least", 10)]


def test_a_venue_condition_holds_only_at_its_venues() -> None:
    venues = programme(rule("venues", FIXED, conditions={"venue_ids": ["v1", "v2"]}))
    assert lines(venues, purchase(venue_id="v2")) == [("venues", 10)]
    assert lines(venues, purchase(venue_id="v3")) == []
    assert lines(venues, purchase()) == []


def test_a_minimum_tier_holds_from_that_tier() -> None:
    gold = programme(rule("gold", FIXED, conditions={"min_tier": "gold"}))
    assert lines(gold, purchase(), tier="gold") == [("gold", 10)]
    assert lines(gold, purchase(), tier=None) == []


def test_first_of_its_kind_counts_per_category_when_the_rule_names_categories() -> None:
    first_ticket = programme(
        rule("first", FIXED, conditions={"first_of_kind": True, "categories": ["ticket"]})
    )
    first_purchase = programme(rule("first", FIXED, conditions={"first_of_kind": True}))
    ticket = purchase(category="ticket")
    assert lines(first_ticket, ticket, prior_counts={"purchase": 3}) == [("first", 10)]
    assert lines(first_ticket, ticket, prior_counts={"purchase:ticket": 1}) == []
    assert lines(first_purchase, ticket, prior_counts={"purchase:ticket": 1}) == [("first", 10)]
    assert lines(first_purchase, ticket, prior_counts={"purchase": 1}) == []
    assert lines(first_purchase, purchase(), prior_counts={"purchase": 0}) == [("first", 10)]


def test_a_line_without_a_pending_period_is_available_at_once() -> None:
    now_or_later = programme(rule("now", FIXED), rule("later", FIXED, pending_days=2))
    award = rules.evaluate(now_or_later, purchase(), MemberContext())
    assert [line.pending_until for line in award.lines] == [None, AT + timedelta(days=2)]


def test_a_monthly_cap_counts_only_the_rule_s_own_points() -> None:
    monthly = programme(rule("monthly", FIXED, caps={"per_month": 25}))
    exactly = programme(rule("exactly", FIXED, caps={"per_month": 10}))
    assert lines(exactly, purchase(), awarded_this_month={"other": 20}) == [("exactly", 10)]
    assert lines(monthly, purchase(), awarded_this_month={"monthly": 20}) == [("monthly", 5)]
    assert lines(monthly, purchase(), awarded_today={"monthly": 20}) == [("monthly", 10)]


def test_a_multiplier_doubles_even_a_single_point() -> None:
    single = programme(rule("one", {"kind": "fixed", "points": 1}), rule("double", DOUBLE))
    assert lines(single, purchase()) == [("one", 1), ("double", 1)]
    halved = programme(
        rule("one", {"kind": "fixed", "points": 1}),
        rule("half", {"kind": "multiplier", "factor": "1.5"}),
    )
    assert lines(halved, purchase()) == [("one", 1)]  # half a point extra, rounded down


def test_a_multiplier_is_left_out_when_its_group_already_gave_a_line() -> None:
    grouped = programme(
        rule("offer", FIXED, exclusive_group="offers", caps={"per_day": 10}),
        rule("double", DOUBLE, exclusive_group="offers"),
        rule("base", {"kind": "fixed", "points": 4}),
    )
    assert lines(grouped, purchase()) == [("offer", 10), ("base", 4)]
    # once the offer is capped away, the group is free for the multiplier
    assert lines(grouped, purchase(), awarded_today={"offer": 10}) == [
        ("double", 4),
        ("base", 4),
    ]


def test_a_multiplier_is_left_out_only_by_its_own_group() -> None:
    grouped = programme(
        rule("offer", FIXED, exclusive_group="offers"),
        rule("double", DOUBLE, exclusive_group="boosts"),
    )
    assert lines(grouped, purchase()) == [("offer", 10), ("double", 10)]


def test_a_capped_multiplier_says_it_was_limited() -> None:
    capped = programme(rule("base", FIXED), rule("double", DOUBLE, caps={"per_day": 3}))
    award = rules.evaluate(capped, purchase(), MemberContext())
    assert [(line.rule_key, line.points) for line in award.lines] == [("base", 10), ("double", 3)]
    assert award.lines[1].reason_en == (
        "Double (rules v1): 10 points multiplied by 2: 3 points (limited by the rule's cap)"
    )
    assert award.lines[1].reason_fr == (
        "double (règles v1) : 10 points multipliés par 2 : 3 points "
        "(limité par le plafond de la règle)"
    )


# ---- partial refunds ---------------------------------------------------------------------------


def refund(rule_set: rules.RuleSet, amount: str, refunded: str | None) -> list[tuple[str, int]]:
    event = purchase(amount)
    original = rules.evaluate(rule_set, event, MemberContext())
    back = rules.reverse(rule_set, event, original, None if refunded is None else Decimal(refunded))
    return [(line.rule_key, line.points) for line in back.lines]


def test_refunding_the_whole_amount_or_more_is_a_full_refund() -> None:
    both = programme(rule("euros", PER_EURO), rule("bonus", FIXED))
    for refunded in ("40", "40.00", "55"):
        event = purchase("40")
        original = rules.evaluate(both, event, MemberContext())
        back = rules.reverse(both, event, original, Decimal(refunded))
        assert [(line.rule_key, line.points) for line in back.lines] == [
            ("euros", 40),
            ("bonus", 10),
        ]
        assert all(line.reason_en.startswith("full refund: ") for line in back.lines)


def test_a_partial_refund_keeps_fixed_points_and_takes_back_the_refunded_units() -> None:
    both = programme(rule("euros", PER_EURO), rule("bonus", FIXED))
    assert refund(both, "40", "15.50") == [("euros", 16)]  # €24.50 left keeps 24 points
    assert refund(both, "40", "0.40") == [("euros", 1)]  # €39.60 left keeps 39
    assert refund(both, "40.40", "0.40") == []  # €40 left still earns all 40


def test_a_partial_refund_below_a_minimum_amount_takes_back_the_whole_line() -> None:
    minimum = programme(
        rule("big", FIXED, conditions={"min_amount": "30"}),
        rule("euros", PER_EURO, conditions={"min_amount": "30"}),
    )
    assert refund(minimum, "40", "10") == [("euros", 10)]  # €30 left: both still hold
    assert refund(minimum, "40", "10.01") == [("big", 10), ("euros", 40)]


def test_a_partial_refund_takes_a_multiplier_s_share_in_proportion() -> None:
    doubled = programme(rule("euros", PER_EURO), rule("double", DOUBLE))
    assert refund(doubled, "40", "10") == [("euros", 10), ("double", 10)]
    assert refund(doubled, "40", "0.50") == [("euros", 1)]  # half a point of share: none
