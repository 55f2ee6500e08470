"""Sign-in throttling's arithmetic at its edges: the window's last allowed attempt, the first
refused one and how long it waits, and the window's end to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.identity.sessions.throttle import Count, Limit, reserve, retry_after_seconds

LIMIT = Limit(attempts=3, window=timedelta(minutes=15))
START = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)


def test_the_limits_attempts_are_reserved_one_by_one_then_the_next_waits_for_the_window() -> None:
    count = Count()
    for expected in (1, 2, 3):
        count, wait = reserve(count, LIMIT, START + timedelta(seconds=expected))
        assert (count, wait) == (Count(expected, START + timedelta(seconds=1)), None)
    later = START + timedelta(minutes=10, seconds=1)
    refused, wait = reserve(count, LIMIT, later)
    assert refused == count  # a refused attempt counts nothing
    assert wait == timedelta(minutes=5)


def test_the_window_ends_exactly_at_its_length() -> None:
    spent = Count(3, START)
    just_before = START + LIMIT.window - timedelta(microseconds=1)
    assert reserve(spent, LIMIT, just_before) == (spent, timedelta(microseconds=1))
    assert reserve(spent, LIMIT, START + LIMIT.window) == (Count(1, START + LIMIT.window), None)


def test_a_wait_is_told_in_whole_seconds_rounded_up() -> None:
    assert retry_after_seconds(timedelta(microseconds=1)) == 1
    assert retry_after_seconds(timedelta(seconds=899, microseconds=1)) == 900
    assert retry_after_seconds(timedelta(seconds=900)) == 900
