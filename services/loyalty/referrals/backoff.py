"""When to try a failed webhook delivery again, and when to give up (pure, no I/O).

Exponential backoff with full jitter: after the n-th failed attempt the wait is drawn uniformly
from ``[0, ceiling(n))``, where ``ceiling(n) = first_delay * factor ** (n - 1)``, at most
``max_delay``. Random waits keep failing endpoints from being hit by every retry at once.

Bounded: no attempt is planned after ``first attempt + give_up_after`` (a wait that would end
later is shortened to that instant, a last try), and there are at most ``max_attempts``.
The random source is injected: ``random.Random(seed).random`` in tests,
``secrets.SystemRandom().random`` in service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

Random = Callable[[], float]  # a float in [0, 1)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Defaults: 30 s, 1 min, 2 min, ... up to 4 h between tries; 24 h or 20 attempts in all."""

    first_delay: timedelta = timedelta(seconds=30)
    factor: int = 2
    max_delay: timedelta = timedelta(hours=4)
    give_up_after: timedelta = timedelta(hours=24)
    max_attempts: int = 20

    def __post_init__(self) -> None:
        if not timedelta(0) < self.first_delay <= self.max_delay:
            raise ValueError("the first delay must be positive and at most the maximum delay")
        if self.factor < 1:
            raise ValueError("the factor must be at least 1")
        if self.give_up_after <= timedelta(0):
            raise ValueError("give_up_after must be positive")
        if not 1 <= self.max_attempts <= 1000:
            raise ValueError("max_attempts must be between 1 and 1000")


class GiveUpReason(StrEnum):
    ATTEMPTS = "ATTEMPTS_EXHAUSTED"
    DEADLINE = "DEADLINE_PASSED"


@dataclass(frozen=True, slots=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: GiveUpReason


def ceiling(policy: RetryPolicy, failures: int) -> timedelta:
    """The longest wait after ``failures`` failed attempts (``failures >= 1``)."""
    if failures < 1:
        raise ValueError("a wait follows at least one failed attempt")
    first = policy.first_delay // _MICROSECOND
    longest = policy.max_delay // _MICROSECOND
    growth: int = policy.factor ** (failures - 1)
    return min(first * growth, longest) * _MICROSECOND


def wait(policy: RetryPolicy, failures: int, random: Random) -> timedelta:
    """A wait drawn from ``[0, ceiling)`` by the random source (full jitter)."""
    draw = random()
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"the random source must give a float in [0, 1), gave {draw!r}")
    return int(draw * (ceiling(policy, failures) // _MICROSECOND)) * _MICROSECOND


def deadline(policy: RetryPolicy, first_attempt_at: datetime) -> datetime:
    """No attempt is planned after this instant."""
    return first_attempt_at + policy.give_up_after


def after_failure(
    policy: RetryPolicy,
    *,
    first_attempt_at: datetime,
    failures: int,
    now: datetime,
    random: Random,
) -> RetryAt | GiveUp:
    """What to do at ``now``, after ``failures`` attempts have failed (the first one started at
    ``first_attempt_at``): try again at a time, or give up."""
    if failures >= policy.max_attempts:
        return GiveUp(GiveUpReason.ATTEMPTS)
    last = deadline(policy, first_attempt_at)
    if now >= last:
        return GiveUp(GiveUpReason.DEADLINE)
    return RetryAt(min(now + wait(policy, failures, random), last))
