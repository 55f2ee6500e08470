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


# ---- edges, on a programme of three tiers ------------------------------------------------------

THREE = rules.parse_rule_set(
    {
        "version": 1,
        "effective_at": "2025-01-01T00:00:00+00:00",
        "tier_window_days": 365,
        "tier_grace_days": 90,
        "rules": [
            {
                "key": "shows",
                "title_en": "Shows",
                "title_fr": "Spectacles",
                "trigger": "attendance",
                "award": {"kind": "fixed", "points": 10},
            }
        ],
        "tiers": [
            {"key": "silver", "name_en": "Silver", "name_fr": "Argent", "threshold": 100},
            {"key": "gold", "name_en": "Gold", "name_fr": "Or", "threshold": 300},
            {"key": "platinum", "name_en": "Platinum", "name_fr": "Platine", "threshold": 600},
        ],
    }
)


def key(tier: rules.TierDef | None) -> str | None:
    return tier.key if tier else None


def test_a_tier_is_reached_at_exactly_its_threshold() -> None:
    for points, expected in [(99, None), (100, "silver"), (299, "silver"), (300, "gold")]:
        progress = tiers.tier_progress(THREE, [days_ago(10, points)], NOW)
        assert (key(progress.current), progress.status_points) == (expected, points)
        assert key(tiers.current_tier(THREE, [days_ago(10, points)], NOW)) == expected


def test_points_leave_the_window_exactly_a_window_after_they_were_earned() -> None:
    at_edge = tiers.tier_progress(THREE, [days_ago(365, 200), days_ago(0, 50)], NOW)
    assert at_edge.status_points == 50  # earned 365 days ago: out; earned now: in
    inside = tiers.tier_progress(
        THREE, [StatusEntry(NOW - timedelta(days=365) + timedelta(seconds=1), 200)], NOW
    )
    assert inside.status_points == 200


def test_the_next_tier_of_a_gold_member_is_platinum_and_the_top_tier_has_none() -> None:
    gold = tiers.tier_progress(THREE, [days_ago(10, 350)], NOW)
    assert (key(gold.current), key(gold.next), gold.points_to_next) == ("gold", "platinum", 250)
    top = tiers.tier_progress(THREE, [days_ago(10, 700)], NOW)
    assert (key(top.current), top.next, top.points_to_next) == ("platinum", None, None)


def test_without_a_tier_there_is_nothing_to_keep() -> None:
    progress = tiers.tier_progress(THREE, [days_ago(10, 40)], NOW)
    assert (progress.current, progress.points_to_keep, progress.keep_by) == (None, 0, None)
    assert progress.qualifying_until is None


def test_keeping_a_tier_with_exactly_its_threshold_left_needs_nothing_more_until_those_leave() -> (
    None
):
    # 50 points leave in 65 days, leaving exactly 100: silver is kept until the 100 leave too
    exactly = tiers.tier_progress(THREE, [days_ago(300, 50), days_ago(10, 100)], NOW)
    assert key(exactly.current) == "silver"
    assert (exactly.points_to_keep, exactly.keep_by) == (100, NOW + timedelta(days=355))
    # one point short: one more is needed within 65 days
    short = tiers.tier_progress(THREE, [days_ago(300, 50), days_ago(10, 99)], NOW)
    assert (short.points_to_keep, short.keep_by) == (1, NOW + timedelta(days=65))


def test_a_tier_from_zero_points_is_kept_for_good() -> None:
    base = THREE.model_copy(
        update={
            "tiers": (
                rules.TierDef(key="member", name_en="Member", name_fr="Membre", threshold=0),
                *THREE.tiers,
            )
        }
    )
    progress = tiers.tier_progress(base, [days_ago(10, 50)], NOW)
    assert key(progress.current) == "member"
    assert (progress.points_to_keep, progress.keep_by, key(progress.next)) == (0, None, "silver")


def test_a_member_below_silver_keeps_it_through_the_grace_period() -> None:
    # 150 points left the window 20 days ago; 50 remain
    entries = [days_ago(385, 150), days_ago(100, 50)]
    progress = tiers.tier_progress(THREE, entries, NOW)
    assert key(progress.current) == "silver"
    assert progress.qualifying_until == NOW + timedelta(days=70)
    assert (progress.points_to_keep, progress.keep_by) == (50, NOW + timedelta(days=70))
    assert key(tiers.current_tier(THREE, entries, NOW + timedelta(days=70))) is None
    assert key(tiers.current_tier(THREE, entries, NOW + timedelta(days=69))) == "silver"


def test_the_grace_period_starts_when_the_points_fell_even_if_they_were_exactly_enough() -> None:
    # exactly 300 (gold) when the grace period began, 200 since 100 left 15 days ago
    entries = [days_ago(380, 100), days_ago(200, 200)]
    progress = tiers.tier_progress(THREE, entries, NOW)
    assert (key(progress.current), progress.status_points) == ("gold", 200)
    assert progress.qualifying_until == NOW + timedelta(days=75)
    assert (progress.points_to_keep, progress.keep_by) == (100, NOW + timedelta(days=75))


def test_the_grace_period_follows_the_last_fall_not_an_earlier_low() -> None:
    # 250 at the start of the grace period, 300 (gold) from 60 days ago, 200 from 55 days ago
    entries = [days_ago(420, 100), days_ago(200, 150), days_ago(60, 50)]
    progress = tiers.tier_progress(THREE, entries, NOW)
    assert (key(progress.current), progress.status_points) == ("gold", 200)
    assert progress.qualifying_until == NOW + timedelta(days=35)


def test_points_leaving_exactly_now_start_the_grace_period_now() -> None:
    entries = [days_ago(365, 100), days_ago(30, 250)]  # 350 until this instant, 250 from now on
    progress = tiers.tier_progress(THREE, entries, NOW)
    assert (key(progress.current), progress.status_points) == ("gold", 250)
    assert progress.qualifying_until == NOW + timedelta(days=90)


def test_a_member_still_qualifying_has_no_grace_period() -> None:
    # platinum points left 135 days ago: their grace period is over
    progress = tiers.tier_progress(THREE, [days_ago(500, 1000), days_ago(10, 320)], NOW)
    assert (key(progress.current), progress.qualifying_until) == ("gold", None)


def test_progress_words_come_in_both_languages() -> None:
    progress = tiers.tier_progress(THREE, [], NOW)
    assert progress.counts_toward_en == "Status points come from: Shows."
    assert progress.counts_toward_fr == "Les points de statut viennent de : Spectacles."
    assert progress.policy_en == (
        "Your tier follows the status points you earned over the last 365 days. If your status "
        "points fall below your tier's threshold, you keep your tier for 90 more days, then move "
        "to the tier your points support."
    )
    assert progress.policy_fr == (
        "Votre niveau suit les points de statut gagnés au cours des 365 derniers jours. Si vos "
        "points de statut passent sous le seuil de votre niveau, vous le gardez encore 90 jours, "
        "puis passez au niveau que vos points permettent."
    )
    untiered = THREE.model_copy(update={"tiers": ()})
    assert (
        tiers.tier_progress(untiered, [], NOW).policy_en,
        tiers.tier_progress(untiered, [], NOW).policy_fr,
    ) == ("", "")
