"""Who may be invited to an experience: conditions in the style of the rules engine's, validated
immutable data that says in plain English and French what it requires and why a member was
chosen, generated from the conditions themselves so the words cannot drift (no I/O).

Tiers are the rule set's: a tier condition reads the ladder with ``RuleSet.tier_rank``, as the
rules' ``min_tier`` does, and names tiers as the rules' texts do. Bookings and attendance come
from the member's history (earn events naming their production). Every condition must hold; no
condition at all means every member is eligible. A condition that cannot be read (an unknown
tier, "this production" for an experience without one) holds for nobody: eligibility fails
closed, and ``problems`` reports it before an experience is saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from services.loyalty.experiences.model import MemberHistory
from services.loyalty.rules import words
from services.loyalty.rules.model import Locale, RuleSet, Slug

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ROLLING_YEAR = timedelta(days=365)


class Period(StrEnum):
    """Over which time attendance is counted. ``SEASON``: since the current season started
    (``Context.season_starts``, local midnight in the programme's time zone), until the next
    one starts. ``LAST_365_DAYS``: ``(at - 365 days, at]``. ``EVER``: all of it."""

    SEASON = "season"
    LAST_365_DAYS = "last_365_days"
    EVER = "ever"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TierAtLeast(_Frozen):
    """The member's tier is ``tier`` or higher in the programme's ladder."""

    kind: Literal["tier_at_least"] = "tier_at_least"
    tier: Slug


class BookedProduction(_Frozen):
    """The member booked the production (``None``: the experience's own)."""

    kind: Literal["booked_production"] = "booked_production"
    production_id: Reference | None = None


class AttendedProduction(_Frozen):
    """The member attended the production (``None``: the experience's own)."""

    kind: Literal["attended_production"] = "attended_production"
    production_id: Reference | None = None


class AttendedAtLeast(_Frozen):
    """The member attended at least ``count`` performances, of any production, over ``period``."""

    kind: Literal["attended_at_least"] = "attended_at_least"
    count: int = Field(ge=1, le=1000)
    period: Period = Period.SEASON


Condition = Annotated[
    TierAtLeast | BookedProduction | AttendedProduction | AttendedAtLeast,
    Field(discriminator="kind"),
]


class Eligibility(_Frozen):
    """All conditions must hold; none at all: every member is eligible."""

    conditions: tuple[Condition, ...] = Field(default=(), max_length=20)

    @model_validator(mode="after")
    def _one_tier(self) -> Eligibility:
        if sum(isinstance(c, TierAtLeast) for c in self.conditions) > 1:
            raise ValueError("at most one tier condition")
        return self


class EligibilityInvalid(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_eligibility(document: Mapping[str, Any]) -> Eligibility:
    """Validate ``{"conditions": [...]}``; ``EligibilityInvalid`` lists every problem."""
    try:
        return Eligibility.model_validate(dict(document))
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            errors.append(f"{where}: {message}" if where else message)
        raise EligibilityInvalid(errors) from None


@dataclass(frozen=True, slots=True)
class Context:
    """What conditions are read against, besides the member.

    ``rule_set``: the rule set in force (its tier ladder and its time zone, the programme's).
    ``production_id``: the experience's production, "this production". ``season_starts``: the
    month and day each season starts. ``titles``: names of productions to quote in texts
    (a production without one is quoted by its reference).
    """

    at: datetime
    rule_set: RuleSet
    production_id: str | None = None
    season_starts: tuple[int, int] = (9, 1)
    titles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        month, day = self.season_starts
        date(2001, month, day)  # a day every year has: 29 February fails here


def season(context: Context) -> tuple[datetime, datetime]:
    """``[start, end)`` of the season ``context.at`` falls in, local midnights in the
    programme's time zone."""
    zone = ZoneInfo(context.rule_set.timezone)
    month, day = context.season_starts
    local = context.at.astimezone(zone)
    year = local.year if (local.month, local.day) >= (month, day) else local.year - 1
    start = datetime.combine(date(year, month, day), time(), tzinfo=zone)
    end = datetime.combine(date(year + 1, month, day), time(), tzinfo=zone)
    return start, end


def attended_count(member: MemberHistory, period: Period, context: Context) -> int:
    """How many performances the member attended over ``period``."""
    if period is Period.EVER:
        return len(member.attendances)
    if period is Period.LAST_365_DAYS:
        since = context.at - ROLLING_YEAR
        return sum(1 for p in member.attendances if since < p.at <= context.at)
    start, end = season(context)
    return sum(1 for p in member.attendances if start <= p.at < end)


def _production(condition: BookedProduction | AttendedProduction, context: Context) -> str | None:
    return condition.production_id or context.production_id


def holds(condition: Condition, member: MemberHistory, context: Context) -> bool:
    if isinstance(condition, TierAtLeast):
        required = context.rule_set.tier_rank(condition.tier)
        return required >= 0 and context.rule_set.tier_rank(member.tier) >= required
    if isinstance(condition, BookedProduction):
        production = _production(condition, context)
        return production is not None and member.booked(production)
    if isinstance(condition, AttendedProduction):
        production = _production(condition, context)
        return production is not None and member.attended(production)
    return attended_count(member, condition.period, context) >= condition.count


def eligible(eligibility: Eligibility, member: MemberHistory, context: Context) -> bool:
    return all(holds(c, member, context) for c in eligibility.conditions)


def met(
    conditions: Sequence[Condition], member: MemberHistory, context: Context
) -> tuple[Condition, ...]:
    """The conditions the member meets, in their order."""
    return tuple(c for c in conditions if holds(c, member, context))


def problems(eligibility: Eligibility, rule_set: RuleSet, production_id: str | None) -> list[str]:
    """What would make a condition hold for nobody, in plain words."""
    out: list[str] = []
    for n, condition in enumerate(eligibility.conditions):
        if isinstance(condition, TierAtLeast) and rule_set.tier_rank(condition.tier) < 0:
            out.append(f"conditions.{n}: unknown tier {condition.tier!r}")
        if (
            isinstance(condition, BookedProduction | AttendedProduction)
            and condition.production_id is None
            and production_id is None
        ):
            out.append(f"conditions.{n}: the experience accompanies no production")
    return out


# ---- words -----------------------------------------------------------------------------------


def _tier_name(key: str, rule_set: RuleSet, lang: str) -> str:
    """The tier's name in ``lang``; an unknown tier by its key."""
    for tier in rule_set.tiers:
        if tier.key == key:
            return tier.name_en if lang == "en" else tier.name_fr
    return key


def _production_name(production_id: str | None, context: Context, lang: str) -> str:
    if production_id is None or production_id == context.production_id:
        return "this production" if lang == "en" else "ce spectacle"
    title = context.titles.get(production_id, production_id)
    return f"“{title}”" if lang == "en" else f"« {title} »"


def _performances(n: int, lang: str) -> str:
    if lang == "en":
        return f"{words.number(n, lang)} performance{'s' if n != 1 else ''}"
    return f"{words.number(n, lang)} représentation{'s' if n > 1 else ''}"


_PERIOD = {
    "en": {Period.SEASON: " this season", Period.LAST_365_DAYS: " over the last 365 days"},
    "fr": {
        Period.SEASON: " cette saison",
        Period.LAST_365_DAYS: " au cours des 365 derniers jours",
    },
}


def _join(items: Sequence[str], last: str) -> str:
    """``a, b and c``: at least one item."""
    *head, final = items
    return f"{', '.join(head)}{last}{final}" if head else final


def _requirement(condition: Condition, context: Context, lang: str) -> str:
    """What a condition asks, as a relative clause: "who booked this production"."""
    en = lang == "en"
    if isinstance(condition, BookedProduction):
        name = _production_name(condition.production_id, context, lang)
        return f"booked {name}" if en else f"ont réservé {name}"
    if isinstance(condition, AttendedProduction):
        name = _production_name(condition.production_id, context, lang)
        return f"attended {name}" if en else f"ont assisté à {name}"
    assert isinstance(condition, AttendedAtLeast)
    period = _PERIOD[lang].get(condition.period, "")
    what = _performances(condition.count, lang)
    return f"attended at least {what}{period}" if en else f"ont assisté à au moins {what}{period}"


def describe(eligibility: Eligibility, context: Context, locale: Locale) -> str:
    """Who may be invited, in plain words: "Open to members of the Gold tier and above who
    booked this production and attended at least 3 performances this season." """
    lang = locale.value
    en = lang == "en"
    tier = next((c for c in eligibility.conditions if isinstance(c, TierAtLeast)), None)
    clauses = [
        _requirement(c, context, lang)
        for c in eligibility.conditions
        if not isinstance(c, TierAtLeast)
    ]
    if tier is None and not clauses:
        return "Open to every member." if en else "Ouvert à tous les membres."
    subject = "Open to members" if en else "Ouvert aux membres"
    if tier is not None:
        name = _tier_name(tier.tier, context.rule_set, lang)
        subject += f" of the {name} tier and above" if en else f" du niveau {name} et au-delà"
    if not clauses:
        return subject + "."
    return f"{subject} {'who' if en else 'qui'} {_join(clauses, ' and ' if en else ' et ')}."


def _reason(condition: Condition, member: MemberHistory, context: Context, lang: str) -> str:
    """Why a met condition holds for the member, in the second person."""
    en = lang == "en"
    if isinstance(condition, TierAtLeast):
        assert member.tier is not None  # the condition holds
        own = _tier_name(member.tier, context.rule_set, lang)
        text = f"you are a member of the {own} tier" if en else f"vous êtes membre du niveau {own}"
        if member.tier != condition.tier:
            required = _tier_name(condition.tier, context.rule_set, lang)
            text += f" ({required} and above)" if en else f" ({required} et au-delà)"
        return text
    if isinstance(condition, BookedProduction):
        name = _production_name(condition.production_id, context, lang)
        return f"you booked {name}" if en else f"vous avez réservé {name}"
    if isinstance(condition, AttendedProduction):
        name = _production_name(condition.production_id, context, lang)
        return f"you attended {name}" if en else f"vous avez assisté à {name}"
    assert isinstance(condition, AttendedAtLeast)
    count = attended_count(member, condition.period, context)
    period = _PERIOD[lang].get(condition.period, "")
    least = words.number(condition.count, lang)
    what = _performances(count, lang)
    if en:
        return f"you attended {what}{period} (at least {least})"
    return f"vous avez assisté à {what}{period} (au moins {least})"


def why_chosen(
    conditions: Sequence[Condition], member: MemberHistory, context: Context, locale: Locale
) -> str:
    """Why the member was chosen, from the conditions they met: "This invitation is offered to
    you because you are a member of the Platinum tier (Gold and above) and you booked this
    production." """
    lang = locale.value
    en = lang == "en"
    if not conditions:
        return (
            "This experience is open to every member of the programme."
            if en
            else "Cette expérience est ouverte à tous les membres du programme."
        )
    reasons = [_reason(c, member, context, lang) for c in met(conditions, member, context)]
    if not reasons:
        return (
            "You do not meet this experience's conditions."
            if en
            else "Vous ne remplissez pas les conditions de cette expérience."
        )
    if en:
        return f"This invitation is offered to you because {_join(reasons, ' and ')}."
    return (
        "Cette invitation vous est proposée parce que "
        + _join([reasons[0], *(f"que {r}" for r in reasons[1:])], " et ")
        + "."
    )
