"""The rules engine, pure: rule sets as validated immutable data, ``evaluate`` from an event to
an award that explains itself, ``describe`` in plain English and French, and the changelog."""

from __future__ import annotations

from services.loyalty.rules import words
from services.loyalty.rules.changelog import Change, check_publication, diff
from services.loyalty.rules.evaluate import (
    Award,
    AwardLine,
    Event,
    MemberContext,
    evaluate,
    in_force,
    reverse,
)
from services.loyalty.rules.model import (
    AwardSpec,
    Caps,
    Conditions,
    Fixed,
    Locale,
    Multiplier,
    PerUnit,
    Rounding,
    Rule,
    RuleSet,
    RuleSetInvalid,
    RuleSetRejected,
    TierDef,
    Trigger,
    parse_rule_set,
)


def describe(rule: Rule, locale: Locale, rule_set: RuleSet) -> str:
    """The rule in plain words, generated from its structure."""
    return words.describe(rule, rule_set, locale.value)


def describe_tier(tier: TierDef, locale: Locale) -> str:
    return words.describe_tier(tier, locale.value)


def describe_policy(rule_set: RuleSet, locale: Locale) -> list[str]:
    return words.describe_policy(rule_set, locale.value)


__all__ = [
    "Award",
    "AwardLine",
    "AwardSpec",
    "Caps",
    "Change",
    "Conditions",
    "Event",
    "Fixed",
    "Locale",
    "MemberContext",
    "Multiplier",
    "PerUnit",
    "Rounding",
    "Rule",
    "RuleSet",
    "RuleSetInvalid",
    "RuleSetRejected",
    "TierDef",
    "Trigger",
    "check_publication",
    "describe",
    "describe_policy",
    "describe_tier",
    "diff",
    "evaluate",
    "in_force",
    "parse_rule_set",
    "reverse",
]
