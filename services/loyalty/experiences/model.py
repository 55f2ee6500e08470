"""The vocabulary the pure modules of experiences share: what an experience is to the rules that
invite members to it, and what the programme remembers of a member (no I/O).

Identifiers of other services' things (venues, productions, staff) are plain strings: they are
references, never looked up here. Every instant is timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID


class Channel(StrEnum):
    """How an invitation reaches a member; spelt as identity's consent channels."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    POST = "post"


class Purpose(StrEnum):
    """What an experience accompanying a production is for.

    ``TICKET_HOLDERS``: a reward for those who already hold a ticket (holding one is the point).
    ``DISCOVERY``: to make the production discovered, so it is never offered to a member who
    already booked or attended it.
    """

    TICKET_HOLDERS = "ticket_holders"
    DISCOVERY = "discovery"


class InvitationState(StrEnum):
    """The states of an invitation; ``lifecycle`` holds the transitions between them."""

    OFFERED = "offered"
    WAITLISTED = "waitlisted"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"


def _aware(name: str, value: datetime) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Experience:
    """What the pure rules need to know of an experience.

    ``offers_close_at`` ends the invitation window: offers not answered by then expire.
    The door is open from ``door_opens_before`` ahead of the start until ``door_closes_after``
    past it (``door_opens_at <= at < door_closes_at``). ``interests`` are compared with the
    member's after trimming, collapsing inner spaces and case folding.
    """

    id: UUID
    venue_id: str
    starts_at: datetime
    ends_at: datetime
    seats: int
    offers_close_at: datetime
    guest_allowance: int = 0
    purpose: Purpose = Purpose.TICKET_HOLDERS
    production_id: str | None = None
    interests: frozenset[str] = frozenset()
    door_opens_before: timedelta = timedelta(hours=2)
    door_closes_after: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at", "offers_close_at"):
            _aware(name, getattr(self, name))
        if self.seats < 1:
            raise ValueError("an experience has at least one seat")
        if self.guest_allowance < 0:
            raise ValueError("the guest allowance cannot be negative")
        if self.ends_at <= self.starts_at:
            raise ValueError("an experience ends after it starts")
        if self.offers_close_at > self.starts_at:
            raise ValueError("offers close at the start at the latest")
        if self.door_opens_before < timedelta(0) or self.door_closes_after <= timedelta(0):
            raise ValueError("the door window must contain the start")

    @property
    def door_opens_at(self) -> datetime:
        return self.starts_at - self.door_opens_before

    @property
    def door_closes_at(self) -> datetime:
        return self.starts_at + self.door_closes_after


@dataclass(frozen=True, slots=True)
class Performance:
    """A performance booked or attended, as an earn event naming its production tells it
    (``production_id`` is ``None`` when the event named none)."""

    at: datetime
    production_id: str | None = None


@dataclass(frozen=True, slots=True)
class PastInvitation:
    """An invitation the member already received, to any experience, in its current state."""

    experience_id: UUID
    issued_at: datetime
    state: InvitationState


@dataclass(frozen=True, slots=True)
class MemberHistory:
    """What the programme remembers of one member, as far as experiences care."""

    member_id: UUID
    tier: str | None = None
    bookings: tuple[Performance, ...] = ()
    attendances: tuple[Performance, ...] = ()
    invitations: tuple[PastInvitation, ...] = ()

    def booked(self, production_id: str) -> bool:
        return any(p.production_id == production_id for p in self.bookings)

    def attended(self, production_id: str) -> bool:
        return any(p.production_id == production_id for p in self.attendances)

    def invitations_after(self, instant: datetime) -> int:
        """How many invitations were issued strictly after ``instant`` (later ones included)."""
        return sum(1 for i in self.invitations if i.issued_at > instant)
