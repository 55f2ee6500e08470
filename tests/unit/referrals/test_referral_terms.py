"""The referral terms a rule set carries: their defaults and the bounds of each, said whole, and
the policy they make for attribution and conversion, day for day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.loyalty.referrals.model import ReferralPolicy, policy_of
from services.loyalty.rules.changelog import diff
from services.loyalty.rules.model import ReferralTerms, RuleSetInvalid, Trigger, parse_rule_set


def _rule_set(**referrals: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": 1,
        "effective_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        "rules": [],
    }
    if referrals:
        document["referrals"] = referrals
    return document


def test_a_rule_set_without_referral_terms_has_the_default_ones() -> None:
    terms = parse_rule_set(_rule_set()).referrals
    assert terms.model_dump() == {
        "attribution_window_days": 30,
        "cap": 20,
        "cap_period_days": 30,
        "consent_max_age_days": 365,
        "qualifying_triggers": frozenset(
            {Trigger.PURCHASE, Trigger.ATTENDANCE, Trigger.SUBSCRIPTION}
        ),
    }


@pytest.mark.parametrize(
    ("field", "lowest", "highest"),
    [
        ("attribution_window_days", 1, 365),
        ("cap", 1, 1000),
        ("cap_period_days", 1, 365),
        ("consent_max_age_days", 0, 3650),
    ],
)
def test_each_term_is_accepted_exactly_within_its_bounds(
    field: str, lowest: int, highest: int
) -> None:
    for value in (lowest, highest):
        assert getattr(parse_rule_set(_rule_set(**{field: value})).referrals, field) == value
    for value, said in (
        (lowest - 1, f"Input should be greater than or equal to {lowest}"),
        (highest + 1, f"Input should be less than or equal to {highest}"),
    ):
        with pytest.raises(RuleSetInvalid) as refused:
            parse_rule_set(_rule_set(**{field: value}))
        assert refused.value.errors == [f"referrals.{field}: {said}"]


def test_a_conversion_cannot_qualify_another_and_some_trigger_must() -> None:
    with pytest.raises(RuleSetInvalid) as looping:
        parse_rule_set(_rule_set(qualifying_triggers=["purchase", "referral_converted"]))
    assert looping.value.errors == ["referrals: a conversion cannot qualify another conversion"]
    with pytest.raises(RuleSetInvalid) as none:
        parse_rule_set(_rule_set(qualifying_triggers=[]))
    assert none.value.errors == [
        "referrals.qualifying_triggers: Frozenset should have at least 1 item after validation, not 0"
    ]
    terms = parse_rule_set(_rule_set(qualifying_triggers=["signup"])).referrals
    assert terms.qualifying_triggers == frozenset({Trigger.SIGNUP})


def _versions(before: dict[str, Any], after: dict[str, Any]) -> tuple[Any, Any]:
    first = parse_rule_set({**_rule_set(**before), "version": 1})
    second = parse_rule_set({**_rule_set(**after), "version": 2})
    return first, second


def test_unchanged_referral_terms_are_no_change() -> None:
    assert diff(*_versions({"cap": 5}, {"cap": 5})) == ()


@pytest.mark.parametrize(
    ("before", "after", "lowers"),
    [
        ({"attribution_window_days": 30}, {"attribution_window_days": 29}, True),
        ({"attribution_window_days": 30}, {"attribution_window_days": 31}, False),
        ({"cap": 20}, {"cap": 19}, True),
        ({"cap": 20}, {"cap": 21}, False),
        ({"cap_period_days": 30}, {"cap_period_days": 31}, True),
        ({"cap_period_days": 30}, {"cap_period_days": 29}, False),
        ({"consent_max_age_days": 365}, {"consent_max_age_days": 364}, True),
        ({"consent_max_age_days": 365}, {"consent_max_age_days": 366}, False),
        (
            {"qualifying_triggers": ["purchase", "attendance"]},
            {"qualifying_triggers": ["purchase"]},
            True,
        ),
        (
            {"qualifying_triggers": ["purchase"]},
            {"qualifying_triggers": ["purchase", "signup"]},
            False,
        ),
        ({"qualifying_triggers": ["purchase"]}, {"qualifying_triggers": ["signup"]}, True),
    ],
)
def test_stricter_referral_terms_lower_earnings_and_looser_ones_do_not(
    before: dict[str, Any], after: dict[str, Any], lowers: bool
) -> None:
    [change] = diff(*_versions(before, after))
    assert (change.kind, change.rule_key, change.lowers_earnings) == ("policy", None, lowers)


def test_a_change_of_referral_terms_says_the_new_terms_whole_in_both_languages() -> None:
    [change] = diff(
        *_versions(
            {},
            {
                "attribution_window_days": 14,
                "cap": 3,
                "cap_period_days": 7,
                "consent_max_age_days": 90,
                "qualifying_triggers": ["purchase", "attendance"],
            },
        )
    )
    assert change.summary_en == (
        "Referral terms: the person referred joins within 14 days and converts by a first event "
        "of: attendance, purchase; at most 3 referrals per member in 7 days; consent at most 90 "
        "days old."
    )
    assert change.summary_fr == (
        "Conditions de parrainage : la personne parrainée adhère dans les 14 jours et compte par "
        "un premier événement parmi : achat, venue ; au plus 3 parrainages par membre en "
        "7 jours ; consentement de 90 jours au plus."
    )


def test_every_qualifying_event_is_named_in_both_languages() -> None:
    every = ["purchase", "attendance", "subscription", "signup", "birthday"]
    [change] = diff(*_versions({}, {"qualifying_triggers": every}))
    assert "first event of: attendance, birthday, purchase, sign-up, subscription;" in (
        change.summary_en
    )
    assert "premier événement parmi : abonnement, achat, adhésion, anniversaire, venue ;" in (
        change.summary_fr
    )


def test_the_terms_become_the_policy_that_attribution_and_conversion_apply_day_for_day() -> None:
    terms = ReferralTerms(
        attribution_window_days=14,
        cap=3,
        cap_period_days=7,
        consent_max_age_days=90,
        qualifying_triggers=frozenset({Trigger.ATTENDANCE}),
    )
    assert policy_of(terms) == ReferralPolicy(
        attribution_window=timedelta(days=14),
        cap=3,
        cap_period=timedelta(days=7),
        consent_max_age=timedelta(days=90),
        qualifying_triggers=frozenset({Trigger.ATTENDANCE}),
    )


def test_a_rule_set_without_referral_terms_applies_the_default_policy() -> None:
    assert policy_of(parse_rule_set(_rule_set()).referrals) == ReferralPolicy()


def test_the_terms_at_their_lowest_bounds_make_a_policy_a_day_long_with_a_cap_of_one() -> None:
    lowest = parse_rule_set(
        _rule_set(
            attribution_window_days=1,
            cap=1,
            cap_period_days=1,
            consent_max_age_days=0,
            qualifying_triggers=["purchase"],
        )
    ).referrals
    assert policy_of(lowest) == ReferralPolicy(
        attribution_window=timedelta(days=1),
        cap=1,
        cap_period=timedelta(days=1),
        consent_max_age=timedelta(0),
        qualifying_triggers=frozenset({Trigger.PURCHASE}),
    )


def test_the_terms_at_their_highest_bounds_make_a_policy_a_year_long_with_every_trigger() -> None:
    every = frozenset(Trigger) - {Trigger.REFERRAL_CONVERTED}
    highest = parse_rule_set(
        _rule_set(
            attribution_window_days=365,
            cap=1000,
            cap_period_days=365,
            consent_max_age_days=3650,
            qualifying_triggers=sorted(every),
        )
    ).referrals
    assert policy_of(highest) == ReferralPolicy(
        attribution_window=timedelta(days=365),
        cap=1000,
        cap_period=timedelta(days=365),
        consent_max_age=timedelta(days=3650),
        qualifying_triggers=every,
    )
