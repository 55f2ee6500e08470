"""The rules engine by worked examples: what an event earns, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.loyalty import rules
from services.loyalty.demo_rules import demo_rule_set_document
from services.loyalty.rules import Event, Locale, MemberContext, Trigger

START = datetime(2026, 1, 1, tzinfo=UTC)
# Tuesday 3 March 2026, 14:30 in Paris (13:30 UTC)
MATINEE = datetime(2026, 3, 3, 13, 30, tzinfo=UTC)


def demo(**changes: Any) -> rules.RuleSet:
    return rules.parse_rule_set({"version": 1, **demo_rule_set_document(START), **changes})


def ticket(amount: str, at: datetime = MATINEE) -> Event:
    return Event(Trigger.PURCHASE, at, Decimal(amount), "EUR", "ticket")


def test_a_45_euro_90_ticket_earns_91_points_and_the_line_says_why() -> None:
    award = rules.evaluate(demo(), ticket("45.90"), MemberContext())
    (line,) = award.lines
    assert (award.total, line.rule_key, line.rule_version, line.points) == (91, "tickets", 1, 91)
    assert (
        line.reason_en == "Tickets (rules v1): €45.90 at 2 points per €1, rounded down: 91 points"
    )
    assert line.reason_fr.startswith("Billets (règles v1) : 45,90\u00a0€")


def test_a_gold_member_gets_the_gold_bonus_and_not_the_platinum_one() -> None:
    gold = rules.evaluate(demo(), ticket("40"), MemberContext(tier="gold"))
    assert [(ln.rule_key, ln.points) for ln in gold.lines] == [("tickets", 80), ("gold-bonus", 40)]
    platinum = rules.evaluate(demo(), ticket("40"), MemberContext(tier="platinum"))
    # the two bonuses are one exclusive group: only the best applies
    assert [(ln.rule_key, ln.points) for ln in platinum.lines] == [
        ("tickets", 80),
        ("platinum-bonus", 80),
    ]


def test_a_daily_cap_limits_what_is_left_of_it() -> None:
    award = rules.evaluate(demo(), ticket("300"), MemberContext(awarded_today={"tickets": 700}))
    assert award.total == 300
    assert "cap" in award.lines[0].reason_en
    assert (
        rules.evaluate(demo(), ticket("300"), MemberContext(awarded_today={"tickets": 1000})).total
        == 0
    )


def test_a_weekday_matinee_earns_its_bonus_but_an_evening_show_does_not() -> None:
    matinee = rules.evaluate(
        demo(), Event(Trigger.ATTENDANCE, MATINEE), MemberContext(prior_counts={"attendance": 3})
    )
    evening = rules.evaluate(
        demo(),
        Event(Trigger.ATTENDANCE, MATINEE.replace(hour=19)),
        MemberContext(prior_counts={"attendance": 3}),
    )
    sunday = rules.evaluate(
        demo(),
        Event(Trigger.ATTENDANCE, MATINEE + timedelta(days=5)),
        MemberContext(prior_counts={"attendance": 3}),
    )
    assert [ln.rule_key for ln in matinee.lines] == ["attendance", "matinee"]
    assert [ln.rule_key for ln in evening.lines] == ["attendance"]
    assert [ln.rule_key for ln in sunday.lines] == ["attendance"]


def test_local_time_follows_paris_across_the_change_to_summer_time() -> None:
    # 15:30 UTC is 16:30 in Paris in March before the change, 17:30 after it (29 March 2026)
    before = datetime(2026, 3, 27, 15, 30, tzinfo=UTC)
    after = datetime(2026, 3, 30, 15, 30, tzinfo=UTC)
    context = MemberContext(prior_counts={"attendance": 1})
    assert "matinee" in [
        ln.rule_key
        for ln in rules.evaluate(demo(), Event(Trigger.ATTENDANCE, before), context).lines
    ]
    assert "matinee" not in [
        ln.rule_key
        for ln in rules.evaluate(demo(), Event(Trigger.ATTENDANCE, after), context).lines
    ]


def test_the_first_visit_is_rewarded_once() -> None:
    first = rules.evaluate(
        demo(), Event(Trigger.ATTENDANCE, MATINEE.replace(hour=19)), MemberContext()
    )
    second = rules.evaluate(
        demo(),
        Event(Trigger.ATTENDANCE, MATINEE.replace(hour=19)),
        MemberContext(prior_counts={"attendance": 1}),
    )
    assert first.total == 120 and second.total == 20


def test_cafe_points_are_pending_for_a_week() -> None:
    award = rules.evaluate(
        demo(), Event(Trigger.PURCHASE, MATINEE, Decimal("12.40"), "EUR", "cafe"), MemberContext()
    )
    (line,) = award.lines
    assert line.points == 12 and line.pending_until == MATINEE + timedelta(days=7)
    assert line.counts_for_status is False


def test_an_amount_in_another_currency_earns_nothing_per_unit() -> None:
    assert (
        rules.evaluate(
            demo(),
            Event(Trigger.PURCHASE, MATINEE, Decimal("50"), "USD", "ticket"),
            MemberContext(),
        ).total
        == 0
    )


def test_a_partial_refund_takes_back_the_refunded_part_by_the_original_rules() -> None:
    event = ticket("45.90")
    original = rules.evaluate(demo(), event, MemberContext(tier="gold"))
    back = rules.reverse(demo(), event, original, Decimal("20"))
    assert [(ln.rule_key, ln.points) for ln in back.lines] == [("tickets", 40), ("gold-bonus", 19)]
    full = rules.reverse(demo(), event, original, None)
    assert full.total == original.total


def test_describe_renders_rules_in_plain_english_and_french() -> None:
    rule_set = demo()
    tickets = rule_set.rule("tickets")
    assert tickets is not None
    assert rules.describe(tickets, Locale.EN, rule_set) == (
        "Tickets: 2 points for every €1 spent (rounded down) for a purchase in the category ticket. "
        "At most 1,000 points a day. Counts toward your tier."
    )
    assert rules.describe(tickets, Locale.FR, rule_set) == (
        "Billets : 2 points par tranche de 1\u00a0€ dépensée (arrondi à l'inférieur) pour un achat dans la "
        "catégorie ticket. Au plus 1\u202f000 points par jour. Compte pour votre niveau."
    )
    cafe = rule_set.rule("cafe")
    assert cafe is not None and "7 days later" in rules.describe(cafe, Locale.EN, rule_set)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "rules": [
                    {
                        "key": "a",
                        "title_en": "A",
                        "title_fr": "A",
                        "trigger": "purchase",
                        "award": {"kind": "fixed", "points": 1},
                    }
                ]
                * 2
            },
            "used more than once",
        ),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        (
            {
                "tiers": [
                    {"key": "b", "name_en": "B", "name_fr": "B", "threshold": 10},
                    {"key": "a", "name_en": "A", "name_fr": "A", "threshold": 5},
                ]
            },
            "ascending",
        ),
        ({"currency": "euro"}, "currency"),
    ],
)
def test_invalid_rule_sets_are_refused_with_their_reasons(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(rules.RuleSetInvalid) as invalid:
        demo(**change)
    assert any(message in e for e in invalid.value.errors), invalid.value.errors


def test_a_rule_referring_to_an_unknown_tier_is_refused() -> None:
    document = demo_rule_set_document(START)
    document["tiers"] = []
    with pytest.raises(rules.RuleSetInvalid, match="unknown tier"):
        rules.parse_rule_set({"version": 1, **document})


def test_the_rule_set_in_force_is_the_latest_effective_one() -> None:
    v1, v2 = demo(), demo(version=2, effective_at=START + timedelta(days=30))
    assert rules.in_force([v1, v2], START + timedelta(days=29)) is v1
    assert rules.in_force([v1, v2], START + timedelta(days=30)) is v2
    assert rules.in_force([v1, v2], START - timedelta(seconds=1)) is None


def test_publishing_checks_the_version_the_date_and_the_notice_for_reductions() -> None:
    now = START + timedelta(days=10)
    previous = demo()
    lower = demo_rule_set_document(now + timedelta(days=1))
    lower["rules"][0]["award"]["points"] = 1
    with pytest.raises(rules.RuleSetRejected) as early:
        rules.check_publication(previous, rules.parse_rule_set({"version": 2, **lower}), now)
    assert early.value.code == "REDUCTION_NOT_ANNOUNCED"
    lower["effective_at"] = (now + timedelta(days=30)).isoformat()
    changes = rules.check_publication(previous, rules.parse_rule_set({"version": 2, **lower}), now)
    assert [(c.rule_key, c.lowers_earnings) for c in changes] == [("tickets", True)]
    higher = demo_rule_set_document(now)
    higher["rules"][0]["award"]["points"] = 3
    assert not any(
        c.lowers_earnings
        for c in rules.check_publication(
            previous, rules.parse_rule_set({"version": 2, **higher}), now
        )
    )
    with pytest.raises(rules.RuleSetRejected) as skipped:
        rules.check_publication(previous, rules.parse_rule_set({"version": 3, **higher}), now)
    assert skipped.value.code == "VERSION_NOT_NEXT"
    with pytest.raises(rules.RuleSetRejected) as past:
        rules.check_publication(
            previous,
            rules.parse_rule_set({"version": 2, **demo_rule_set_document(now - timedelta(days=1))}),
            now,
        )
    assert past.value.code == "RETROACTIVE"


def test_withdrawing_a_rule_or_shortening_expiry_lowers_earnings() -> None:
    now = START
    document = demo_rule_set_document(now)
    document["rules"] = document["rules"][1:]
    document["expiry_months"] = 12
    changes = rules.diff(demo(), rules.parse_rule_set({"version": 2, **document}))
    assert {(c.kind, c.rule_key) for c in changes if c.lowers_earnings} == {
        ("removed", "tickets"),
        ("policy", None),
    }
