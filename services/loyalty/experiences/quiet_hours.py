"""Quiet hours: when the local clock of the member (or of the programme) is in the window, an
invitation is held until the window ends (no I/O).

The window is ``[start, end)`` on the local wall clock of ``timezone``: ``start`` is quiet, ``end``
is not. When ``start`` is after ``end`` the window crosses midnight (22:00 to 08:00 is quiet from
22:00 in the evening until 08:00 the next morning). ``start == end`` is an empty window: never
quiet. Whether an instant is quiet is read on the clock as it stands at that instant, so on a
night when the clocks change the window is an hour shorter or longer in real time.

The end of quiet hours is the first instant after the held moment at which the local clock reads
``end``; on a night when the clock jumps over ``end`` (spring forward) it is the instant of the
jump. When the clock reads ``end`` twice (fall back), the first reading after the held moment
counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local wall-clock time, in an IANA time zone such as ``Europe/Paris``."""

    start: time
    end: time
    timezone: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are wall-clock times: give them without a time zone")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first invitation

    @property
    def crosses_midnight(self) -> bool:
        return self.start > self.end


def _quiet_wall(quiet: QuietHours, wall: time) -> bool:
    if quiet.start <= quiet.end:  # within a day; empty when they are equal
        return quiet.start <= wall < quiet.end
    return wall >= quiet.start or wall < quiet.end


def is_quiet(quiet: QuietHours, at: datetime) -> bool:
    """Whether the local clock at ``at`` is inside the window."""
    return _quiet_wall(quiet, at.astimezone(ZoneInfo(quiet.timezone)).time())


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock reading at ``instant`` (naive readings compare regardless of
    ``fold``)."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _jump(naive: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumps over ``naive``, a reading that does not exist (a gap).

    Read with the offset after the change (``fold=1``) the reading falls before the jump, with
    the offset before it (``fold=0``) after; the jump, on a whole second, lies between."""
    low = math.floor(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(naive.replace(tzinfo=zone, fold=0).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _readings(day: date, wall: time, zone: ZoneInfo) -> list[datetime]:
    """The instants at which the clock reads ``wall`` on ``day``: one, two (fall back), or, if
    the clock jumps over it, the instant of the jump."""
    naive = datetime.combine(day, wall)
    found = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if _wall(instant, zone) == naive and instant not in found:
            found.append(instant)
    return found or [_jump(naive, zone)]


def quiet_until(quiet: QuietHours, at: datetime) -> datetime | None:
    """``None`` if ``at`` is outside the window, else the end of the window (in UTC), when a
    held invitation may be delivered."""
    if not is_quiet(quiet, at):
        return None
    zone = ZoneInfo(quiet.timezone)
    day = at.astimezone(zone).date()
    # The end is read on the held moment's local day or the next; a window of nearly a day
    # whose end the clock jumps over, landing back inside it, ends on the day after.
    candidates = sorted(
        instant
        for offset in (0, 1, 2)
        for instant in _readings(day + timedelta(days=offset), quiet.end, zone)
        if instant > at
    )
    return next(c for c in candidates if not is_quiet(quiet, c))
