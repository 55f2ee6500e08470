"""Contact guardrails: recognition, not harassment (DESIGN.md, principle 2). One pure function
per guardrail, and ``decide``, which applies them all (no I/O).

Each guardrail returns ``None`` when the member passes it, or the ``Suppression`` that spares
them. ``decide`` evaluates them in the order of ``ORDER`` and suppresses with every failing
reason, the first one being *the* reason reported:

1. ``consent``: no channel the member consented to, so no lawful way to write at all;
2. ``never_before``: already invited to this experience, or declined or cancelled it;
3. ``not_booked_or_attended``: a discovery experience promoting a production the member already
   booked or attended;
4. ``interest_match``: the experience names interests and the member shares none;
5. ``frequency_cap``: the member already received their cap of invitations over 30 days.

Consent comes first because without it nothing else matters. The cap comes last, so that it
counts exactly the members who would otherwise have been invited: the pressure the programme
spared them. Quiet hours are not a suppression: a member who passes every guardrail in their
quiet hours is invited with a ``deliver_after`` instant, the end of the quiet hours (``Hold``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.loyalty.experiences.model import (
    Channel,
    Experience,
    InvitationState,
    MemberHistory,
    Purpose,
)
from services.loyalty.experiences.quiet_hours import QuietHours, quiet_until

CAP_WINDOW = timedelta(days=30)


class Suppression(StrEnum):
    """Why a member was spared an invitation; the values are stable codes."""

    NO_CONSENT = "NO_CONSENT"
    ALREADY_INVITED = "ALREADY_INVITED"
    DECLINED_BEFORE = "DECLINED_BEFORE"
    CANCELLED_BEFORE = "CANCELLED_BEFORE"
    ALREADY_ATTENDED = "ALREADY_ATTENDED"
    ALREADY_BOOKED = "ALREADY_BOOKED"
    NO_INTEREST_MATCH = "NO_INTEREST_MATCH"
    CAP_REACHED = "CAP_REACHED"


@dataclass(frozen=True, slots=True)
class ContactPreferences:
    """The member's contact preferences, as identity gives them.

    ``consents``: the channels whose latest consent is granted. ``invitation_cap_per_30_days``:
    the member's own cap (``None``: the programme's applies). ``quiet_hours``: the member's own,
    in their time zone (``None``: the programme's). ``interests``: as the member stated them.
    """

    consents: frozenset[Channel] = frozenset()
    invitation_cap_per_30_days: int | None = None
    quiet_hours: QuietHours | None = None
    interests: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        cap = self.invitation_cap_per_30_days
        if cap is not None and cap < 0:
            raise ValueError("a cap cannot be negative")


@dataclass(frozen=True, slots=True)
class ProgrammeSettings:
    """The programme's side of the guardrails.

    ``invitation_cap_per_30_days``: no member receives more, whatever their own cap says.
    ``quiet_hours``: the programme's window, in its time zone, for members who set none.
    ``channels``: the channels invitations may use, most preferred first.
    """

    invitation_cap_per_30_days: int = 4
    quiet_hours: QuietHours | None = None
    channels: tuple[Channel, ...] = (Channel.PUSH, Channel.EMAIL, Channel.SMS)

    def __post_init__(self) -> None:
        if self.invitation_cap_per_30_days < 0:
            raise ValueError("a cap cannot be negative")
        if not self.channels:
            raise ValueError("invitations need at least one channel")


@dataclass(frozen=True, slots=True)
class Issue:
    """Invite now, through ``channel``."""

    channel: Channel


@dataclass(frozen=True, slots=True)
class Hold:
    """Invite, through ``channel``, but deliver no earlier than ``deliver_after`` (quiet hours)."""

    channel: Channel
    deliver_after: datetime


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Do not invite. ``reasons``: every failing guardrail, in ``ORDER``; the first is reported."""

    reasons: tuple[Suppression, ...]

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a suppression has a reason")

    @property
    def reason(self) -> Suppression:
        return self.reasons[0]


Decision = Issue | Hold | Suppressed


@dataclass(frozen=True, slots=True)
class Prospect:
    """A member considered for one experience at one instant: everything the guardrails read."""

    experience: Experience
    history: MemberHistory
    preferences: ContactPreferences
    settings: ProgrammeSettings
    at: datetime


def channel_for(preferences: ContactPreferences, settings: ProgrammeSettings) -> Channel | None:
    """The programme's most preferred channel the member consented to."""
    return next((c for c in settings.channels if c in preferences.consents), None)


def consent(preferences: ContactPreferences, settings: ProgrammeSettings) -> Suppression | None:
    """The member consented to at least one of the channels invitations may use."""
    return None if channel_for(preferences, settings) else Suppression.NO_CONSENT


def never_before(history: MemberHistory, experience: Experience) -> Suppression | None:
    """Never a second invitation to the same experience. Declining or cancelling says more
    than having been invited, so those are reported first."""
    states = {i.state for i in history.invitations if i.experience_id == experience.id}
    if InvitationState.DECLINED in states:
        return Suppression.DECLINED_BEFORE
    if InvitationState.CANCELLED in states:
        return Suppression.CANCELLED_BEFORE
    return Suppression.ALREADY_INVITED if states else None


def not_booked_or_attended(history: MemberHistory, experience: Experience) -> Suppression | None:
    """A discovery experience never promotes its production to a member who already attended
    or booked it. For ticket holders, holding a ticket is the point: it always passes."""
    production = experience.production_id
    if experience.purpose is not Purpose.DISCOVERY or production is None:
        return None
    if history.attended(production):
        return Suppression.ALREADY_ATTENDED
    if history.booked(production):
        return Suppression.ALREADY_BOOKED
    return None


def normalise_interest(value: str) -> str:
    """Trimmed, inner spaces collapsed, case folded: ``"  Baroque  Opera"`` is ``"baroque opera"``."""
    return " ".join(value.split()).casefold()


def _interests(values: Iterable[str]) -> set[str]:
    return {v for v in map(normalise_interest, values) if v}


def interest_match(preferences: ContactPreferences, experience: Experience) -> Suppression | None:
    """When the experience names interests, the member shares at least one of them (a member
    who stated none shares none)."""
    wanted = _interests(experience.interests)
    if not wanted or wanted & _interests(preferences.interests):
        return None
    return Suppression.NO_INTEREST_MATCH


def effective_cap(preferences: ContactPreferences, settings: ProgrammeSettings) -> int:
    """The stricter of the member's cap and the programme's."""
    own = preferences.invitation_cap_per_30_days
    return (
        settings.invitation_cap_per_30_days
        if own is None
        else min(own, settings.invitation_cap_per_30_days)
    )


def frequency_cap(
    history: MemberHistory,
    preferences: ContactPreferences,
    settings: ProgrammeSettings,
    at: datetime,
) -> Suppression | None:
    """Fewer than the cap were issued over the rolling 30 days: strictly after ``at - 30 days``,
    so one issued exactly 30 days (720 hours) before ``at`` no longer counts. Any invitation,
    whatever became of it, counts: it was a contact."""
    if history.invitations_after(at - CAP_WINDOW) >= effective_cap(preferences, settings):
        return Suppression.CAP_REACHED
    return None


def quiet_hours_for(
    preferences: ContactPreferences, settings: ProgrammeSettings
) -> QuietHours | None:
    """The member's quiet hours if they set any, else the programme's."""
    return preferences.quiet_hours or settings.quiet_hours


def deliver_after(
    preferences: ContactPreferences, settings: ProgrammeSettings, at: datetime
) -> datetime | None:
    """``None`` to deliver at once; else the end of the quiet hours ``at`` falls in."""
    quiet = quiet_hours_for(preferences, settings)
    return None if quiet is None else quiet_until(quiet, at)


Guardrail = Callable[[Prospect], Suppression | None]

ORDER: tuple[tuple[str, Guardrail], ...] = (
    ("consent", lambda p: consent(p.preferences, p.settings)),
    ("never_before", lambda p: never_before(p.history, p.experience)),
    ("not_booked_or_attended", lambda p: not_booked_or_attended(p.history, p.experience)),
    ("interest_match", lambda p: interest_match(p.preferences, p.experience)),
    ("frequency_cap", lambda p: frequency_cap(p.history, p.preferences, p.settings, p.at)),
)
"""The guardrails in the order ``decide`` applies them, by name."""


def decide(prospect: Prospect) -> Decision:
    """Apply every guardrail in ``ORDER``: suppressed with all failing reasons, or invited now
    (``Issue``) or after the quiet hours (``Hold``)."""
    reasons = tuple(r for _, guardrail in ORDER if (r := guardrail(prospect)) is not None)
    if reasons:
        return Suppressed(reasons)
    channel = channel_for(prospect.preferences, prospect.settings)
    assert channel is not None  # consent passed
    after = deliver_after(prospect.preferences, prospect.settings, prospect.at)
    return Issue(channel) if after is None else Hold(channel, after)
