"""Properties of tier progress over any history of status points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.loyalty import rules, tiers
from services.loyalty.demo_rules import demo_rule_set_document
from services.loyalty.tiers import StatusEntry

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RULES = rules.parse_rule_set(
    {"version": 1, **demo_rule_set_document(datetime(2024, 1, 1, tzinfo=UTC))}
)

histories = st.lists(
    st.builds(
        lambda d, p: StatusEntry(NOW - timedelta(hours=d), p),
        st.integers(0, 24 * 500),
        st.integers(1, 2000),
    ),
    max_size=30,
)


def window_sum(entries: list[StatusEntry], at: datetime, window: timedelta) -> int:
    """Status points earned in ``(at - window, at]``: the window's start excluded, its end kept."""
    return sum(e.points for e in entries if at - window < e.at <= at)


def rank(tier: rules.TierDef | None) -> int:
    return RULES.tier_rank(tier.key if tier else None)


@given(histories)
def test_the_status_points_are_those_of_the_window(entries: list[StatusEntry]) -> None:
    progress = tiers.tier_progress(RULES, entries, NOW)
    window = timedelta(days=RULES.tier_window_days)
    assert progress.status_points == window_sum(entries, NOW, window)


@given(histories, st.integers(1, 3000))
def test_earning_more_never_lowers_the_tier(entries: list[StatusEntry], points: int) -> None:
    before = tiers.tier_progress(RULES, entries, NOW)
    after = tiers.tier_progress(RULES, [*entries, StatusEntry(NOW, points)], NOW)
    assert rank(after.current) >= rank(before.current)


@given(histories)
def test_points_to_next_are_exactly_enough(entries: list[StatusEntry]) -> None:
    progress = tiers.tier_progress(RULES, entries, NOW)
    if progress.next is None or progress.points_to_next is None:
        return
    reached = tiers.tier_progress(RULES, [*entries, StatusEntry(NOW, progress.points_to_next)], NOW)
    assert rank(reached.current) >= rank(progress.next)
    if progress.points_to_next > 1:
        short = tiers.tier_progress(
            RULES, [*entries, StatusEntry(NOW, progress.points_to_next - 1)], NOW
        )
        assert rank(short.current) < rank(progress.next) or short.qualifying_until is not None


@given(histories)
def test_the_tier_held_is_at_least_the_one_the_points_reach_and_at_most_the_best_of_the_grace_period(
    entries: list[StatusEntry],
) -> None:
    progress = tiers.tier_progress(RULES, entries, NOW)
    window = timedelta(days=RULES.tier_window_days)
    reached_now = max(
        (n for n, t in enumerate(RULES.tiers) if progress.status_points >= t.threshold), default=-1
    )
    best_in_grace = max(
        (
            n
            for moment in [NOW - timedelta(days=RULES.tier_grace_days), *(e.at for e in entries)]
            if moment >= NOW - timedelta(days=RULES.tier_grace_days)
            for n, t in enumerate(RULES.tiers)
            if window_sum(entries, moment, window) >= t.threshold
        ),
        default=-1,
    )
    assert reached_now <= rank(progress.current) <= max(best_in_grace, reached_now)
    assert tiers.current_tier(RULES, entries, NOW) == progress.current


@given(st.sampled_from(RULES.tiers), st.integers(-1, 1), st.integers(0, 364))
def test_a_tier_is_held_from_exactly_its_threshold(
    tier: rules.TierDef, offset: int, age_days: int
) -> None:
    points = tier.threshold + offset
    entries = [StatusEntry(NOW - timedelta(days=age_days), points)]
    held = tiers.current_tier(RULES, entries, NOW)
    assert (rank(held) >= RULES.tier_rank(tier.key)) == (offset >= 0)


@given(st.data(), st.sampled_from(RULES.tiers), st.integers(-1, 1), st.integers(1, 363))
def test_keeping_a_tier_needs_exactly_what_is_missing_when_old_points_leave(
    data: st.DataObject, tier: rules.TierDef, offset: int, leaving_in: int
) -> None:
    window = timedelta(days=RULES.tier_window_days)
    staying = tier.threshold + offset  # exactly the threshold, one short, or one over
    above = (
        RULES.tiers[RULES.tier_rank(tier.key) + 1].threshold if tier != RULES.tiers[-1] else None
    )
    leaving = data.draw(st.integers(1, (above - staying - 1) if above else 5000))
    old = StatusEntry(NOW - window + timedelta(days=leaving_in), leaving)
    recent = StatusEntry(NOW - timedelta(days=1), staying)
    progress = tiers.tier_progress(RULES, [old, recent], NOW)
    assert progress.current == tier
    if offset >= 0:  # enough stays: nothing is needed until the recent points leave too
        assert (progress.points_to_keep, progress.keep_by) == (tier.threshold, recent.at + window)
    else:
        assert (progress.points_to_keep, progress.keep_by) == (1, old.at + window)
