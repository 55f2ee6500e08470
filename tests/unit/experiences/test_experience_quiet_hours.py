"""Quiet hours by worked examples: the edges of the window, midnight, and the nights the clocks
change in Paris (29 March 2026 at 02:00 the clock jumps to 03:00; 25 October 2026 at 03:00 it
goes back to 02:00)."""

from __future__ import annotations

import os
import time as clock
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfoNotFoundError

import pytest

from services.loyalty.experiences.quiet_hours import QuietHours, is_quiet, quiet_until

PARIS = "Europe/Paris"
NIGHT = QuietHours(time(22), time(8), PARIS)  # crosses midnight
LUNCH = QuietHours(time(12), time(14), PARIS)  # within a day


def utc(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def test_the_start_of_the_window_is_quiet_and_the_instant_before_is_not() -> None:
    # 10 June 2026: Paris is UTC+2, so 22:00 local is 20:00 UTC
    assert is_quiet(NIGHT, utc(2026, 6, 10, 20, 0)) is True
    assert is_quiet(NIGHT, utc(2026, 6, 10, 19, 59, 59, 999999)) is False


def test_the_end_of_the_window_is_no_longer_quiet() -> None:
    assert is_quiet(NIGHT, utc(2026, 6, 11, 6, 0)) is False  # 08:00 local
    assert is_quiet(NIGHT, utc(2026, 6, 11, 5, 59, 59, 999999)) is True


def test_a_window_that_crosses_midnight_holds_until_the_next_morning() -> None:
    assert quiet_until(NIGHT, utc(2026, 6, 10, 21, 30)) == utc(2026, 6, 11, 6, 0)


def test_after_midnight_the_hold_ends_the_same_morning() -> None:
    assert quiet_until(NIGHT, utc(2026, 6, 10, 23, 30)) == utc(2026, 6, 11, 6, 0)


def test_at_the_very_start_the_hold_lasts_the_whole_window() -> None:
    assert quiet_until(NIGHT, utc(2026, 6, 10, 20, 0)) == utc(2026, 6, 11, 6, 0)


def test_outside_the_window_nothing_is_held() -> None:
    assert quiet_until(NIGHT, utc(2026, 6, 11, 6, 0)) is None
    assert quiet_until(NIGHT, utc(2026, 6, 10, 12, 0)) is None


def test_a_window_within_the_day_holds_until_its_end_that_day() -> None:
    assert quiet_until(LUNCH, utc(2026, 1, 15, 11, 0)) == utc(2026, 1, 15, 13, 0)  # UTC+1
    assert quiet_until(LUNCH, utc(2026, 1, 15, 13, 0)) is None
    assert quiet_until(LUNCH, utc(2026, 1, 15, 10, 59, 59)) is None


def test_an_empty_window_is_never_quiet() -> None:
    empty = QuietHours(time(9), time(9), PARIS)
    assert [is_quiet(empty, utc(2026, 6, 10, h)) for h in range(0, 24, 6)] == [False] * 4


def test_the_window_is_read_on_the_clock_of_its_own_time_zone() -> None:
    tokyo = QuietHours(time(22), time(8), "Asia/Tokyo")  # UTC+9, no summer time
    at = utc(2026, 6, 10, 14, 0)  # 23:00 in Tokyo, 16:00 in Paris
    assert (is_quiet(tokyo, at), is_quiet(NIGHT, at)) == (True, False)
    assert quiet_until(tokyo, at) == utc(2026, 6, 10, 23, 0)


def test_the_night_the_clocks_go_forward_is_an_hour_shorter() -> None:
    # 23:30 on 28 March (UTC+1) until 08:00 on 29 March (UTC+2): 7.5 hours, not 8.5
    at = utc(2026, 3, 28, 22, 30)
    until = quiet_until(NIGHT, at)
    assert until == utc(2026, 3, 29, 6, 0)
    assert until - at == timedelta(hours=7, minutes=30)


def test_the_night_the_clocks_go_back_is_an_hour_longer() -> None:
    at = utc(2026, 10, 24, 21, 30)  # 23:30 local, UTC+2
    until = quiet_until(NIGHT, at)
    assert until == utc(2026, 10, 25, 7, 0)  # 08:00 local, UTC+1
    assert until - at == timedelta(hours=9, minutes=30)


def test_an_end_the_clock_jumps_over_ends_at_the_jump() -> None:
    early = QuietHours(time(1), time(2, 30), PARIS)  # 02:30 does not exist on 29 March
    assert quiet_until(early, utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 1, 0)  # 03:00 local
    assert is_quiet(early, utc(2026, 3, 29, 0, 59, 59)) is True
    assert is_quiet(early, utc(2026, 3, 29, 1, 0)) is False


def test_an_end_the_clock_reads_twice_ends_at_the_next_reading() -> None:
    late = QuietHours(time(22), time(2, 30), PARIS)  # 02:30 happens twice on 25 October
    # 02:10 the first time (UTC+2) ends at 02:30 the first time
    assert quiet_until(late, utc(2026, 10, 25, 0, 10)) == utc(2026, 10, 25, 0, 30)
    # 02:10 the second time (UTC+1) ends at 02:30 the second time
    assert quiet_until(late, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 1, 30)


def test_when_the_clock_goes_back_into_the_window_it_is_quiet_again() -> None:
    late = QuietHours(time(22), time(2, 30), PARIS)
    assert is_quiet(late, utc(2026, 10, 25, 0, 40)) is False  # 02:40, first time
    assert is_quiet(late, utc(2026, 10, 25, 1, 0)) is True  # 02:00, second time


@pytest.mark.parametrize("minute", range(60))
def test_any_end_inside_the_jump_ends_at_the_jump_to_the_second(minute: int) -> None:
    # on 29 March the clock jumps from 02:00 to 03:00 (01:00 UTC): every end from 02:00 to
    # 02:59 ends the quiet hours at that instant
    window = QuietHours(time(1), time(2, minute), PARIS)
    assert quiet_until(window, utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 1, 0)


@pytest.mark.parametrize("minute", range(0, 30, 7))
def test_a_half_hour_jump_is_found_to_the_second_as_well(minute: int) -> None:
    # Lord Howe Island (UTC+10:30) jumps from 02:00 to 02:30 at 15:30 UTC on 3 October 2026
    window = QuietHours(time(1), time(2, minute), "Australia/Lord_Howe")
    assert quiet_until(window, utc(2026, 10, 3, 14, 45)) == utc(2026, 10, 3, 15, 30)


def test_the_end_is_read_on_the_local_day_not_the_utc_one() -> None:
    # 23:00 in New York on 10 June is 03:00 UTC on 11 June; the window ends at 23:30 local
    evening = QuietHours(time(20), time(23, 30), "America/New_York")
    assert quiet_until(evening, utc(2026, 6, 11, 3, 0)) == utc(2026, 6, 11, 3, 30)


def test_a_window_of_nearly_a_day_skips_a_jump_that_lands_inside_it() -> None:
    # quiet from 02:45 to 02:30 the next day; on 29 March the clock jumps from 02:00 to 03:00,
    # inside the window, so the first moment out of it is 02:30 on 30 March
    long = QuietHours(time(2, 45), time(2, 30), PARIS)
    assert quiet_until(long, utc(2026, 3, 29, 0, 59)) == utc(2026, 3, 30, 0, 30)


def test_a_time_zone_with_a_half_hour_change_is_followed_to_the_second() -> None:
    # Lord Howe Island moves from UTC+10:30 to UTC+11 at 02:00 on 4 October 2026
    lord_howe = QuietHours(time(1), time(2, 15), "Australia/Lord_Howe")
    at = datetime(2026, 10, 3, 14, 45, tzinfo=UTC)  # 01:15 local
    assert quiet_until(lord_howe, at) == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)  # 02:30


def test_quiet_hours_are_wall_clock_times_in_a_known_zone() -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        QuietHours(time(22), time(8), "Europe/Atlantis")
    with pytest.raises(ValueError) as caught:
        QuietHours(time(22, tzinfo=UTC), time(8), PARIS)
    assert str(caught.value) == "quiet hours are wall-clock times: give them without a time zone"
    assert (NIGHT.crosses_midnight, LUNCH.crosses_midnight) == (True, False)


@pytest.fixture(params=["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The machine's own time zone set far from UTC (+14 and -11), then put back."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    clock.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        clock.tzset()


def test_the_machines_own_time_zone_never_matters(machine_zone: str) -> None:
    early = QuietHours(time(1), time(2, 30), PARIS)
    assert quiet_until(early, utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 1, 0)
    assert quiet_until(NIGHT, utc(2026, 10, 24, 21, 30)) == utc(2026, 10, 25, 7, 0)
    late = QuietHours(time(22), time(2, 30), PARIS)
    assert quiet_until(late, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 1, 30)
