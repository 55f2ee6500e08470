"""Tiers from status points over a rolling window, with progress and a transparent grace period
(no I/O).

A member holds the highest tier their status points of the last ``tier_window_days`` reach. When
they fall below it, they keep it for ``tier_grace_days`` more, then hold the tier their points
support.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.loyalty.rules import words
from services.loyalty.rules.model import RuleSet, TierDef


@dataclass(frozen=True, slots=True)
class StatusEntry:
    at: datetime
    points: int


@dataclass(frozen=True, slots=True)
class TierProgress:
    current: TierDef | None
    next: TierDef | None
    status_points: int
    points_to_next: int | None
    points_to_keep: int
    keep_by: datetime | None
    qualifying_until: datetime | None
    counts_toward_en: str
    counts_toward_fr: str
    policy_en: str
    policy_fr: str


class _Sums:
    """Window sums in O(log n): sorted times and prefix sums of the points."""

    def __init__(self, entries: Sequence[StatusEntry], window: timedelta) -> None:
        ordered = sorted(entries, key=lambda e: e.at)
        self.times = [e.at for e in ordered]
        self.prefix = [0, *itertools.accumulate(e.points for e in ordered)]
        self.window = window

    def __call__(self, at: datetime) -> int:
        """Status points earned in ``(at - window, at]``."""
        upper = bisect.bisect_right(self.times, at)
        lower = bisect.bisect_right(self.times, at - self.window)
        return self.prefix[upper] - self.prefix[lower]


def _reached(rule_set: RuleSet, points: int) -> int:
    """The index of the highest tier ``points`` reach, -1 for none."""
    rank = -1
    for n, tier in enumerate(rule_set.tiers):
        if points >= tier.threshold:
            rank = n
    return rank


def _grace_tier(
    rule_set: RuleSet, entries: Sequence[StatusEntry], now: datetime, sums: _Sums
) -> tuple[int, datetime | None]:
    """The highest tier reached at any moment of the grace period, and when its grace ends."""
    grace = timedelta(days=rule_set.tier_grace_days)
    start = now - grace
    # The window sum only changes when points are earned or leave the window, so its values over
    # [start, now] are those at ``start`` and at each such change.
    changes = sorted(_between(start, now, entries, sums.window))
    best = max(_reached(rule_set, sums(t)) for t in changes)
    if best < 0 or best <= _reached(rule_set, sums(now)):
        return best, None
    threshold = rule_set.tiers[best].threshold
    # The moment it fell below: the first change after the last moment it qualified (there is
    # one, at ``now`` at the latest, since the points reach a lower tier now).
    last_ok = max(t for t in changes if sums(t) >= threshold)
    fell = min(t for t in changes if t > last_ok)
    return best, fell + grace


def _between(
    start: datetime, now: datetime, entries: Sequence[StatusEntry], window: timedelta
) -> set[datetime]:
    return {
        t
        for t in {start, *(e.at for e in entries), *(e.at + window for e in entries)}
        if start <= t <= now
    }


def _keep(
    entries: Sequence[StatusEntry], now: datetime, sums: _Sums, threshold: int
) -> tuple[int, datetime | None]:
    """The next moment points age out below ``threshold``, and how many are needed before it."""
    for when in sorted({e.at + sums.window for e in entries if e.at + sums.window > now}):
        remaining = sums(when)
        if remaining < threshold:
            return threshold - remaining, when
    return 0, None


def current_tier(
    rule_set: RuleSet, entries: Sequence[StatusEntry], now: datetime
) -> TierDef | None:
    """The tier the member holds at ``now`` (what the rules engine's ``min_tier`` asks)."""
    sums = _Sums(entries, timedelta(days=rule_set.tier_window_days))
    rank = max(_reached(rule_set, sums(now)), _grace_tier(rule_set, entries, now, sums)[0])
    return rule_set.tiers[rank] if rank >= 0 else None


def tier_progress(rule_set: RuleSet, entries: Sequence[StatusEntry], now: datetime) -> TierProgress:
    sums = _Sums(entries, timedelta(days=rule_set.tier_window_days))
    status = sums(now)
    qualified = _reached(rule_set, status)
    held, qualifying_until = _grace_tier(rule_set, entries, now, sums)
    rank = max(qualified, held)
    current = rule_set.tiers[rank] if rank >= 0 else None
    upcoming = rule_set.tiers[rank + 1] if rank + 1 < len(rule_set.tiers) else None
    if current is None:
        to_keep, keep_by = 0, None
    elif rank > qualified:
        to_keep, keep_by = current.threshold - status, qualifying_until
    else:
        to_keep, keep_by = _keep(entries, now, sums, current.threshold)
    return TierProgress(
        current=current,
        next=upcoming,
        status_points=status,
        points_to_next=upcoming.threshold - status if upcoming else None,
        points_to_keep=max(to_keep, 0),
        keep_by=keep_by,
        qualifying_until=qualifying_until,
        counts_toward_en=words.counts_toward(rule_set, "en"),
        counts_toward_fr=words.counts_toward(rule_set, "fr"),
        policy_en=" ".join(words.tier_policy(rule_set, "en")),
        policy_fr=" ".join(words.tier_policy(rule_set, "fr")),
    )
