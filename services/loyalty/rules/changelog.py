"""What changed between two versions of the rules, and whether it may be published (no I/O).

A change that lowers what members earn must be announced ahead: its version may only take
effect ``reduction_notice_days`` after publication. When it is unclear whether a change lowers
earnings, it is treated as if it did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services.loyalty.rules import words
from services.loyalty.rules.model import (
    Conditions,
    Fixed,
    Multiplier,
    PerUnit,
    Rounding,
    Rule,
    RuleSet,
    RuleSetRejected,
    Trigger,
)

RETROACTIVE_TOLERANCE = timedelta(minutes=1)
_ROUNDING_RANK = {Rounding.DOWN: 0, Rounding.HALF_UP: 1, Rounding.UP: 2}


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # added | removed | changed | policy
    rule_key: str | None
    lowers_earnings: bool
    summary_en: str
    summary_fr: str


def _award_not_lower(old: Rule, new: Rule) -> bool:
    a, b = old.award, new.award
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        return b.points >= a.points
    if isinstance(a, PerUnit) and isinstance(b, PerUnit):
        return (
            Decimal(b.points) / b.per >= Decimal(a.points) / a.per
            and _ROUNDING_RANK[b.rounding] >= _ROUNDING_RANK[a.rounding]
            and b.per <= a.per
        )
    if isinstance(a, Multiplier) and isinstance(b, Multiplier):
        return b.factor >= a.factor
    return False


def _cap_not_lower(old: int | None, new: int | None) -> bool:
    return new is None or (old is not None and new >= old)


def _broader(old: Conditions, new: Conditions, rule_set_new: RuleSet) -> bool:
    """Whether every event the old conditions accept, the new ones accept too."""
    tiers = [t.key for t in rule_set_new.tiers]

    def wider_set(
        a: frozenset[str] | frozenset[int] | None, b: frozenset[str] | frozenset[int] | None
    ) -> bool:
        return b is None or (a is not None and set(a) <= set(b))

    return bool(
        (
            new.min_amount is None
            or (old.min_amount is not None and new.min_amount <= old.min_amount)
        )
        and (
            new.max_amount is None
            or (old.max_amount is not None and new.max_amount >= old.max_amount)
        )
        and wider_set(old.categories, new.categories)
        and wider_set(old.venue_ids, new.venue_ids)
        and wider_set(old.weekdays, new.weekdays)
        and (
            new.min_tier is None
            or (old.min_tier in tiers and tiers.index(new.min_tier) <= tiers.index(old.min_tier))
        )
        and (
            new.local_time_from is None
            or (old.local_time_from is not None and new.local_time_from <= old.local_time_from)
        )
        and (
            new.local_time_before is None
            or (
                old.local_time_before is not None and new.local_time_before >= old.local_time_before
            )
        )
        and (not new.first_of_kind or old.first_of_kind)
        and (
            new.valid_from is None
            or (old.valid_from is not None and new.valid_from <= old.valid_from)
        )
        and (
            new.valid_until is None
            or (old.valid_until is not None and new.valid_until >= old.valid_until)
        )
    )


def _rule_lowered(old: Rule, new: Rule, current: RuleSet) -> bool:
    return not (
        old.trigger is new.trigger
        and _award_not_lower(old, new)
        and _cap_not_lower(old.caps.per_day, new.caps.per_day)
        and _cap_not_lower(old.caps.per_month, new.caps.per_month)
        and _broader(old.conditions, new.conditions, current)
        and new.pending_days <= old.pending_days
        and (new.counts_for_status or not old.counts_for_status)
        and (new.exclusive_group is None or new.exclusive_group == old.exclusive_group)
    )


def _life(expiry_months: int | None) -> float:
    """How long points live, in months (for ever without expiry)."""
    return math.inf if expiry_months is None else expiry_months


_EVENT_EN = {
    Trigger.PURCHASE: "purchase",
    Trigger.ATTENDANCE: "attendance",
    Trigger.SUBSCRIPTION: "subscription",
    Trigger.SIGNUP: "sign-up",
    Trigger.BIRTHDAY: "birthday",
}
_EVENT_FR = {
    Trigger.PURCHASE: "achat",
    Trigger.ATTENDANCE: "venue",
    Trigger.SUBSCRIPTION: "abonnement",
    Trigger.SIGNUP: "adhésion",
    Trigger.BIRTHDAY: "anniversaire",
}


def _referral_terms(previous: RuleSet, new: RuleSet) -> list[Change]:
    """A change of the referral terms; stricter in any way (a shorter window or consent, a
    lower cap, a longer cap period, a trigger that no longer qualifies) lowers earnings."""
    a, b = previous.referrals, new.referrals
    if a == b:
        return []
    stricter = (
        b.attribution_window_days < a.attribution_window_days
        or b.cap < a.cap
        or b.cap_period_days > a.cap_period_days
        or b.consent_max_age_days < a.consent_max_age_days
        or not b.qualifying_triggers >= a.qualifying_triggers
    )
    en_triggers = ", ".join(sorted(_EVENT_EN[t] for t in b.qualifying_triggers))
    fr_triggers = ", ".join(sorted(_EVENT_FR[t] for t in b.qualifying_triggers))
    en = (
        f"Referral terms: the person referred joins within {b.attribution_window_days} days "
        f"and converts by a first event of: {en_triggers}; at most {b.cap} referrals per member "
        f"in {b.cap_period_days} days; consent at most {b.consent_max_age_days} days old."
    )
    fr = (
        f"Conditions de parrainage : la personne parrainée adhère dans les "
        f"{b.attribution_window_days} jours et compte par un premier événement parmi : "
        f"{fr_triggers} ; au plus {b.cap} parrainages par membre en {b.cap_period_days} jours ; "
        f"consentement de {b.consent_max_age_days} jours au plus."
    )
    return [Change("policy", None, stricter, en, fr)]


def _policy_changes(previous: RuleSet, new: RuleSet) -> list[Change]:
    changes: list[Change] = _referral_terms(previous, new)
    before, after = _life(previous.expiry_months), _life(new.expiry_months)
    shorter, longer = after < before, after > before
    if shorter or longer:
        changes.append(
            Change(
                "policy",
                None,
                shorter,
                words.describe_policy(new, "en")[0],
                words.describe_policy(new, "fr")[0],
            )
        )
    old_tiers = {t.key: t.threshold for t in previous.tiers}
    new_tiers = {t.key: t.threshold for t in new.tiers}
    if old_tiers != new_tiers or (previous.tier_window_days, previous.tier_grace_days) != (
        new.tier_window_days,
        new.tier_grace_days,
    ):
        harder = (
            any(k not in new_tiers or new_tiers[k] > v for k, v in old_tiers.items())
            or new.tier_window_days < previous.tier_window_days
            or new.tier_grace_days < previous.tier_grace_days
        )
        en = "; ".join(words.describe_tier(t, "en") for t in new.tiers) or "No tiers."
        fr = "; ".join(words.describe_tier(t, "fr") for t in new.tiers) or "Aucun niveau."
        changes.append(Change("policy", None, harder, f"Tiers: {en}", f"Niveaux : {fr}"))
    if new.reduction_notice_days < previous.reduction_notice_days:
        changes.append(
            Change(
                "policy",
                None,
                True,
                words.describe_policy(new, "en")[-1],
                words.describe_policy(new, "fr")[-1],
            )
        )
    return changes


def diff(previous: RuleSet | None, new: RuleSet) -> tuple[Change, ...]:
    if previous is None:
        return tuple(
            Change(
                "added",
                r.key,
                False,
                f"New rule. {words.describe(r, new, 'en')}",
                f"Nouvelle règle. {words.describe(r, new, 'fr')}",
            )
            for r in new.rules
        )
    changes: list[Change] = []
    old_rules = {r.key: r for r in previous.rules}
    new_rules = {r.key: r for r in new.rules}
    for rule in new.rules:
        old = old_rules.get(rule.key)
        if old is None:
            changes.append(
                Change(
                    "added",
                    rule.key,
                    False,
                    f"New rule. {words.describe(rule, new, 'en')}",
                    f"Nouvelle règle. {words.describe(rule, new, 'fr')}",
                )
            )
        elif old != rule:
            lowers = _rule_lowered(old, rule, new)
            changes.append(
                Change(
                    "changed",
                    rule.key,
                    lowers,
                    f"Changed rule. Now: {words.describe(rule, new, 'en')}",
                    f"Règle modifiée. Désormais : {words.describe(rule, new, 'fr')}",
                )
            )
    for rule in previous.rules:
        if rule.key not in new_rules:
            changes.append(
                Change(
                    "removed",
                    rule.key,
                    True,
                    f"Rule withdrawn: {rule.title_en}.",
                    f"Règle retirée : {rule.title_fr}.",
                )
            )
    changes.extend(_policy_changes(previous, new))
    return tuple(changes)


def check_publication(previous: RuleSet | None, new: RuleSet, now: datetime) -> tuple[Change, ...]:
    """The changes ``new`` brings, or ``RuleSetRejected`` when it may not be published."""
    expected = previous.version + 1 if previous else 1
    if new.version != expected:
        raise RuleSetRejected("VERSION_NOT_NEXT", f"the next version must be {expected}")
    if new.effective_at < now - RETROACTIVE_TOLERANCE:
        raise RuleSetRejected("RETROACTIVE", "a rule set cannot take effect in the past")
    if previous is not None and new.effective_at < previous.effective_at:
        raise RuleSetRejected(
            "RETROACTIVE", "a new version cannot take effect before the version it follows"
        )
    changes = diff(previous, new)
    if previous is not None and any(c.lowers_earnings for c in changes):
        notice = timedelta(days=previous.reduction_notice_days)
        if new.effective_at < now + notice:
            raise RuleSetRejected(
                "REDUCTION_NOT_ANNOUNCED",
                f"this version lowers what members earn, so it must take effect at least "
                f"{previous.reduction_notice_days} days after publication",
            )
    return changes
