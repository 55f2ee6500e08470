"""The referral terms a rule set carries: their defaults and the bounds of each, said whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.loyalty.rules.model import RuleSetInvalid, Trigger, parse_rule_set


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
