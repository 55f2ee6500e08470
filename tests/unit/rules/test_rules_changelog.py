"""The changelog: what each kind of change says, which changes lower what members earn, and when
a version may be published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.loyalty import rules
from services.loyalty.rules import Locale

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CONDITIONS: dict[str, Any] = {
    "categories": ["ticket"],
    "min_amount": "10",
    "max_amount": "500",
    "venue_ids": ["v1"],
    "weekdays": [0, 1],
    "min_tier": "silver",
    "local_time_from": "10:00:00",
    "local_time_before": "20:00:00",
    "valid_from": "2026-01-01T00:00:00+00:00",
    "valid_until": "2027-01-01T00:00:00+00:00",
}
TIERS = [
    {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 100},
    {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 300},
]


def tickets(**changes: Any) -> dict[str, Any]:
    return {
        "key": "tickets",
        "title_en": "Tickets",
        "title_fr": "Billets",
        "trigger": "purchase",
        "conditions": CONDITIONS,
        "award": {"kind": "per_unit", "points": 2, "per": "1", "rounding": "half_up"},
        "caps": {"per_day": 100, "per_month": 1000},
        "exclusive_group": "g",
        "pending_days": 3,
        **changes,
    }


def bare(key: str, award: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title_en": key.capitalize(),
        "title_fr": f"Règle {key}",
        "trigger": "attendance",
        "award": award,
        **changes,
    }


def document(version: int = 1, **changes: Any) -> dict[str, Any]:
    return {
        "version": version,
        "effective_at": (NOW + timedelta(days=60)).isoformat(),
        "rules": [
            tickets(),
            bare("shows", {"kind": "fixed", "points": 20}),
            bare("boost", {"kind": "multiplier", "factor": "2"}),
        ],
        "tiers": TIERS,
        **changes,
    }


PREVIOUS = rules.parse_rule_set(document())


def with_rule(key: str, **changes: Any) -> rules.RuleSet:
    """The previous rule set with one rule changed."""
    doc = document(version=2)
    doc["rules"] = [{**r, **changes} if r["key"] == key else r for r in doc["rules"]]
    return rules.parse_rule_set(doc)


def with_conditions(**changes: Any) -> rules.RuleSet:
    return with_rule("tickets", conditions={**CONDITIONS, **changes})


def lowers(new: rules.RuleSet) -> list[tuple[str, str | None, bool]]:
    return [(c.kind, c.rule_key, c.lowers_earnings) for c in rules.diff(PREVIOUS, new)]


def without(name: str) -> rules.RuleSet:
    return with_rule("tickets", conditions={k: v for k, v in CONDITIONS.items() if k != name})


CHANGES = [
    # awards
    ("more points", with_rule("shows", award={"kind": "fixed", "points": 25}), "shows", False),
    ("fewer points", with_rule("shows", award={"kind": "fixed", "points": 19}), "shows", True),
    (
        "more per unit",
        with_rule(
            "tickets", award={"kind": "per_unit", "points": 3, "per": "1", "rounding": "half_up"}
        ),
        "tickets",
        False,
    ),
    (
        "finer units",
        with_rule(
            "tickets", award={"kind": "per_unit", "points": 2, "per": "0.5", "rounding": "half_up"}
        ),
        "tickets",
        False,
    ),
    (
        "coarser units at the same rate",
        with_rule(
            "tickets", award={"kind": "per_unit", "points": 4, "per": "2", "rounding": "half_up"}
        ),
        "tickets",
        True,
    ),
    (
        "a lower rate",
        with_rule("tickets", award={"kind": "per_unit", "points": 1, "per": "1", "rounding": "up"}),
        "tickets",
        True,
    ),
    (
        "rounding up",
        with_rule("tickets", award={"kind": "per_unit", "points": 2, "per": "1", "rounding": "up"}),
        "tickets",
        False,
    ),
    (
        "rounding down",
        with_rule(
            "tickets", award={"kind": "per_unit", "points": 2, "per": "1", "rounding": "down"}
        ),
        "tickets",
        True,
    ),
    (
        "a bigger factor",
        with_rule("boost", award={"kind": "multiplier", "factor": "3"}),
        "boost",
        False,
    ),
    (
        "a smaller factor",
        with_rule("boost", award={"kind": "multiplier", "factor": "1.5"}),
        "boost",
        True,
    ),
    ("the same factor", with_rule("boost", title_en="Extra boost"), "boost", False),
    (
        "from fixed to per unit",
        with_rule("shows", award={"kind": "per_unit", "points": 1, "per": "1", "rounding": "up"}),
        "shows",
        True,
    ),
    (
        "another kind of award",
        with_rule("shows", award={"kind": "multiplier", "factor": "2"}),
        "shows",
        True,
    ),
    ("another trigger", with_rule("shows", trigger="signup"), "shows", True),
    # caps
    (
        "a higher daily cap",
        with_rule("tickets", caps={"per_day": 101, "per_month": 1000}),
        "tickets",
        False,
    ),
    (
        "a lower daily cap",
        with_rule("tickets", caps={"per_day": 99, "per_month": 1000}),
        "tickets",
        True,
    ),
    ("no daily cap", with_rule("tickets", caps={"per_month": 1000}), "tickets", False),
    ("a new daily cap", with_rule("shows", caps={"per_day": 100}), "shows", True),
    (
        "a lower monthly cap",
        with_rule("tickets", caps={"per_day": 100, "per_month": 999}),
        "tickets",
        True,
    ),
    ("a new monthly cap", with_rule("shows", caps={"per_month": 100}), "shows", True),
    # conditions, one at a time
    ("a lower minimum amount", with_conditions(min_amount="5"), "tickets", False),
    ("a higher minimum amount", with_conditions(min_amount="11"), "tickets", True),
    ("no minimum amount", without("min_amount"), "tickets", False),
    ("a new minimum amount", with_rule("shows", conditions={"min_amount": "1"}), "shows", True),
    ("a higher maximum amount", with_conditions(max_amount="501"), "tickets", False),
    ("a lower maximum amount", with_conditions(max_amount="499"), "tickets", True),
    ("no maximum amount", without("max_amount"), "tickets", False),
    ("a new maximum amount", with_rule("shows", conditions={"max_amount": "1"}), "shows", True),
    ("more categories", with_conditions(categories=["ticket", "cafe"]), "tickets", False),
    ("other categories", with_conditions(categories=["cafe"]), "tickets", True),
    ("any category", without("categories"), "tickets", False),
    ("a new category", with_rule("shows", conditions={"categories": ["x"]}), "shows", True),
    ("more venues", with_conditions(venue_ids=["v1", "v2"]), "tickets", False),
    ("other venues", with_conditions(venue_ids=["v2"]), "tickets", True),
    ("more weekdays", with_conditions(weekdays=[0, 1, 2]), "tickets", False),
    ("fewer weekdays", with_conditions(weekdays=[0]), "tickets", True),
    ("any weekday", without("weekdays"), "tickets", False),
    ("a lower tier", with_rule("shows", conditions={"min_tier": "silver"}), "shows", True),
    ("a higher minimum tier", with_conditions(min_tier="gold"), "tickets", True),
    ("any tier", without("min_tier"), "tickets", False),
    ("an earlier start of day", with_conditions(local_time_from="09:59:00"), "tickets", False),
    ("a later start of day", with_conditions(local_time_from="10:01:00"), "tickets", True),
    ("no start of day", without("local_time_from"), "tickets", False),
    (
        "a new start of day",
        with_rule("shows", conditions={"local_time_from": "10:00:00"}),
        "shows",
        True,
    ),
    ("a later end of day", with_conditions(local_time_before="20:01:00"), "tickets", False),
    ("an earlier end of day", with_conditions(local_time_before="19:59:00"), "tickets", True),
    ("no end of day", without("local_time_before"), "tickets", False),
    (
        "a new end of day",
        with_rule("shows", conditions={"local_time_before": "10:00:00"}),
        "shows",
        True,
    ),
    ("the first time only", with_rule("shows", conditions={"first_of_kind": True}), "shows", True),
    (
        "an earlier start date",
        with_conditions(valid_from="2025-12-31T00:00:00+00:00"),
        "tickets",
        False,
    ),
    (
        "a later start date",
        with_conditions(valid_from="2026-01-02T00:00:00+00:00"),
        "tickets",
        True,
    ),
    ("no start date", without("valid_from"), "tickets", False),
    (
        "a new start date",
        with_rule("shows", conditions={"valid_from": "2026-01-01T00:00:00+00:00"}),
        "shows",
        True,
    ),
    (
        "a later end date",
        with_conditions(valid_until="2027-01-02T00:00:00+00:00"),
        "tickets",
        False,
    ),
    (
        "an earlier end date",
        with_conditions(valid_until="2026-12-31T00:00:00+00:00"),
        "tickets",
        True,
    ),
    ("no end date", without("valid_until"), "tickets", False),
    (
        "a new end date",
        with_rule("shows", conditions={"valid_until": "2027-01-01T00:00:00+00:00"}),
        "shows",
        True,
    ),
    # the rest of a rule
    ("a shorter pending period", with_rule("tickets", pending_days=2), "tickets", False),
    ("a longer pending period", with_rule("tickets", pending_days=4), "tickets", True),
    ("no longer counting for status", with_rule("shows", counts_for_status=False), "shows", True),
    ("out of its exclusive group", with_rule("tickets", exclusive_group=None), "tickets", False),
    ("into another exclusive group", with_rule("tickets", exclusive_group="h"), "tickets", True),
    ("into an exclusive group", with_rule("shows", exclusive_group="g"), "shows", True),
    ("a new title only", with_rule("shows", title_en="Performances"), "shows", False),
]


@pytest.mark.parametrize(
    ("new", "key", "lower"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_a_rule_change_lowers_earnings_unless_every_event_earns_at_least_as_much(
    new: rules.RuleSet, key: str, lower: bool
) -> None:
    assert lowers(new) == [("changed", key, lower)]


def test_a_higher_rate_in_finer_units_does_not_lower_earnings() -> None:
    coarse = document()
    coarse["rules"][0] = tickets(
        award={"kind": "per_unit", "points": 4, "per": "2", "rounding": "half_up"}
    )
    finer = document(version=2)
    finer["rules"][0] = tickets(
        award={"kind": "per_unit", "points": 3, "per": "1", "rounding": "half_up"}
    )
    changes = rules.diff(rules.parse_rule_set(coarse), rules.parse_rule_set(finer))
    assert [(c.rule_key, c.lowers_earnings) for c in changes] == [("tickets", False)]


def test_a_first_tier_condition_from_an_unknown_tier_counts_as_lower() -> None:
    doc = document(version=2)
    doc["tiers"] = [{**TIERS[1], "key": "or"}]
    doc["rules"][0] = tickets(conditions={**CONDITIONS, "min_tier": "or"})
    assert lowers(rules.parse_rule_set(doc))[0] == ("changed", "tickets", True)


def test_freeing_a_rule_from_its_first_time_condition_does_not_lower_earnings() -> None:
    doc = document()
    doc["rules"][1] = bare(
        "shows", {"kind": "fixed", "points": 20}, conditions={"first_of_kind": True}
    )
    first_only = rules.parse_rule_set(doc)
    freed = rules.parse_rule_set(document(version=2))
    assert [(c.rule_key, c.lowers_earnings) for c in rules.diff(first_only, freed)] == [
        ("shows", False)
    ]


def test_each_change_says_what_it_is_in_both_languages() -> None:
    doc = document(version=2)
    doc["rules"] = [
        tickets(pending_days=1),
        bare("concerts", {"kind": "fixed", "points": 1}),
        doc["rules"][2],
    ]
    new = rules.parse_rule_set(doc)
    tickets_rule, concerts, _ = new.rules
    assert [
        (c.kind, c.rule_key, c.summary_en, c.summary_fr) for c in rules.diff(PREVIOUS, new)
    ] == [
        (
            "changed",
            "tickets",
            f"Changed rule. Now: {rules.describe(tickets_rule, Locale.EN, new)}",
            f"Règle modifiée. Désormais : {rules.describe(tickets_rule, Locale.FR, new)}",
        ),
        (
            "added",
            "concerts",
            f"New rule. {rules.describe(concerts, Locale.EN, new)}",
            f"Nouvelle règle. {rules.describe(concerts, Locale.FR, new)}",
        ),
        ("removed", "shows", "Rule withdrawn: Shows.", "Règle retirée : Règle shows."),
    ]
    assert [c.lowers_earnings for c in rules.diff(PREVIOUS, new)] == [False, False, True]


def test_a_first_version_adds_every_rule() -> None:
    changes = rules.diff(None, PREVIOUS)
    assert [(c.kind, c.rule_key, c.lowers_earnings) for c in changes] == [
        ("added", "tickets", False),
        ("added", "shows", False),
        ("added", "boost", False),
    ]
    shows = PREVIOUS.rules[1]
    assert (changes[1].summary_en, changes[1].summary_fr) == (
        f"New rule. {rules.describe(shows, Locale.EN, PREVIOUS)}",
        f"Nouvelle règle. {rules.describe(shows, Locale.FR, PREVIOUS)}",
    )


def test_the_same_rules_again_change_nothing() -> None:
    assert rules.diff(PREVIOUS, rules.parse_rule_set(document(version=2))) == ()


# ---- policies --------------------------------------------------------------------------------


def policy(**changes: Any) -> list[tuple[str, bool, str, str]]:
    new = rules.parse_rule_set(document(version=2, **changes))
    return [
        (c.kind, c.lowers_earnings, c.summary_en, c.summary_fr) for c in rules.diff(PREVIOUS, new)
    ]


@pytest.mark.parametrize(
    ("before", "after", "lower"),
    [(24, 12, True), (24, 36, False), (None, 12, True), (24, None, False), (None, None, None)],
)
def test_a_shorter_life_for_points_lowers_earnings(
    before: int | None, after: int | None, lower: bool | None
) -> None:
    previous = rules.parse_rule_set(document(expiry_months=before))
    new = rules.parse_rule_set(document(version=2, expiry_months=after))
    changes = [
        (c.kind, c.lowers_earnings, c.summary_en, c.summary_fr) for c in rules.diff(previous, new)
    ]
    if lower is None:
        assert changes == []
        return
    assert changes == [
        (
            "policy",
            lower,
            rules.describe_policy(new, Locale.EN)[0],
            rules.describe_policy(new, Locale.FR)[0],
        )
    ]


@pytest.mark.parametrize(
    ("changes", "harder"),
    [
        ({"tiers": [TIERS[0], {**TIERS[1], "threshold": 301}]}, True),
        ({"tiers": [TIERS[0], {**TIERS[1], "threshold": 299}]}, False),
        ({"tiers": [TIERS[0]], "rules": [bare("shows", {"kind": "fixed", "points": 20})]}, True),
        ({"tier_window_days": 364}, True),
        ({"tier_window_days": 366}, False),
        ({"tier_grace_days": 89}, True),
        ({"tier_grace_days": 91}, False),
    ],
)
def test_harder_tiers_lower_earnings(changes: dict[str, Any], harder: bool) -> None:
    new = rules.parse_rule_set(document(version=2, **changes))
    tier_changes = [c for c in rules.diff(PREVIOUS, new) if c.kind == "policy"]
    en = "; ".join(rules.describe_tier(t, Locale.EN) for t in new.tiers)
    fr = "; ".join(rules.describe_tier(t, Locale.FR) for t in new.tiers)
    assert [(c.rule_key, c.lowers_earnings, c.summary_en, c.summary_fr) for c in tier_changes] == [
        (None, harder, f"Tiers: {en}", f"Niveaux : {fr}")
    ]


def test_dropping_every_tier_says_so() -> None:
    doc = document(version=2, tiers=[])
    doc["rules"] = [bare("shows", {"kind": "fixed", "points": 20})]
    new = rules.parse_rule_set(doc)
    (tier_change,) = [c for c in rules.diff(PREVIOUS, new) if c.kind == "policy"]
    assert (tier_change.lowers_earnings, tier_change.summary_en, tier_change.summary_fr) == (
        True,
        "Tiers: No tiers.",
        "Niveaux : Aucun niveau.",
    )


def test_a_shorter_notice_for_reductions_is_itself_a_reduction() -> None:
    assert policy(reduction_notice_days=29) == [
        (
            "policy",
            True,
            "Any change that lowers what you earn is announced at least 29 days before it takes "
            "effect.",
            "Tout changement qui réduit vos gains est annoncé au moins 29 jours avant d'entrer en "
            "vigueur.",
        )
    ]
    assert policy(reduction_notice_days=31) == []


# ---- publication -----------------------------------------------------------------------------


def publish(previous: rules.RuleSet | None, **changes: Any) -> tuple[rules.Change, ...]:
    return rules.check_publication(previous, rules.parse_rule_set(document(**changes)), NOW)


def rejected(previous: rules.RuleSet | None, **changes: Any) -> tuple[str, str]:
    with pytest.raises(rules.RuleSetRejected) as caught:
        publish(previous, **changes)
    return caught.value.code, caught.value.message


def test_versions_follow_one_another() -> None:
    assert rejected(None, version=2) == ("VERSION_NOT_NEXT", "the next version must be 1")
    assert rejected(PREVIOUS, version=1) == ("VERSION_NOT_NEXT", "the next version must be 2")
    assert rejected(PREVIOUS, version=3) == ("VERSION_NOT_NEXT", "the next version must be 2")
    assert len(publish(None, version=1)) == 3


def test_a_version_may_take_effect_up_to_a_minute_in_the_past_and_not_before_the_last() -> None:
    minute_ago = NOW - timedelta(minutes=1)
    assert publish(None, effective_at=minute_ago.isoformat()) != ()
    assert rejected(None, effective_at=(minute_ago - timedelta(microseconds=1)).isoformat()) == (
        "RETROACTIVE",
        "a rule set cannot take effect in the past",
    )
    later = rules.parse_rule_set(document(effective_at=(NOW + timedelta(days=90)).isoformat()))
    assert rejected(later, version=2) == (
        "RETROACTIVE",
        "a new version cannot take effect before the version it follows",
    )
    assert publish(later, version=2, effective_at=(NOW + timedelta(days=90)).isoformat()) == ()


def test_a_reduction_takes_effect_no_sooner_than_the_notice_after_publication() -> None:
    current = rules.parse_rule_set(document(effective_at=(NOW - timedelta(days=10)).isoformat()))
    lower = {"version": 2, "reduction_notice_days": 5}
    notice = NOW + timedelta(days=30)
    changes = publish(current, **lower, effective_at=notice.isoformat())
    assert [(c.kind, c.lowers_earnings) for c in changes] == [("policy", True)]
    assert rejected(
        current, **lower, effective_at=(notice - timedelta(microseconds=1)).isoformat()
    ) == (
        "REDUCTION_NOT_ANNOUNCED",
        "this version lowers what members earn, so it must take effect at least 30 days after "
        "publication",
    )
    # without a reduction, no notice is needed
    assert publish(current, version=2, effective_at=NOW.isoformat()) == ()
