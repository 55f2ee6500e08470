"""Tiers from status points over a rolling window, with a grace period, by worked examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.loyalty import rules, tiers
from services.loyalty.demo_rules import demo_rule_set_document
from services.loyalty.tiers import StatusEntry

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RULES = rules.parse_rule_set(
    {"version": 1, **demo_rule_set_document(datetime(2025, 1, 1, tzinfo=UTC))}
)


def days_ago(days: int, points: int) -> StatusEntry:
    return StatusEntry(NOW - timedelta(days=days), points)


def test_progress_names_the_tier_the_next_one_and_the_points_to_go() -> None:
    progress = tiers.tier_progress(RULES, [days_ago(100, 400), days_ago(10, 300)], NOW)
    assert progress.current is not None and progress.current.key == "silver"
    assert progress.next is not None and progress.next.key == "gold"
    assert (progress.status_points, progress.points_to_next) == (700, 800)
    assert "Tickets" in progress.counts_toward_en


def test_points_to_keep_say_what_is_needed_before_old_points_leave_the_window() -> None:
    progress = tiers.tier_progress(RULES, [days_ago(300, 400), days_ago(10, 200)], NOW)
    assert progress.current is not None and progress.current.key == "silver"
    # the 400 points leave the window in 65 days; 200 remain, 300 short of silver
    assert progress.keep_by == NOW + timedelta(days=65)
    assert progress.points_to_keep == 300


def test_a_member_who_falls_below_keeps_the_tier_for_the_grace_period() -> None:
    entries = [days_ago(400, 1600), days_ago(200, 100)]  # 1600 left the window 35 days ago
    progress = tiers.tier_progress(RULES, entries, NOW)
    assert progress.current is not None and progress.current.key == "gold"
    assert progress.qualifying_until == NOW - timedelta(days=35) + timedelta(days=90)
    later = tiers.tier_progress(RULES, entries, NOW + timedelta(days=60))
    assert later.current is None  # 100 points: below silver once the grace is over


def test_without_points_there_is_no_tier_and_silver_is_next() -> None:
    progress = tiers.tier_progress(RULES, [], NOW)
    assert progress.current is None and progress.next is not None
    assert progress.points_to_next == 500
