"""The referral as plain frozen data, shared by attribution, conversion and the webhooks (no I/O).

Identifiers of people are the normalised spellings identity gives (``ines@example.org``,
``+33612345678``); member ids are identity's UUIDs. Times are aware datetimes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.loyalty.rules.model import ReferralTerms, Trigger


class ConsentMethod(StrEnum):
    """How the referee agreed to be contacted by the programme."""

    ONLINE_FORM = "online_form"  # a box ticked on the partner's or the programme's form
    PAPER_FORM = "paper_form"  # a signed form at a counter
    EMAIL = "email"  # a written reply by email
    VERBAL = "verbal"  # said aloud, noted by the partner's or the venue's staff
    SELF_REGISTRATION = "self_registration"  # the referee signed up with the code themselves


@dataclass(frozen=True, slots=True)
class Consent:
    """What the referrer or partner states: how and when the referee consented."""

    method: ConsentMethod
    given_at: datetime


@dataclass(frozen=True, slots=True)
class Referee:
    """The person brought in, as the partner or member named them: an email, a phone, or both,
    already normalised. They are compared, never shown back to anyone but who gave them."""

    email: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        if not (self.email or self.phone):
            raise ValueError("a referee is named by an email or a phone")

    def identifiers(self) -> frozenset[str]:
        """The identifiers as ``kind:value`` keys, e.g. ``{"email:ines@example.org"}``."""
        return frozenset(
            f"{kind}:{value}"
            for kind, value in (("email", self.email), ("phone", self.phone))
            if value
        )


class MemberChannel(StrEnum):
    SIGNUP = "signup"  # the referee registered with the member's code
    GUEST = "guest"  # the referee was a named guest on the member's accepted invitation


@dataclass(frozen=True, slots=True)
class FromPartner:
    """Registered by a partner; ``reference`` is the partner's own, unique per partner."""

    partner_id: uuid.UUID
    reference: str


@dataclass(frozen=True, slots=True)
class FromMember:
    """Brought directly by the referrer; ``reference`` names the invitation for a guest."""

    channel: MemberChannel
    reference: str | None = None


Source = FromPartner | FromMember


@dataclass(frozen=True, slots=True)
class Referral:
    """An accepted referral: who brought whom, through which channel, when, with what consent."""

    id: uuid.UUID
    referrer_id: uuid.UUID
    referee: Referee
    source: Source
    consent: Consent
    registered_at: datetime


DEFAULT_QUALIFYING = frozenset({Trigger.PURCHASE, Trigger.ATTENDANCE, Trigger.SUBSCRIPTION})


@dataclass(frozen=True, slots=True)
class ReferralPolicy:
    """The programme's referral terms.

    - ``attribution_window``: a referral holds its referee from ``registered_at`` until
      ``registered_at + attribution_window`` (excluded). Within it another referral of the same
      person is a duplicate; the referee must join within it for the referral to convert.
    - ``cap`` referrals accepted per referrer over any ``cap_period`` (the period ending at the
      registration, its start excluded).
    - ``consent_max_age``: consent given longer ago than this is too old; consent given after the
      registration is refused (consent exactly at the registration time is fine).
    - ``qualifying_triggers``: the events by which a new member converts a referral.
    """

    attribution_window: timedelta = timedelta(days=30)
    cap: int = 20
    cap_period: timedelta = timedelta(days=30)
    consent_max_age: timedelta = timedelta(days=365)
    qualifying_triggers: frozenset[Trigger] = DEFAULT_QUALIFYING

    def __post_init__(self) -> None:
        if self.attribution_window <= timedelta(0) or self.cap_period <= timedelta(0):
            raise ValueError("the attribution window and the cap period must be positive")
        if self.cap < 1:
            raise ValueError("the cap must be at least 1")
        if self.consent_max_age < timedelta(0):
            raise ValueError("the consent's maximum age cannot be negative")
        if not self.qualifying_triggers:
            raise ValueError("at least one trigger must qualify")
        if Trigger.REFERRAL_CONVERTED in self.qualifying_triggers:
            raise ValueError("a conversion cannot qualify another conversion")

    def holds_until(self, referral: Referral) -> datetime:
        """The end of the referral's attribution window (excluded)."""
        return referral.registered_at + self.attribution_window

    def window_start(self, at: datetime) -> datetime:
        """Referrals of the same referee registered after this instant (excluded) are within the
        window of a registration at ``at``: what the store reads to build the history."""
        return at - self.attribution_window

    def cap_period_start(self, at: datetime) -> datetime:
        """Referrals registered after this instant (excluded) count toward the cap at ``at``."""
        return at - self.cap_period


def policy_of(terms: ReferralTerms) -> ReferralPolicy:
    """The referral terms a rule set states, as the policy attribution and conversion apply."""
    return ReferralPolicy(
        attribution_window=timedelta(days=terms.attribution_window_days),
        cap=terms.cap,
        cap_period=timedelta(days=terms.cap_period_days),
        consent_max_age=timedelta(days=terms.consent_max_age_days),
        qualifying_triggers=frozenset(terms.qualifying_triggers),
    )
