"""Rule set documents: every problem listed in plain words, and the lookups on a valid set."""

from __future__ import annotations

from typing import Any

import pytest

from services.loyalty import rules

RULE = {
    "key": "a",
    "title_en": "A",
    "title_fr": "A",
    "trigger": "purchase",
    "award": {"kind": "fixed", "points": 1},
}


def invalid(document: dict[str, Any]) -> rules.RuleSetInvalid:
    with pytest.raises(rules.RuleSetInvalid) as caught:
        rules.parse_rule_set(document)
    return caught.value


def test_each_problem_of_a_document_is_listed_with_where_it_is() -> None:
    refused = invalid(
        {
            "version": 0,
            "effective_at": "2026-01-01T00:00:00Z",
            "currency": "eur",
            "rules": [{**RULE, "colour": "red"}],
        }
    )
    assert refused.errors == [
        "version: Input should be greater than or equal to 1",
        "currency: String should match pattern '^[A-Z]{3}$'",
        "rules.0.colour: Extra inputs are not permitted",
    ]
    assert str(refused) == "; ".join(refused.errors)


def test_inconsistencies_across_the_document_are_said_without_a_location() -> None:
    conditions = {
        "min_amount": "5",
        "max_amount": "1",
        "valid_from": "2026-02-01T00:00:00Z",
        "valid_until": "2026-02-01T00:00:00Z",
        "local_time_from": "10:00",
        "local_time_before": "09:00",
        "min_tier": "gold",
    }
    refused = invalid(
        {
            "version": 1,
            "effective_at": "2026-01-01T00:00:00Z",
            "timezone": "Mars/Olympus",
            "rules": [{**RULE, "conditions": conditions}, RULE],
        }
    )
    assert refused.errors == [
        "unknown time zone 'Mars/Olympus'; rule key 'a' is used more than once; "
        "rule 'a' refers to unknown tier 'gold'; rule 'a': min_amount is above max_amount; "
        "rule 'a': valid_from must be before valid_until; "
        "rule 'a': local_time_from must be before local_time_before"
    ]


def test_a_rejection_carries_its_code_and_message() -> None:
    rejected = rules.RuleSetRejected("RETROACTIVE", "a rule set cannot take effect in the past")
    assert (rejected.code, rejected.message, str(rejected)) == (
        "RETROACTIVE",
        "a rule set cannot take effect in the past",
        "a rule set cannot take effect in the past",
    )


def test_rules_and_tiers_are_found_by_key() -> None:
    rule_set = rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": "2026-01-01T00:00:00Z",
            "rules": [RULE, {**RULE, "key": "b"}],
            "tiers": [
                {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 1},
                {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 2},
            ],
        }
    )
    found = rule_set.rule("b")
    assert found is not None and found.key == "b"
    assert rule_set.rule("c") is None
    assert [rule_set.tier_rank(k) for k in ("silver", "gold", None, "bronze")] == [0, 1, -1, -1]
