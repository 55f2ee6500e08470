"""Eligibility by worked examples: conditions read against a member's history, what they say in
English and French, and why a member was chosen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.loyalty import rules
from services.loyalty.experiences import eligibility
from services.loyalty.experiences.eligibility import (
    AttendedAtLeast,
    AttendedProduction,
    BookedProduction,
    Context,
    Eligibility,
    EligibilityInvalid,
    Period,
    TierAtLeast,
)
from services.loyalty.experiences.model import MemberHistory, Performance
from services.loyalty.rules import Locale

RULES = rules.parse_rule_set(
    {
        "version": 1,
        "effective_at": "2025-01-01T00:00:00+00:00",
        "rules": [],
        "tiers": [
            {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 500},
            {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 1500},
            {"key": "platinum", "name_en": "Platinum", "name_fr": "Platine", "threshold": 4000},
        ],
    }
)
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
CONTEXT = Context(at=NOW, rule_set=RULES, production_id="tosca", titles={"aida": "Aida"})
# The season started on 1 September 2025 at midnight in Paris: 31 August 22:00 UTC
SEASON_START = datetime(2025, 8, 31, 22, 0, tzinfo=UTC)
MEMBER = UUID(int=7)


def member(
    tier: str | None = None,
    booked: tuple[str, ...] = (),
    attended: tuple[datetime, ...] = (),
    attended_productions: tuple[str, ...] = (),
) -> MemberHistory:
    return MemberHistory(
        MEMBER,
        tier=tier,
        bookings=tuple(Performance(NOW - timedelta(days=20), p) for p in booked),
        attendances=(
            *(Performance(at) for at in attended),
            *(Performance(NOW - timedelta(days=10), p) for p in attended_productions),
        ),
    )


def holds(condition: eligibility.Condition, history: MemberHistory) -> bool:
    return eligibility.holds(condition, history, CONTEXT)


# ---- the document ----------------------------------------------------------------------------


def test_a_document_of_conditions_is_parsed_into_immutable_conditions() -> None:
    parsed = eligibility.parse_eligibility(
        {
            "conditions": [
                {"kind": "tier_at_least", "tier": "gold"},
                {"kind": "booked_production"},
                {"kind": "attended_at_least", "count": 3},
            ]
        }
    )
    assert parsed == Eligibility(
        conditions=(
            TierAtLeast(tier="gold"),
            BookedProduction(),
            AttendedAtLeast(count=3, period=Period.SEASON),
        )
    )


def test_every_problem_of_a_document_is_listed() -> None:
    with pytest.raises(EligibilityInvalid) as caught:
        eligibility.parse_eligibility(
            {
                "conditions": [
                    {"kind": "attended_at_least", "count": 0},
                    {"kind": "born_on_a_sunday"},
                ]
            }
        )
    assert caught.value.errors == [
        "conditions.0.attended_at_least.count: Input should be greater than or equal to 1",
        "conditions.1: Input tag 'born_on_a_sunday' found using 'kind' does not match any of "
        "the expected tags: 'tier_at_least', 'booked_production', 'attended_production', "
        "'attended_at_least'",
    ]
    assert str(caught.value) == "; ".join(caught.value.errors)


def test_two_tier_conditions_are_refused() -> None:
    with pytest.raises(EligibilityInvalid) as caught:
        eligibility.parse_eligibility(
            {
                "conditions": [
                    {"kind": "tier_at_least", "tier": "gold"},
                    {"kind": "tier_at_least", "tier": "silver"},
                ]
            }
        )
    assert caught.value.errors == ["at most one tier condition"]
    assert str(caught.value) == "at most one tier condition"


def test_conditions_that_would_hold_for_nobody_are_reported_before_saving() -> None:
    doubtful = Eligibility(
        conditions=(TierAtLeast(tier="diamond"), BookedProduction(), AttendedProduction())
    )
    assert eligibility.problems(doubtful, RULES, None) == [
        "conditions.0: unknown tier 'diamond'",
        "conditions.1: the experience accompanies no production",
        "conditions.2: the experience accompanies no production",
    ]
    assert eligibility.problems(doubtful, RULES, "tosca") == [
        "conditions.0: unknown tier 'diamond'"
    ]
    lowest = Eligibility(
        conditions=(TierAtLeast(tier="silver"), BookedProduction(production_id="aida"))
    )
    assert eligibility.problems(lowest, RULES, None) == []


# ---- reading the conditions ------------------------------------------------------------------


def test_a_tier_condition_holds_at_that_tier_and_above() -> None:
    gold = TierAtLeast(tier="gold")
    assert [holds(gold, member(t)) for t in (None, "silver", "gold", "platinum")] == [
        False,
        False,
        True,
        True,
    ]


def test_the_lowest_tier_holds_for_its_members_and_not_for_members_without_one() -> None:
    silver = TierAtLeast(tier="silver")
    assert (holds(silver, member("silver")), holds(silver, member(None))) == (True, False)


def test_an_unknown_tier_holds_for_nobody() -> None:
    assert holds(TierAtLeast(tier="diamond"), member("platinum")) is False


def test_booked_this_production_reads_the_experiences_production() -> None:
    assert holds(BookedProduction(), member(booked=("tosca",))) is True
    assert holds(BookedProduction(), member(booked=("aida",))) is False
    assert holds(BookedProduction(production_id="aida"), member(booked=("aida",))) is True


def test_this_production_holds_for_nobody_when_there_is_none() -> None:
    bare = Context(at=NOW, rule_set=RULES)
    fan = member(booked=("tosca",), attended_productions=("tosca",))
    assert eligibility.holds(BookedProduction(), fan, bare) is False
    assert eligibility.holds(AttendedProduction(), fan, bare) is False


def test_attended_this_production_needs_an_attendance_not_a_booking() -> None:
    assert holds(AttendedProduction(), member(booked=("tosca",))) is False
    assert holds(AttendedProduction(), member(attended_productions=("tosca",))) is True


def test_the_season_starts_at_local_midnight_on_its_first_day() -> None:
    assert eligibility.season(CONTEXT) == (SEASON_START, datetime(2026, 8, 31, 22, tzinfo=UTC))
    three = AttendedAtLeast(count=3)
    on_time = (SEASON_START, NOW - timedelta(days=40), NOW - timedelta(days=1))
    assert holds(three, member(attended=on_time)) is True
    just_before = (SEASON_START - timedelta(microseconds=1), *on_time[1:])
    assert holds(three, member(attended=just_before)) is False


def test_the_next_season_starts_the_instant_this_one_ends() -> None:
    end = datetime(2026, 8, 31, 22, tzinfo=UTC)
    one = AttendedAtLeast(count=1)
    assert holds(one, member(attended=(end,))) is False
    assert holds(one, member(attended=(end - timedelta(microseconds=1),))) is True


def test_before_its_first_day_the_season_is_the_previous_one() -> None:
    august = Context(at=datetime(2026, 8, 31, 21, 59, tzinfo=UTC), rule_set=RULES)
    september = Context(at=datetime(2026, 8, 31, 22, 0, tzinfo=UTC), rule_set=RULES)
    assert eligibility.season(august)[0] == SEASON_START
    assert eligibility.season(september)[0] == datetime(2026, 8, 31, 22, tzinfo=UTC)


def test_exactly_the_count_is_enough_and_one_less_is_not() -> None:
    dates = tuple(NOW - timedelta(days=d) for d in (1, 2, 3))
    assert holds(AttendedAtLeast(count=3), member(attended=dates)) is True
    assert holds(AttendedAtLeast(count=4), member(attended=dates)) is False


def test_the_last_365_days_leave_out_an_attendance_exactly_365_days_old() -> None:
    last_year = AttendedAtLeast(count=2, period=Period.LAST_365_DAYS)
    assert holds(last_year, member(attended=(NOW - timedelta(days=365), NOW))) is False
    assert holds(last_year, member(attended=(NOW - timedelta(days=364), NOW))) is True


def test_ever_counts_every_attendance() -> None:
    ever = AttendedAtLeast(count=2, period=Period.EVER)
    assert holds(ever, member(attended=(datetime(2001, 1, 1, tzinfo=UTC), NOW))) is True


def test_eligible_means_every_condition_holds_and_none_means_everyone() -> None:
    rules_ = Eligibility(conditions=(TierAtLeast(tier="gold"), BookedProduction()))
    assert eligibility.eligible(rules_, member("gold", booked=("tosca",)), CONTEXT) is True
    assert eligibility.eligible(rules_, member("gold"), CONTEXT) is False
    assert eligibility.eligible(Eligibility(), member(), CONTEXT) is True


def test_a_season_must_start_on_a_day_every_year_has() -> None:
    with pytest.raises(ValueError, match=r"^day is out of range for month$"):
        Context(at=NOW, rule_set=RULES, season_starts=(2, 29))
    with pytest.raises(ValueError, match=r"^at must be timezone-aware$"):
        Context(at=NOW.replace(tzinfo=None), rule_set=RULES)


# ---- words -----------------------------------------------------------------------------------

FULL = Eligibility(
    conditions=(
        TierAtLeast(tier="gold"),
        BookedProduction(),
        AttendedAtLeast(count=3, period=Period.SEASON),
    )
)


def test_who_may_be_invited_is_said_in_english_and_french() -> None:
    assert eligibility.describe(FULL, CONTEXT, Locale.EN) == (
        "Open to members of the Gold tier and above who booked this production and attended "
        "at least 3 performances this season."
    )
    assert eligibility.describe(FULL, CONTEXT, Locale.FR) == (
        "Ouvert aux membres du niveau Or et au-delà qui ont réservé ce spectacle et ont assisté "
        "à au moins 3 représentations cette saison."
    )


def test_short_descriptions_read_naturally() -> None:
    tier_only = Eligibility(conditions=(TierAtLeast(tier="silver"),))
    other = Eligibility(
        conditions=(
            AttendedProduction(production_id="aida"),
            AttendedAtLeast(count=1, period=Period.LAST_365_DAYS),
            BookedProduction(production_id="carmen"),
        )
    )
    assert [
        eligibility.describe(e, CONTEXT, Locale.EN) for e in (Eligibility(), tier_only, other)
    ] == [
        "Open to every member.",
        "Open to members of the Silver tier and above.",
        "Open to members who attended “Aida”, attended at least 1 performance over the last 365 "
        "days and booked “carmen”.",
    ]
    assert [
        eligibility.describe(e, CONTEXT, Locale.FR) for e in (Eligibility(), tier_only, other)
    ] == [
        "Ouvert à tous les membres.",
        "Ouvert aux membres du niveau Argent et au-delà.",
        "Ouvert aux membres qui ont assisté à « Aida », ont assisté à au moins 1 représentation "
        "au cours des 365 derniers jours et ont réservé « carmen ».",
    ]


def test_why_a_member_was_chosen_is_said_from_the_conditions_they_met() -> None:
    fan = member(
        "platinum",
        booked=("tosca",),
        attended=tuple(NOW - timedelta(days=d) for d in (1, 8, 15, 22)),
    )
    assert eligibility.why_chosen(FULL.conditions, fan, CONTEXT, Locale.EN) == (
        "This invitation is offered to you because you are a member of the Platinum tier "
        "(Gold and above), you booked this production and you attended 4 performances this "
        "season (at least 3)."
    )
    assert eligibility.why_chosen(FULL.conditions, fan, CONTEXT, Locale.FR) == (
        "Cette invitation vous est proposée parce que vous êtes membre du niveau Platine "
        "(Or et au-delà), que vous avez réservé ce spectacle et que vous avez assisté à "
        "4 représentations cette saison (au moins 3)."
    )


def test_a_member_at_exactly_the_tier_asked_is_not_told_the_obvious() -> None:
    gold = member("gold", attended_productions=("aida",))
    conditions = (TierAtLeast(tier="gold"), AttendedProduction(production_id="aida"))
    assert eligibility.why_chosen(conditions, gold, CONTEXT, Locale.EN) == (
        "This invitation is offered to you because you are a member of the Gold tier and you "
        "attended “Aida”."
    )
    assert eligibility.why_chosen(conditions, gold, CONTEXT, Locale.FR) == (
        "Cette invitation vous est proposée parce que vous êtes membre du niveau Or et que "
        "vous avez assisté à « Aida »."
    )


def test_only_the_conditions_met_are_given_as_reasons() -> None:
    silver = member("silver", attended=(NOW - timedelta(days=3),))
    conditions = (TierAtLeast(tier="gold"), AttendedAtLeast(count=1, period=Period.EVER))
    assert eligibility.met(conditions, silver, CONTEXT) == (conditions[1],)
    assert eligibility.why_chosen(conditions, silver, CONTEXT, Locale.EN) == (
        "This invitation is offered to you because you attended 1 performance (at least 1)."
    )


def test_an_open_experience_says_so_and_a_member_meeting_nothing_is_told() -> None:
    assert eligibility.why_chosen((), member(), CONTEXT, Locale.EN) == (
        "This experience is open to every member of the programme."
    )
    assert eligibility.why_chosen((), member(), CONTEXT, Locale.FR) == (
        "Cette expérience est ouverte à tous les membres du programme."
    )
    gold_only = (TierAtLeast(tier="gold"),)
    assert eligibility.why_chosen(gold_only, member(), CONTEXT, Locale.EN) == (
        "You do not meet this experience's conditions."
    )
    assert eligibility.why_chosen(gold_only, member(), CONTEXT, Locale.FR) == (
        "Vous ne remplissez pas les conditions de cette expérience."
    )


def test_large_counts_are_written_the_way_each_language_writes_them() -> None:
    many = AttendedAtLeast(count=1000, period=Period.EVER)
    assert eligibility.describe(Eligibility(conditions=(many,)), CONTEXT, Locale.FR) == (
        "Ouvert aux membres qui ont assisté à au moins 1\u202f000 représentations."
    )


def test_an_unknown_tier_is_named_by_its_key() -> None:
    diamond = Eligibility(conditions=(TierAtLeast(tier="diamond"),))
    assert eligibility.describe(diamond, CONTEXT, Locale.EN) == (
        "Open to members of the diamond tier and above."
    )


def test_another_production_booked_is_quoted_by_its_title() -> None:
    fan, aida = member(booked=("aida",)), (BookedProduction(production_id="aida"),)
    assert eligibility.why_chosen(aida, fan, CONTEXT, Locale.EN) == (
        "This invitation is offered to you because you booked “Aida”."
    )
    assert eligibility.why_chosen(aida, fan, CONTEXT, Locale.FR) == (
        "Cette invitation vous est proposée parce que vous avez réservé « Aida »."
    )


def test_the_count_given_as_a_reason_is_over_the_conditions_own_period() -> None:
    # one attendance last season (300 days ago), one this season: 2 over 365 days, 1 this season
    fan = member(attended=(NOW - timedelta(days=300), NOW - timedelta(days=10)))
    last_year = (AttendedAtLeast(count=2, period=Period.LAST_365_DAYS),)
    assert eligibility.why_chosen(last_year, fan, CONTEXT, Locale.EN) == (
        "This invitation is offered to you because you attended 2 performances over the last "
        "365 days (at least 2)."
    )
    assert eligibility.why_chosen(last_year, fan, CONTEXT, Locale.FR) == (
        "Cette invitation vous est proposée parce que vous avez assisté à 2 représentations au "
        "cours des 365 derniers jours (au moins 2)."
    )
