"""The life of an invitation as pure transitions: each takes an invitation (and, where seats
matter, the experience's seat count) and returns the invitation moved, with the change in seats
taken and in the waitlist's length, or a typed refusal (no I/O).

::

    offered    -> accepted     (accept: the party fits and nobody is waiting)
               -> waitlisted   (accept: the party does not fit, or others wait already)
               -> declined | expired (when offers close) | cancelled
    waitlisted -> accepted     (promote: seats freed, strictly in the order of the waitlist)
               -> expired (at the start) | cancelled
    accepted   -> checked_in   (at the door: staff of the venue, within the door window)
               -> cancelled (seats released) | no_show (once the door has closed)

A party is the member and their guests (up to the experience's guest allowance); accepted,
checked-in and no-show invitations hold their party's seats. Promotion goes straight to
``accepted``: a waitlisted member already said yes, with their party. It is strict: the head of
the waitlist is never overtaken, even by a smaller party that would fit. After anything that
frees seats (a cancellation), call ``promote``. Declined, expired, cancelled, checked in and
no-show are final; a member who came may rate the evening once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.loyalty.experiences import ratings
from services.loyalty.experiences.model import Experience, InvitationState

State = InvitationState
HOLDS_SEATS = frozenset({State.ACCEPTED, State.CHECKED_IN, State.NO_SHOW})
FINAL = frozenset({State.DECLINED, State.EXPIRED, State.CANCELLED, State.CHECKED_IN, State.NO_SHOW})


class Refusal(StrEnum):
    """Why a transition is refused; the values are stable codes."""

    WRONG_STATE = "WRONG_STATE"
    OFFER_CLOSED = "OFFER_CLOSED"
    TOO_MANY_GUESTS = "TOO_MANY_GUESTS"
    TOO_LATE = "TOO_LATE"
    TOO_EARLY = "TOO_EARLY"
    WRONG_VENUE = "WRONG_VENUE"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    CANCELLED = "CANCELLED"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    OUTSIDE_DOOR_WINDOW = "OUTSIDE_DOOR_WINDOW"
    NOT_ATTENDED = "NOT_ATTENDED"
    ALREADY_RATED = "ALREADY_RATED"
    INVALID_SCORE = "INVALID_SCORE"


@dataclass(frozen=True, slots=True)
class Invitation:
    """One member's invitation to one experience.

    ``guests``: guests whose seats are held (accepted, checked in, no-show) or asked for
    (waitlisted). ``queued_at``: when it joined the waitlist (the waitlist's order, then ``id``).
    ``checked_in_by``: the staff account that let the member in; ``guests_checked_in``: how many
    of the guests came with them.
    """

    id: UUID
    member_id: UUID
    state: State
    offered_at: datetime
    guests: int = 0
    accepted_at: datetime | None = None
    queued_at: datetime | None = None
    closed_at: datetime | None = None
    checked_in_at: datetime | None = None
    checked_in_by: str | None = None
    guests_checked_in: int = 0
    rating: int | None = None
    rated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.guests_checked_in <= self.guests:
            raise ValueError("guests cannot be negative, nor more come than were reserved")
        if self.state is State.WAITLISTED and self.queued_at is None:
            raise ValueError("a waitlisted invitation says when it joined the waitlist")
        if self.state in HOLDS_SEATS and self.accepted_at is None:
            raise ValueError("an invitation holding seats says when it was accepted")
        if (self.state is State.CHECKED_IN) != (self.checked_in_at is not None):
            raise ValueError("a checked-in invitation, and only one, says when it was")
        if self.rating is not None and self.state is not State.CHECKED_IN:
            raise ValueError("only a member who came rates the evening")

    @property
    def party(self) -> int:
        """Seats the invitation holds or asks for: the member and their guests."""
        return 1 + self.guests


@dataclass(frozen=True, slots=True)
class Seats:
    """An experience's seats: ``taken`` by parties holding seats, ``waiting`` invitations on the
    waitlist."""

    capacity: int
    taken: int = 0
    waiting: int = 0

    @property
    def free(self) -> int:
        return self.capacity - self.taken

    def after(self, moved: Moved) -> Seats:
        return Seats(self.capacity, self.taken + moved.taken, self.waiting + moved.waiting)


@dataclass(frozen=True, slots=True)
class Moved:
    """The invitation in its new state; ``taken`` and ``waiting``: the changes in seats taken
    and in the waitlist's length."""

    invitation: Invitation
    taken: int = 0
    waiting: int = 0


@dataclass(frozen=True, slots=True)
class Refused:
    """A refused transition: ``state``, the invitation's, unchanged; for ``ALREADY_CHECKED_IN``,
    when and by whom."""

    code: Refusal
    state: State
    checked_in_at: datetime | None = None
    checked_in_by: str | None = None


Outcome = Moved | Refused


@dataclass(frozen=True, slots=True)
class Promotion:
    promoted: tuple[Invitation, ...]
    seats: Seats


def seats(experience: Experience, invitations: Iterable[Invitation]) -> Seats:
    """The experience's seats, counted from its invitations."""
    taken = waiting = 0
    for invitation in invitations:
        if invitation.state in HOLDS_SEATS:
            taken += invitation.party
        elif invitation.state is State.WAITLISTED:
            waiting += 1
    return Seats(experience.seats, taken, waiting)


def waitlist_order(invitations: Iterable[Invitation]) -> list[Invitation]:
    """The waitlisted invitations, first in line first: by ``queued_at``, then ``id``."""
    waiting = [i for i in invitations if i.state is State.WAITLISTED]
    return sorted(waiting, key=lambda i: (i.queued_at, i.id))


def _refuse(invitation: Invitation, code: Refusal) -> Refused:
    return Refused(code, invitation.state)


def accept(
    invitation: Invitation, experience: Experience, seats: Seats, *, guests: int, at: datetime
) -> Outcome:
    """Accept an offer with ``guests``: seats for the party if they fit and nobody waits,
    else a place at the end of the waitlist."""
    if guests < 0:
        raise ValueError("guests cannot be negative")
    if invitation.state is not State.OFFERED:
        return _refuse(invitation, Refusal.WRONG_STATE)
    if at >= experience.offers_close_at:
        return _refuse(invitation, Refusal.OFFER_CLOSED)
    if guests > experience.guest_allowance:
        return _refuse(invitation, Refusal.TOO_MANY_GUESTS)
    if seats.waiting == 0 and 1 + guests <= seats.free:
        accepted = replace(invitation, state=State.ACCEPTED, guests=guests, accepted_at=at)
        return Moved(accepted, taken=accepted.party)
    queued = replace(invitation, state=State.WAITLISTED, guests=guests, queued_at=at)
    return Moved(queued, waiting=1)


def decline(invitation: Invitation, experience: Experience, *, at: datetime) -> Outcome:
    """Decline an offer, while offers are open."""
    if invitation.state is not State.OFFERED:
        return _refuse(invitation, Refusal.WRONG_STATE)
    if at >= experience.offers_close_at:
        return _refuse(invitation, Refusal.OFFER_CLOSED)
    return Moved(replace(invitation, state=State.DECLINED, closed_at=at))


def cancel(
    invitation: Invitation, experience: Experience, *, at: datetime, by_programme: bool = False
) -> Outcome:
    """Cancel an offer, a place on the waitlist or a reservation, releasing its seats. A member
    cancels before the start; the programme (an experience cancelled) at any time before the
    member is checked in."""
    if invitation.state not in (State.OFFERED, State.WAITLISTED, State.ACCEPTED):
        return _refuse(invitation, Refusal.WRONG_STATE)
    if not by_programme and at >= experience.starts_at:
        return _refuse(invitation, Refusal.TOO_LATE)
    cancelled = replace(invitation, state=State.CANCELLED, closed_at=at)
    if invitation.state is State.ACCEPTED:
        return Moved(cancelled, taken=-invitation.party)
    if invitation.state is State.WAITLISTED:
        return Moved(cancelled, waiting=-1)
    return Moved(cancelled)


def expire(invitation: Invitation, experience: Experience, *, at: datetime) -> Outcome:
    """An offer unanswered when offers close expires; so does a place on the waitlist not
    promoted by the start."""
    if invitation.state is State.OFFERED:
        due, waiting = experience.offers_close_at, 0
    elif invitation.state is State.WAITLISTED:
        due, waiting = experience.starts_at, -1
    else:
        return _refuse(invitation, Refusal.WRONG_STATE)
    if at < due:
        return _refuse(invitation, Refusal.TOO_EARLY)
    return Moved(replace(invitation, state=State.EXPIRED, closed_at=at), waiting=waiting)


def promote(
    experience: Experience, seats: Seats, waitlist: Iterable[Invitation], *, at: datetime
) -> Promotion:
    """Accept waitlisted invitations in order while the head's party fits (none once the
    experience has started)."""
    promoted: list[Invitation] = []
    free = seats.free
    if at < experience.starts_at:
        for invitation in waitlist_order(waitlist):
            if invitation.party > free:
                break
            free -= invitation.party
            promoted.append(replace(invitation, state=State.ACCEPTED, accepted_at=at))
    taken = seats.free - free
    return Promotion(
        tuple(promoted), Seats(seats.capacity, seats.taken + taken, seats.waiting - len(promoted))
    )


def check_in(
    invitation: Invitation,
    experience: Experience,
    *,
    at: datetime,
    staff_id: str,
    staff_venue_id: str,
    guests: int | None = None,
) -> Outcome:
    """Let the member in, with ``guests`` of their guests (``None``: all those reserved).

    Checked in this order, so that staff of another venue learn nothing about the invitation:
    wrong venue; already checked in (when, by whom); cancelled; not accepted; outside the door
    window; more guests than reserved."""
    if staff_venue_id != experience.venue_id:
        return _refuse(invitation, Refusal.WRONG_VENUE)
    if invitation.state is State.CHECKED_IN:
        return Refused(
            Refusal.ALREADY_CHECKED_IN,
            invitation.state,
            invitation.checked_in_at,
            invitation.checked_in_by,
        )
    if invitation.state is State.CANCELLED:
        return _refuse(invitation, Refusal.CANCELLED)
    if invitation.state is not State.ACCEPTED:
        return _refuse(invitation, Refusal.NOT_ACCEPTED)
    if not experience.door_opens_at <= at < experience.door_closes_at:
        return _refuse(invitation, Refusal.OUTSIDE_DOOR_WINDOW)
    came = invitation.guests if guests is None else guests
    if not 0 <= came <= invitation.guests:
        return _refuse(invitation, Refusal.TOO_MANY_GUESTS)
    return Moved(
        replace(
            invitation,
            state=State.CHECKED_IN,
            checked_in_at=at,
            checked_in_by=staff_id,
            guests_checked_in=came,
        )
    )


def no_show(invitation: Invitation, experience: Experience, *, at: datetime) -> Outcome:
    """A reservation not checked in by the time the door closes; its seats stay counted."""
    if invitation.state is not State.ACCEPTED:
        return _refuse(invitation, Refusal.WRONG_STATE)
    if at < experience.door_closes_at:
        return _refuse(invitation, Refusal.TOO_EARLY)
    return Moved(replace(invitation, state=State.NO_SHOW, closed_at=at))


def rate(invitation: Invitation, *, score: int, at: datetime) -> Outcome:
    """A member who came rates the evening once, from 0 to 10."""
    if invitation.state is not State.CHECKED_IN:
        return _refuse(invitation, Refusal.NOT_ATTENDED)
    if invitation.rating is not None:
        return _refuse(invitation, Refusal.ALREADY_RATED)
    if not ratings.valid(score):
        return _refuse(invitation, Refusal.INVALID_SCORE)
    return Moved(replace(invitation, rating=score, rated_at=at))
