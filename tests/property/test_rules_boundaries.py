"""The rules engine at its edges, as properties: date windows, local time and weekday across
midnight and daylight-saving changes, rounding at exact halves, caps at exactly the cap, and ties
within an exclusive group. Where the published words state a bound, they are checked to agree
with what the engine does at that bound."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import assume, given
from hypothesis import strategies as st

from services.loyalty import rules
from services.loyalty.rules import Event, Locale, MemberContext, Trigger

ZONES = ["Europe/Paris", "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "UTC"]
START = datetime(2025, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MARCH = datetime(2026, 3, 10, 18, tzinfo=UTC)
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# instants over two years, so that every daylight-saving change of every zone is crossed
instants = st.builds(
    lambda seconds: START + timedelta(seconds=seconds), st.integers(0, 2 * 366 * 24 * 3600)
)
zones = st.sampled_from(ZONES)


def one_rule(zone: str = "Europe/Paris", **fields: Any) -> rules.RuleSet:
    return rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": "2024-01-01T00:00:00+00:00",
            "timezone": zone,
            "rules": [
                {
                    "key": "r",
                    "title_en": "R",
                    "title_fr": "R",
                    "trigger": "attendance",
                    "award": {"kind": "fixed", "points": 10},
                    **fields,
                }
            ],
        }
    )


def earns(rule_set: rules.RuleSet, at: datetime, **event: Any) -> int:
    trigger = event.pop("trigger", Trigger.ATTENDANCE)
    return rules.evaluate(rule_set, Event(trigger, at, **event), MemberContext()).total


def local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


# ---- date windows ----------------------------------------------------------------------------


@given(zones, st.dates(date(2025, 1, 1), date(2026, 12, 1)), st.integers(1, 60), instants)
def test_a_date_window_includes_its_first_day_and_excludes_its_end_day_as_its_words_say(
    zone: str, first: date, days: int, at: datetime
) -> None:
    until = first + timedelta(days=days)
    valid_from, valid_until = local_midnight(first, zone), local_midnight(until, zone)
    window = one_rule(
        zone,
        conditions={"valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat()},
    )
    words = rules.describe(window.rules[0], Locale.EN, window)
    assert f"from {first.isoformat()} until {until.isoformat()} (excluded)" in words
    assert earns(window, valid_from) == 10
    assert earns(window, valid_from - SECOND) == 0
    assert earns(window, valid_until - SECOND) == 10
    assert earns(window, valid_until) == 0
    assert earns(window, at) == (10 if valid_from <= at < valid_until else 0)


@given(zones, instants, instants)
def test_a_window_bound_at_any_instant_is_exact_to_the_second(
    zone: str, one: datetime, other: datetime
) -> None:
    assume(one != other)
    start, end = sorted([one, other])
    window = one_rule(
        zone, conditions={"valid_from": start.isoformat(), "valid_until": end.isoformat()}
    )
    assert (earns(window, start - SECOND), earns(window, start)) == (0, 10)
    assert (earns(window, end - SECOND), earns(window, end)) == (10, 0)


# ---- local time and weekday ------------------------------------------------------------------


@given(zones, st.integers(0, 6), instants)
def test_the_weekday_is_the_programme_s_local_weekday(
    zone: str, weekday: int, at: datetime
) -> None:
    on_that_day = one_rule(zone, conditions={"weekdays": [weekday]})
    assert earns(on_that_day, at) == (
        10 if at.astimezone(ZoneInfo(zone)).weekday() == weekday else 0
    )
    assert rules.describe(on_that_day.rules[0], Locale.EN, on_that_day).startswith(
        f"R: 10 points for attending a performance or event on {WEEKDAYS_EN[weekday]}."
    )


@given(zones, st.dates(date(2025, 1, 1), date(2026, 12, 30)))
def test_a_weekday_starts_and_ends_at_local_midnight(zone: str, day: date) -> None:
    # one second either side of the local midnight that starts ``day``
    on_that_day = one_rule(zone, conditions={"weekdays": [day.weekday()]})
    midnight = local_midnight(day, zone)
    next_midnight = local_midnight(day + timedelta(days=1), zone)
    assert (earns(on_that_day, midnight - SECOND), earns(on_that_day, midnight)) == (0, 10)
    assert (earns(on_that_day, next_midnight - SECOND), earns(on_that_day, next_midnight)) == (
        10,
        0,
    )


def test_a_sunday_night_in_utc_is_already_monday_in_paris() -> None:
    mondays = one_rule(conditions={"weekdays": [0]})
    sunday_utc = datetime(2026, 1, 4, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    assert earns(mondays, sunday_utc) == 10
    assert earns(mondays, datetime(2026, 1, 5, 23, 30, tzinfo=UTC)) == 0  # Tuesday 00:30


@given(
    zones,
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.integers(1, 23 * 60),
    instants,
)
def test_a_time_of_day_window_includes_its_start_and_excludes_its_end(
    zone: str, start: time, minutes: int, at: datetime
) -> None:
    end_minutes = start.hour * 60 + start.minute + minutes
    assume(end_minutes < 24 * 60)
    end = time(end_minutes // 60, end_minutes % 60)
    hours = one_rule(
        zone,
        conditions={"local_time_from": start.isoformat(), "local_time_before": end.isoformat()},
    )

    def expected(instant: datetime) -> int:
        return 10 if start <= instant.astimezone(ZoneInfo(zone)).time() < end else 0

    day = at.astimezone(ZoneInfo(zone)).date()
    opening = datetime.combine(day, start, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    closing = datetime.combine(day, end, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    for instant in (at, opening - SECOND, opening, closing - SECOND, closing):
        assert earns(hours, instant) == expected(instant)


def test_local_time_follows_paris_across_both_daylight_saving_changes() -> None:
    matinee = one_rule(conditions={"local_time_before": "17:00:00"})
    # 15:30 UTC is 16:30 in Paris before the spring change (29 March 2026), 17:30 after it
    assert earns(matinee, datetime(2026, 3, 28, 15, 30, tzinfo=UTC)) == 10
    assert earns(matinee, datetime(2026, 3, 29, 15, 30, tzinfo=UTC)) == 0
    # and 16:30 again after the autumn change (25 October 2026)
    assert earns(matinee, datetime(2026, 10, 24, 15, 30, tzinfo=UTC)) == 0
    assert earns(matinee, datetime(2026, 10, 25, 15, 30, tzinfo=UTC)) == 10


def test_the_hour_repeated_in_autumn_counts_twice_by_local_time() -> None:
    early = one_rule(conditions={"local_time_from": "02:00:00", "local_time_before": "03:00:00"})
    # 02:30 in Paris happens at 00:30 UTC (summer time) and again at 01:30 UTC (winter time)
    assert earns(early, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == 10
    assert earns(early, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == 10
    assert earns(early, datetime(2026, 10, 25, 2, 30, tzinfo=UTC)) == 0  # 03:30 in Paris


# ---- rounding --------------------------------------------------------------------------------

per_values = st.sampled_from(
    [Decimal("1"), Decimal("0.5"), Decimal("2"), Decimal("2.5"), Decimal("10")]
)


@given(st.integers(0, 10_000), per_values, st.sampled_from(["down", "half_up", "up"]))
def test_an_exact_half_rounds_up_only_with_half_up(whole: int, per: Decimal, rounding: str) -> None:
    per_euro = one_rule(
        trigger="purchase",
        award={"kind": "per_unit", "points": 1, "per": str(per), "rounding": rounding},
    )
    amount = (Decimal(whole) + Decimal("0.5")) * per  # exactly whole + 1/2 units
    expected = {"down": whole, "half_up": whole + 1, "up": whole + 1}[rounding]
    assert earns(per_euro, MARCH, trigger=Trigger.PURCHASE, amount=amount) == expected


@given(st.integers(0, 10_000), st.integers(1, 49))
def test_just_below_or_above_a_half_rounds_to_the_nearest_point(whole: int, cents: int) -> None:
    nearest = one_rule(
        trigger="purchase",
        award={"kind": "per_unit", "points": 1, "per": "1", "rounding": "half_up"},
    )
    below = Decimal(whole) + Decimal(cents) / 100
    above = Decimal(whole) + Decimal(50 + cents) / 100
    assert earns(nearest, MARCH, trigger=Trigger.PURCHASE, amount=below) == whole
    assert earns(nearest, MARCH, trigger=Trigger.PURCHASE, amount=above) == whole + 1


@given(st.integers(1, 10_000), st.integers(1, 20), per_values)
def test_a_whole_number_of_units_is_never_rounded(units: int, points: int, per: Decimal) -> None:
    for rounding in ("down", "half_up", "up"):
        exact = one_rule(
            trigger="purchase",
            award={"kind": "per_unit", "points": points, "per": str(per), "rounding": rounding},
        )
        assert earns(exact, MARCH, trigger=Trigger.PURCHASE, amount=units * per) == units * points


# ---- amounts ---------------------------------------------------------------------------------


@given(st.integers(0, 100_000), st.integers(0, 100_000), st.integers(0, 200_000))
def test_amount_bounds_are_both_inclusive(low: int, high: int, cents: int) -> None:
    low, high = sorted((low, high))
    bounded = one_rule(
        trigger="purchase",
        conditions={"min_amount": str(Decimal(low) / 100), "max_amount": str(Decimal(high) / 100)},
    )
    amount = Decimal(cents) / 100
    assert earns(bounded, MARCH, trigger=Trigger.PURCHASE, amount=amount, currency="EUR") == (
        10 if low <= cents <= high else 0
    )
    assert earns(bounded, MARCH, trigger=Trigger.PURCHASE, amount=Decimal(low) / 100) == 10
    assert earns(bounded, MARCH, trigger=Trigger.PURCHASE, amount=Decimal(high) / 100) == 10
    assert earns(bounded, MARCH, trigger=Trigger.PURCHASE) == 0  # no amount: bounds cannot hold


# ---- caps ------------------------------------------------------------------------------------


@given(
    st.integers(1, 500),
    st.one_of(st.none(), st.integers(1, 300)),
    st.one_of(st.none(), st.integers(1, 1000)),
    st.integers(0, 400),
    st.integers(0, 1200),
)
def test_a_cap_gives_exactly_what_is_left_of_it_and_says_when_it_limited_the_award(
    points: int, per_day: int | None, per_month: int | None, today: int, this_month: int
) -> None:
    caps = {k: v for k, v in {"per_day": per_day, "per_month": per_month}.items() if v}
    capped = one_rule(award={"kind": "fixed", "points": points}, caps=caps)
    award = rules.evaluate(
        capped,
        Event(Trigger.ATTENDANCE, MARCH),
        MemberContext(awarded_today={"r": today}, awarded_this_month={"r": this_month}),
    )
    left = min(
        points,
        per_day - today if per_day else points,
        per_month - this_month if per_month else points,
    )
    assert award.total == max(left, 0)
    if left > 0:
        (line,) = award.lines
        assert line.reason_en.endswith(" (limited by the rule's cap)") == (left < points)
    else:
        assert award.lines == ()


@given(st.integers(1, 500))
def test_a_cap_reached_exactly_awards_nothing_more_and_one_short_awards_one(cap: int) -> None:
    capped = one_rule(award={"kind": "fixed", "points": 1000}, caps={"per_day": cap})
    context = {"awarded_today": {"r": cap}}
    assert (
        rules.evaluate(capped, Event(Trigger.ATTENDANCE, MARCH), MemberContext(**context)).total
        == 0
    )
    short = rules.evaluate(
        capped, Event(Trigger.ATTENDANCE, MARCH), MemberContext(awarded_today={"r": cap - 1})
    )
    assert short.total == 1
    untouched = rules.evaluate(
        capped, Event(Trigger.ATTENDANCE, MARCH), MemberContext(awarded_today={"other": cap})
    )
    assert untouched.total == min(cap, 1000)


# ---- exclusive groups ------------------------------------------------------------------------


@given(st.lists(st.integers(1, 5), min_size=2, max_size=6))
def test_within_an_exclusive_group_the_best_applies_and_a_tie_goes_to_the_first_rule(
    points: list[int],
) -> None:
    group = rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": "2024-01-01T00:00:00+00:00",
            "rules": [
                {
                    "key": f"r{n}",
                    "title_en": f"R{n}",
                    "title_fr": f"R{n}",
                    "trigger": "attendance",
                    "award": {"kind": "fixed", "points": p},
                    "exclusive_group": "offers",
                }
                for n, p in enumerate(points)
            ],
        }
    )
    best = max(points)
    first_best = next(n for n, p in enumerate(points) if p == best)
    award = rules.evaluate(group, Event(Trigger.ATTENDANCE, MARCH), MemberContext())
    assert [(line.rule_key, line.points) for line in award.lines] == [(f"r{first_best}", best)]
    assert "only the best one applies" in rules.describe(group.rules[0], Locale.EN, group)


def test_a_tie_between_two_multipliers_of_one_group_goes_to_the_first() -> None:
    group = rules.parse_rule_set(
        {
            "version": 1,
            "effective_at": "2024-01-01T00:00:00+00:00",
            "rules": [
                {
                    "key": "base",
                    "title_en": "Base",
                    "title_fr": "Base",
                    "trigger": "attendance",
                    "award": {"kind": "fixed", "points": 10},
                },
                *(
                    {
                        "key": key,
                        "title_en": key,
                        "title_fr": key,
                        "trigger": "attendance",
                        "award": {"kind": "multiplier", "factor": "2"},
                        "exclusive_group": "boost",
                    }
                    for key in ("second-best", "first-best")
                ),
            ],
        }
    )
    award = rules.evaluate(group, Event(Trigger.ATTENDANCE, MARCH), MemberContext())
    assert [(line.rule_key, line.points) for line in award.lines] == [
        ("base", 10),
        ("second-best", 10),
    ]
