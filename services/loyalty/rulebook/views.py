"""The public views of the rulebook's parts, in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.loyalty import contract, rules
from services.loyalty.contract import Locale
from services.loyalty.journal.entries import both


def tier_view(tier: rules.TierDef, locale: Locale) -> contract.Tier:
    fr = locale is Locale.FR
    return contract.Tier(
        key=tier.key,
        name=tier.name_fr if fr else tier.name_en,
        threshold=tier.threshold,
        benefits=list(tier.benefits_fr if fr else tier.benefits_en),
        description=rules.describe_tier(tier, rules.Locale(locale.value)),
    )


def changes_json(changes: Sequence[rules.Change]) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.kind,
            "rule_key": c.rule_key,
            "lowers_earnings": c.lowers_earnings,
            "summary": both(c.summary_en, c.summary_fr),
        }
        for c in changes
    ]


def change_views(changes: list[dict[str, Any]], locale: Locale) -> list[contract.Change]:
    return [
        contract.Change(
            kind=c["kind"],
            rule_key=c["rule_key"],
            lowers_earnings=c["lowers_earnings"],
            summary=c["summary"][locale.value],
        )
        for c in changes
    ]
