"""Ambassadors ranked by the quality of the people they bring, not only their number (pure).

Over the 90 days before ``as_of`` (converted after ``as_of - 90 days``, up to ``as_of``
included), each referee who converted scores for their referrer:

- ``STAYED`` (2): still a member, and not erased;
- ``ATTENDED`` (3): came to at least one performance or event;
- ``RETURNED`` (5): completed qualifying events on two or more distinct days.

A referee scores at most ``PER_REFEREE_MAX`` (10); an ambassador's score is the sum over their
referees, and their quality is the share of the maximum they reached. The board is ordered by
score, then by referees who returned, attended, stayed, then by fewer referees (the same result
from fewer people is better quality), then by member id: a total, deterministic order. Equal
figures share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WINDOW = timedelta(days=90)
STAYED = 2
ATTENDED = 3
RETURNED = 5
PER_REFEREE_MAX = STAYED + ATTENDED + RETURNED


@dataclass(frozen=True, slots=True)
class RefereeOutcome:
    """What became of one converted referee; ``qualifying_days`` are local calendar days."""

    referrer_id: uuid.UUID
    converted_at: datetime
    still_member: bool
    erased: bool
    attendances: int
    qualifying_days: frozenset[date]

    @property
    def stayed(self) -> bool:
        return self.still_member and not self.erased

    @property
    def attended(self) -> bool:
        return self.attendances >= 1

    @property
    def returned(self) -> bool:
        return len(self.qualifying_days) >= 2

    @property
    def score(self) -> int:
        return STAYED * self.stayed + ATTENDED * self.attended + RETURNED * self.returned


@dataclass(frozen=True, slots=True)
class Ambassador:
    """One line of the board."""

    member_id: uuid.UUID
    rank: int
    score: int
    referees: int
    stayed: int
    attended: int
    returned: int

    @property
    def quality_percent(self) -> int:
        """The score as a share of the most the referees could give, rounded down."""
        return self.score * 100 // (PER_REFEREE_MAX * self.referees)


def in_window(converted_at: datetime, as_of: datetime) -> bool:
    return as_of - WINDOW < converted_at <= as_of


def _merit(outcomes: list[RefereeOutcome]) -> tuple[int, int, int, int, int]:
    """Score, returned, attended, stayed, and fewer referees: larger is better."""
    return (
        sum(o.score for o in outcomes),
        sum(o.returned for o in outcomes),
        sum(o.attended for o in outcomes),
        sum(o.stayed for o in outcomes),
        -len(outcomes),
    )


def board(outcomes: Iterable[RefereeOutcome], as_of: datetime) -> tuple[Ambassador, ...]:
    """Every referrer with at least one referee converted in the window, best first."""
    by_referrer: dict[uuid.UUID, list[RefereeOutcome]] = {}
    for outcome in outcomes:
        if in_window(outcome.converted_at, as_of):
            by_referrer.setdefault(outcome.referrer_id, []).append(outcome)
    ordered = sorted(
        by_referrer.items(),
        key=lambda item: (tuple(-m for m in _merit(item[1])), str(item[0])),
    )
    lines: list[Ambassador] = []
    previous: tuple[int, ...] = ()
    for position, (member, found) in enumerate(ordered, start=1):
        merit = _merit(found)
        rank = lines[-1].rank if merit == previous else position
        score, returned, attended, stayed, fewer = merit
        lines.append(Ambassador(member, rank, score, -fewer, stayed, attended, returned))
        previous = merit
    return tuple(lines)
