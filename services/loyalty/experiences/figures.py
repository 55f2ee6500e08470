"""The figures of experiences: invitations as they stand, counted (no I/O).

An invitation's *standing* at an instant is its state, read as the lifecycle's jobs will leave
it: an offer still open when the invitation window has closed stands as expired, a place on the
waitlist at the start as expired, a reservation not checked in when the door has closed as a
no-show. The jobs write these changes later; reads never wait for them.

Per experience (and summed per venue): ``invited`` every invitation; ``accepted`` those accepted
at some point (promotions from the waitlist included, later cancellations too); ``declined``,
``expired``, ``cancelled``, ``waitlisted``, ``checked_in``, ``no_shows`` by standing; ``guests``
reserved by parties holding seats, ``guests_checked_in`` who came; ratings and their pulse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.loyalty.experiences import ratings as scores
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.lifecycle import HOLDS_SEATS
from services.loyalty.experiences.model import Experience, InvitationState

State = InvitationState


def standing(state: State, experience: Experience, now: datetime) -> State:
    """The state as it stands at ``now``, the lifecycle's due changes applied."""
    if state is State.OFFERED and now >= experience.offers_close_at:
        return State.EXPIRED
    if state is State.WAITLISTED and now >= experience.starts_at:
        return State.EXPIRED
    if state is State.ACCEPTED and now >= experience.door_closes_at:
        return State.NO_SHOW
    return state


@dataclass(frozen=True, slots=True)
class Standing:
    """What the figures read of one invitation: its standing, whether it was ever accepted,
    its guests reserved and checked in, and its rating."""

    state: State
    ever_accepted: bool
    guests: int = 0
    guests_checked_in: int = 0
    rating: int | None = None


@dataclass(frozen=True, slots=True)
class Tally:
    invited: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    cancelled: int = 0
    waitlisted: int = 0
    checked_in: int = 0
    no_shows: int = 0
    guests: int = 0
    guests_checked_in: int = 0
    suppressions: Mapping[Suppression, int] = field(
        default_factory=lambda: dict.fromkeys(Suppression, 0)
    )
    ratings: tuple[int, ...] = ()

    @property
    def pulse(self) -> scores.Pulse:
        return scores.pulse(self.ratings)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            invited=self.invited + other.invited,
            accepted=self.accepted + other.accepted,
            declined=self.declined + other.declined,
            expired=self.expired + other.expired,
            cancelled=self.cancelled + other.cancelled,
            waitlisted=self.waitlisted + other.waitlisted,
            checked_in=self.checked_in + other.checked_in,
            no_shows=self.no_shows + other.no_shows,
            guests=self.guests + other.guests,
            guests_checked_in=self.guests_checked_in + other.guests_checked_in,
            suppressions={r: self.suppressions[r] + other.suppressions[r] for r in Suppression},
            ratings=self.ratings + other.ratings,
        )


_COUNTED = {
    State.DECLINED: "declined",
    State.EXPIRED: "expired",
    State.CANCELLED: "cancelled",
    State.WAITLISTED: "waitlisted",
    State.CHECKED_IN: "checked_in",
    State.NO_SHOW: "no_shows",
}


def tally(
    invitations: Iterable[Standing], suppressed: Mapping[Suppression, int] | None = None
) -> Tally:
    """Count one experience's invitations (already at their standing) and suppressions."""
    counts = dict.fromkeys(_COUNTED.values(), 0)
    invited = accepted = guests = came = 0
    rated: list[int] = []
    for invitation in invitations:
        invited += 1
        accepted += invitation.ever_accepted
        if invitation.state in _COUNTED:
            counts[_COUNTED[invitation.state]] += 1
        if invitation.state in HOLDS_SEATS:
            guests += invitation.guests
        came += invitation.guests_checked_in
        if invitation.rating is not None:
            rated.append(invitation.rating)
    return Tally(
        invited=invited,
        accepted=accepted,
        guests=guests,
        guests_checked_in=came,
        suppressions={r: (suppressed or {}).get(r, 0) for r in Suppression},
        ratings=tuple(rated),
        **counts,
    )
