"""Sign-in throttling, the pure part: how many failed attempts a key (an account, a client
address) may make in a window, and how long a refused caller waits.

An attempt is counted before its password is checked (a reservation), so that concurrent
attempts, 50 aliased ``login`` fields in one request included, cannot all slip through: of
any number of attempts, exactly ``attempts`` reach a password check in a window. An attempt
that succeeds gives its reservation back (and clears the account's count); a refused attempt
counts nothing. The account's key is its normalised email whether or not an account has it,
so throttling tells nothing of who is a member.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limit:
    attempts: int
    window: timedelta


PER_ACCOUNT = Limit(attempts=5, window=timedelta(minutes=15))
PER_ADDRESS = Limit(attempts=30, window=timedelta(minutes=15))


@dataclass(frozen=True)
class Count:
    """Failed (or pending) attempts since the window's start."""

    failures: int = 0
    since: datetime | None = None


def reserve(count: Count, limit: Limit, now: datetime) -> tuple[Count, timedelta | None]:
    """The count with this attempt reserved, and None; or the count unchanged and how long to
    wait when the window's attempts are spent."""
    if count.since is None or now >= count.since + limit.window:
        count = Count(0, now)
    assert count.since is not None
    if count.failures >= limit.attempts:
        return count, count.since + limit.window - now
    return Count(count.failures + 1, count.since), None


def retry_after_seconds(wait: timedelta) -> int:
    """Whole seconds, rounded up (at least one)."""
    return max(1, math.ceil(wait.total_seconds()))
