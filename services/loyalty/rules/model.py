"""The rule set: validated, immutable, versioned data (no I/O)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

Slug = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9_-]+$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Benefit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Trigger(StrEnum):
    PURCHASE = "purchase"
    ATTENDANCE = "attendance"
    SUBSCRIPTION = "subscription"
    SIGNUP = "signup"
    BIRTHDAY = "birthday"
    REFERRAL_CONVERTED = "referral_converted"


class Locale(StrEnum):
    EN = "en"
    FR = "fr"


class Rounding(StrEnum):
    DOWN = "down"
    HALF_UP = "half_up"
    UP = "up"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Conditions(_Frozen):
    """All must hold for a rule to apply."""

    min_amount: Decimal | None = Field(default=None, ge=0)
    max_amount: Decimal | None = Field(default=None, ge=0)
    categories: frozenset[Slug] | None = Field(default=None, min_length=1)
    venue_ids: frozenset[str] | None = Field(default=None, min_length=1)
    min_tier: Slug | None = None
    weekdays: frozenset[Annotated[int, Field(ge=0, le=6)]] | None = Field(
        default=None, min_length=1
    )
    local_time_from: time | None = None
    local_time_before: time | None = None
    first_of_kind: bool = False
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class Fixed(_Frozen):
    kind: Literal["fixed"] = "fixed"
    points: int = Field(ge=0, le=1_000_000)


class PerUnit(_Frozen):
    kind: Literal["per_unit"] = "per_unit"
    points: int = Field(ge=1, le=10_000)
    per: Decimal = Field(gt=0, le=100_000)
    rounding: Rounding = Rounding.DOWN


class Multiplier(_Frozen):
    """Adds ``factor - 1`` times the points of the other rules that apply to the same event."""

    kind: Literal["multiplier"] = "multiplier"
    factor: Decimal = Field(gt=1, le=10)


AwardSpec = Annotated[Fixed | PerUnit | Multiplier, Field(discriminator="kind")]


class Caps(_Frozen):
    per_day: int | None = Field(default=None, ge=1)
    per_month: int | None = Field(default=None, ge=1)


class Rule(_Frozen):
    key: Slug
    title_en: Title
    title_fr: Title
    trigger: Trigger
    conditions: Conditions = Conditions()
    award: AwardSpec
    caps: Caps = Caps()
    exclusive_group: Slug | None = None
    pending_days: int = Field(default=0, ge=0, le=365)
    counts_for_status: bool = True


class TierDef(_Frozen):
    key: Slug
    name_en: Title
    name_fr: Title
    threshold: int = Field(ge=0, le=100_000_000)
    benefits_en: tuple[Benefit, ...] = ()
    benefits_fr: tuple[Benefit, ...] = ()


REFERRAL_QUALIFYING = frozenset({Trigger.PURCHASE, Trigger.ATTENDANCE, Trigger.SUBSCRIPTION})


class ReferralTerms(_Frozen):
    """The referral programme's terms: a referral holds its referee for
    ``attribution_window_days``; at most ``cap`` referrals per member over ``cap_period_days``;
    consent stated at most ``consent_max_age_days`` before; the referee converts by a first
    event of one of ``qualifying_triggers``. The referrer's reward is the rules of trigger
    ``referral_converted``; the referee's welcome, the rules of trigger ``signup`` in the
    category ``referral``."""

    attribution_window_days: int = Field(default=30, ge=1, le=365)
    cap: int = Field(default=20, ge=1, le=1000)
    cap_period_days: int = Field(default=30, ge=1, le=365)
    consent_max_age_days: int = Field(default=365, ge=0, le=3650)
    qualifying_triggers: frozenset[Trigger] = Field(default=REFERRAL_QUALIFYING, min_length=1)

    @model_validator(mode="after")
    def _no_conversion_qualifies(self) -> ReferralTerms:
        if Trigger.REFERRAL_CONVERTED in self.qualifying_triggers:
            raise ValueError("a conversion cannot qualify another conversion")
        return self


class RuleSet(_Frozen):
    version: int = Field(ge=1)
    effective_at: AwareDatetime
    timezone: str = "Europe/Paris"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    title_en: Title | None = None
    title_fr: Title | None = None
    rules: tuple[Rule, ...] = Field(max_length=200)
    tiers: tuple[TierDef, ...] = Field(default=(), max_length=20)
    tier_window_days: int = Field(default=365, ge=1, le=1095)
    tier_grace_days: int = Field(default=90, ge=0, le=365)
    expiry_months: int | None = Field(default=24, ge=1, le=120)
    reduction_notice_days: int = Field(default=30, ge=0, le=365)
    referrals: ReferralTerms = ReferralTerms()

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        problems: list[str] = []
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"unknown time zone {self.timezone!r}")
        keys = [r.key for r in self.rules]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(f"rule key {key!r} is used more than once")
        tier_keys = [t.key for t in self.tiers]
        if len(set(tier_keys)) != len(tier_keys):
            problems.append("tier keys must be unique")
        thresholds = [t.threshold for t in self.tiers]
        if any(a >= b for a, b in itertools.pairwise(thresholds)):
            problems.append("tier thresholds must be strictly ascending")
        for rule in self.rules:
            c = rule.conditions
            if c.min_tier is not None and c.min_tier not in tier_keys:
                problems.append(f"rule {rule.key!r} refers to unknown tier {c.min_tier!r}")
            if (
                c.min_amount is not None
                and c.max_amount is not None
                and c.min_amount > c.max_amount
            ):
                problems.append(f"rule {rule.key!r}: min_amount is above max_amount")
            if c.valid_from and c.valid_until and c.valid_from >= c.valid_until:
                problems.append(f"rule {rule.key!r}: valid_from must be before valid_until")
            if (
                c.local_time_from
                and c.local_time_before
                and c.local_time_from >= c.local_time_before
            ):
                problems.append(
                    f"rule {rule.key!r}: local_time_from must be before local_time_before"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def rule(self, key: str) -> Rule | None:
        return next((r for r in self.rules if r.key == key), None)

    def tier_rank(self, key: str | None) -> int:
        """The tier's position (0 = lowest); -1 for no tier."""
        for n, tier in enumerate(self.tiers):
            if tier.key == key:
                return n
        return -1


class RuleSetInvalid(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class RuleSetRejected(Exception):
    """A valid rule set that may not be published as it stands; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_rule_set(document: Mapping[str, Any]) -> RuleSet:
    """Validate a rule set document; ``RuleSetInvalid`` lists every problem in plain words."""
    try:
        return RuleSet.model_validate(dict(document))
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            errors.append(f"{where}: {message}" if where else message)
        raise RuleSetInvalid(errors) from None
