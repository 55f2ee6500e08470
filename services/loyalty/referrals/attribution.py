"""Whether a referral is accepted, and if not, why (pure, no I/O).

The store reads the history (``History``); ``decide`` judges the candidate against it. The
checks run in a stated order, so that a candidate failing several gets one stable reason:

1. ``UNKNOWN_CODE``: the code belongs to no member.
2. ``NO_CONSENT``, ``CONSENT_IN_FUTURE``, ``CONSENT_TOO_OLD``: the consent statement. These two
   first checks reveal nothing about anyone, so they come before any that depends on members.
3. ``SELF_REFERRAL``: the referee's identifiers resolve to the referrer.
4. ``ALREADY_MEMBER``: they resolve to another member.
5. ``DUPLICATE_REFERRAL``: a live (not voided) referral of the same person is within the
   attribution window: the first valid referral wins.
6. ``OVER_CAP``: the referrer already has ``cap`` referrals in the cap period.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.loyalty.referrals.model import Consent, Referee, Referral, ReferralPolicy, Source


class Rejection(StrEnum):
    """Why a referral is refused; the values are stable codes of the public API."""

    UNKNOWN_CODE = "UNKNOWN_CODE"
    NO_CONSENT = "NO_CONSENT"
    CONSENT_IN_FUTURE = "CONSENT_IN_FUTURE"
    CONSENT_TOO_OLD = "CONSENT_TOO_OLD"
    SELF_REFERRAL = "SELF_REFERRAL"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    DUPLICATE_REFERRAL = "DUPLICATE_REFERRAL"
    OVER_CAP = "OVER_CAP"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A referral as registered, before it is judged.

    ``referrer_id`` is the member whose code was given, or ``None`` when no member has that code
    (a malformed code counts as unknown). ``consent`` is ``None`` when none was stated."""

    referrer_id: uuid.UUID | None
    referee: Referee
    source: Source
    consent: Consent | None
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class PriorReferral:
    """An earlier accepted referral of the same referee (any referrer, any channel)."""

    id: uuid.UUID
    registered_at: datetime
    voided: bool = False


@dataclass(frozen=True, slots=True)
class History:
    """What the store knows when the candidate arrives.

    - ``referee_member_ids``: the members the referee's identifiers resolve to now (empty when
      the referee is not a member).
    - ``prior_referrals``: the referee's referrals registered after
      ``policy.window_start(registered_at)``, voided ones included or not.
    - ``referrer_recent``: how many referrals were accepted for the referrer after
      ``policy.cap_period_start(registered_at)``.
    """

    referee_member_ids: frozenset[uuid.UUID] = frozenset()
    prior_referrals: tuple[PriorReferral, ...] = ()
    referrer_recent: int = 0


@dataclass(frozen=True, slots=True)
class Accepted:
    referral: Referral
    holds_until: datetime  # the end of its attribution window (excluded)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Rejection


Decision = Accepted | Rejected


def consent_problem(
    policy: ReferralPolicy, consent: Consent, registered_at: datetime
) -> Rejection | None:
    """What is wrong with stated consent: given after the registration, or too long before."""
    if consent.given_at > registered_at:
        return Rejection.CONSENT_IN_FUTURE
    if registered_at - consent.given_at > policy.consent_max_age:
        return Rejection.CONSENT_TOO_OLD
    return None


def within_window(policy: ReferralPolicy, a: datetime, b: datetime) -> bool:
    """Whether registrations at ``a`` and ``b`` are within one attribution window of each other."""
    return abs(a - b) < policy.attribution_window


def decide(
    policy: ReferralPolicy, candidate: Candidate, history: History, *, referral_id: uuid.UUID
) -> Decision:
    """Accept the candidate as referral ``referral_id``, or reject it with one reason."""
    if candidate.referrer_id is None:
        return Rejected(Rejection.UNKNOWN_CODE)
    referrer_id = candidate.referrer_id
    consent = candidate.consent
    if consent is None:
        return Rejected(Rejection.NO_CONSENT)
    problem = consent_problem(policy, consent, candidate.registered_at)
    if problem is not None:
        return Rejected(problem)
    if referrer_id in history.referee_member_ids:
        return Rejected(Rejection.SELF_REFERRAL)
    if history.referee_member_ids:
        return Rejected(Rejection.ALREADY_MEMBER)
    if any(
        not prior.voided and within_window(policy, prior.registered_at, candidate.registered_at)
        for prior in history.prior_referrals
    ):
        return Rejected(Rejection.DUPLICATE_REFERRAL)
    if history.referrer_recent >= policy.cap:
        return Rejected(Rejection.OVER_CAP)
    referral = Referral(
        id=referral_id,
        referrer_id=referrer_id,
        referee=candidate.referee,
        source=candidate.source,
        consent=consent,
        registered_at=candidate.registered_at,
    )
    return Accepted(referral, policy.holds_until(referral))


def attributed(
    policy: ReferralPolicy, referrals: Iterable[PriorReferral], joined_at: datetime
) -> uuid.UUID | None:
    """Which of a referee's referrals the joining at ``joined_at`` credits: the earliest live one
    whose window has not ended (ties: the smallest id). ``decide`` keeps such windows apart; this
    keeps "the first valid referral wins" true even if two registrations raced past it."""
    live = [
        r
        for r in referrals
        if not r.voided and joined_at < r.registered_at + policy.attribution_window
    ]
    first = min(live, key=lambda r: (r.registered_at, r.id.int), default=None)
    return first.id if first else None
