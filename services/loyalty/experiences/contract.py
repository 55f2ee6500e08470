"""The internal HTTP API of experiences: request and response models (the gateway imports this
and ``services.loyalty.contract`` only).

Routes, all JSON, under ``/internal`` unless said otherwise (``?locale=en|fr`` where texts are
returned; refusals are a ``ProblemBody`` with a code of ``ExperienceProblem`` or
``services.loyalty.contract.ProblemCode``):

====== ============================================= =================================== ==========
method path                                          body -> answer                       who
====== ============================================= =================================== ==========
POST   /experiences                                  CreateExperience -> Experience       staff, admin
                                                     (201 created, 200 same key again)
GET    /experiences?venue_id=&include_past=          -> list[Experience]                  staff, admin
GET    /experiences/{id}                             -> Experience                        staff, admin
PATCH  /experiences/{id}                             UpdateExperience -> Experience       staff, admin
POST   /experiences/{id}/cancel                      CancelExperience -> Experience       staff, admin
POST   /experiences/{id}/issuances                   IssueInvitations -> IssuanceReport   staff, admin
                                                     (201 issued, 200 same key again)
GET    /experiences/{id}/issuances                   -> list[IssuanceReport]              staff, admin
GET    /issuances/{id}                               -> IssuanceReport                    staff, admin
GET    /members/{member_id}/invitations              -> list[MemberInvitation]            the member, admin
POST   /invitations/{id}/respond                     RespondToInvitation -> MemberInvitation  the member
POST   /invitations/{id}/rating                      RateExperience -> Rating             the member
POST   /door/redeem                                  RedeemInvitation -> RedeemOutcome    staff (of the venue)
POST   /door/redeem-batch                            RedeemBatch -> BatchOutcome          staff (of the venue)
GET    /experience-figures?venue_id=                 -> ExperienceFigures                 staff (their venues), admin
POST   /jobs/experiences                             -> ExperienceJobReport               admin
GET    /.well-known/jwks.json (not internal, public) -> {"keys": [...]} the door passes' keys
====== ============================================= =================================== ==========

Staff act only for venues in their actor's ``venue_ids`` (``WRONG_VENUE`` otherwise); at the
door the venue may be left out when the staff account has exactly one. Every outcome of a
redemption is a member of ``RedeemOutcome`` (200), never a problem: checked in, already checked
in (when, by whom), wrong venue, outside the door window, cancelled, not accepted, not found,
unreadable (a typing mistake the code's check symbol caught) and throttled (too many failed
guesses by this staff account).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.loyalty.experiences.eligibility import (
    AttendedAtLeast,
    AttendedProduction,
    BookedProduction,
    Condition,
    Eligibility,
    Period,
    TierAtLeast,
)
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.model import Channel, InvitationState, Purpose

__all__ = [
    "AttendedAtLeast",
    "AttendedProduction",
    "BookedProduction",
    "Channel",
    "Condition",
    "Eligibility",
    "InvitationState",
    "Period",
    "Purpose",
    "Suppression",
    "TierAtLeast",
]

Key = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Interest = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Seats = Annotated[int, Field(ge=1, le=100_000)]
Guests = Annotated[int, Field(ge=0, le=20)]
DoorMinutes = Annotated[int, Field(ge=0, le=24 * 60)]
DeviceId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ScanInput = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExperienceProblem(StrEnum):
    """Refusals of experiences' use cases, with their HTTP status; the values are stable codes."""

    EXPERIENCE_NOT_FOUND = "EXPERIENCE_NOT_FOUND"  # 404
    EXPERIENCE_KEY_TAKEN = "EXPERIENCE_KEY_TAKEN"  # 409: same key, other content
    EXPERIENCE_CANCELLED = "EXPERIENCE_CANCELLED"  # 409: it cannot change any more
    EXPERIENCE_STARTED = "EXPERIENCE_STARTED"  # 409: too late to change or cancel
    INVALID_SCHEDULE = "INVALID_SCHEDULE"  # 422: times out of order
    INVALID_ELIGIBILITY = "INVALID_ELIGIBILITY"  # 422: unknown tier, "this production" without one
    SEATS_BELOW_TAKEN = "SEATS_BELOW_TAKEN"  # 409: fewer seats than are taken
    INVITATIONS_NOT_OPEN = "INVITATIONS_NOT_OPEN"  # 409: before the invitation window
    INVITATIONS_CLOSED = "INVITATIONS_CLOSED"  # 409: after the invitation window
    ISSUANCE_KEY_REUSED = "ISSUANCE_KEY_REUSED"  # 409: same key, other request
    ISSUANCE_NOT_FOUND = "ISSUANCE_NOT_FOUND"  # 404
    INVITATION_NOT_FOUND = "INVITATION_NOT_FOUND"  # 404 (also someone else's invitation)
    WRONG_STATE = "WRONG_STATE"  # 409: e.g. accepting an invitation already declined
    OFFER_CLOSED = "OFFER_CLOSED"  # 409: the invitation window has ended
    TOO_MANY_GUESTS = "TOO_MANY_GUESTS"  # 422: more guests than the allowance
    TOO_LATE = "TOO_LATE"  # 409: cancelling after the start
    NOT_ATTENDED = "NOT_ATTENDED"  # 409: rating without having been checked in
    ALREADY_RATED = "ALREADY_RATED"  # 409
    VENUE_REQUIRED = "VENUE_REQUIRED"  # 422: staff of several venues must name one at the door


# ---- experiences -----------------------------------------------------------------------------


class ExperienceTexts(Model):
    title_en: Title
    title_fr: Title
    description_en: Text
    description_fr: Text


class CreateExperience(Model):
    """A new experience. ``key`` makes it idempotent (the same request again answers the same
    experience; the same key with other content is ``EXPERIENCE_KEY_TAKEN``).

    Times: ``invitations_open_at <= invitations_close_at <= starts_at < ends_at``. Offers not
    answered by ``invitations_close_at`` expire. The door is open from
    ``door_opens_minutes_before`` the start until ``door_closes_minutes_after`` it.
    ``purpose``: ``ticket_holders`` (a reward for those holding a ticket) or ``discovery`` (never
    offered to those who booked or attended ``production_id``). ``interests``: when given, only
    members sharing one are invited."""

    key: Key
    venue_id: UUID
    texts: ExperienceTexts
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    seats: Seats
    guest_allowance: Guests = 0
    production_id: Reference | None = None
    production_title: Title | None = None
    eligibility: Eligibility = Eligibility()
    invitations_open_at: AwareDatetime
    invitations_close_at: AwareDatetime
    purpose: Purpose = Purpose.TICKET_HOLDERS
    interests: list[Interest] = Field(default=[], max_length=30)
    door_opens_minutes_before: DoorMinutes = 120
    door_closes_minutes_after: Annotated[int, Field(ge=1, le=24 * 60)] = 60


class UpdateExperience(Model):
    """Change an experience before it starts: only the fields sent change (``production_id``
    and ``production_title`` may be sent as null to clear them). Seats never fall below the
    seats taken; the venue never changes."""

    texts: ExperienceTexts | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    seats: Seats | None = None
    guest_allowance: Guests | None = None
    production_id: Reference | None = None
    production_title: Title | None = None
    eligibility: Eligibility | None = None
    invitations_open_at: AwareDatetime | None = None
    invitations_close_at: AwareDatetime | None = None
    purpose: Purpose | None = None
    interests: list[Interest] | None = Field(default=None, max_length=30)
    door_opens_minutes_before: DoorMinutes | None = None
    door_closes_minutes_after: Annotated[int, Field(ge=1, le=24 * 60)] | None = None


class CancelExperience(Model):
    """Cancel for good: every live invitation (offered, waitlisted, accepted) is cancelled and
    each member so told through the outbox."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Experience(Model):
    id: UUID
    key: str
    venue_id: UUID
    title: str  # in the locale asked for
    description: str
    texts: ExperienceTexts  # both languages
    starts_at: datetime
    ends_at: datetime
    seats: int
    seats_taken: int  # by accepted parties (member and guests), checked in and no-shows
    waitlisted: int
    guest_allowance: int
    production_id: str | None
    production_title: str | None
    eligibility: Eligibility
    eligibility_text: str  # "Open to members of the Gold tier and above who ...", in the locale
    invitations_open_at: datetime
    invitations_close_at: datetime
    purpose: Purpose
    interests: list[str]
    door_opens_at: datetime
    door_closes_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    created_by: str


# ---- issuing invitations ---------------------------------------------------------------------


class IssueInvitations(Model):
    """Invite up to ``count`` members (default: the experience's seats), in the fair order,
    within the guardrails. ``key`` makes it idempotent per experience. ``seed`` settles the
    draw (default: derived from the experience and the key); it is published in the report."""

    key: Key
    count: Annotated[int, Field(ge=1, le=10_000)] | None = None
    seed: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class IssuedInvitation(Model):
    invitation_id: UUID
    member_id: UUID
    position: int  # in the fair order, 1 for the first
    channel: Channel
    deliver_after: datetime | None  # held for quiet hours: delivered no earlier than this


class SparedMember(Model):
    member_id: UUID
    position: int
    reasons: list[Suppression]  # every guardrail that failed; the first is the one counted


class IssuanceReport(Model):
    """What one issuance did, readable later. ``suppressed_by_reason`` counts each spared member
    once, by the first failing guardrail; ``suppressed_by_any_reason`` by every failing one;
    both list every reason, zeros included."""

    id: UUID
    experience_id: UUID
    key: str
    issued_at: datetime
    issued_by: str
    seed: str
    order: str  # the fair order in words, in the locale asked for
    candidates: int  # members considered
    eligible: int  # of them, meeting the eligibility conditions
    issued: int  # invitations written (held included)
    held: int  # of them, held for quiet hours
    suppressed: int
    not_reached: int  # eligible members past the count, neither invited nor spared
    suppressed_by_reason: dict[Suppression, int]
    suppressed_by_any_reason: dict[Suppression, int]
    invitations: list[IssuedInvitation]
    spared: list[SparedMember]
    created: bool = False  # this request issued it (False: replayed by key, or read later)


# ---- the member's side -----------------------------------------------------------------------


class GuestIn(Model):
    """A guest the member brings: a name, and optionally an email or phone (kept so that the
    referrals capability can turn the guest into a referral)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None


class Guest(Model):
    name: str
    email: str | None
    phone: str | None


class ResponseAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"


class RespondToInvitation(Model):
    """Accept (with up to the allowance of guests; when full, join the waitlist), decline, or
    cancel (releasing seats; the waitlist is promoted in order). ``member_id``: the member
    answering, who must be the caller."""

    member_id: UUID
    action: ResponseAction
    guests: list[GuestIn] = Field(default=[], max_length=20)


class DoorPass(Model):
    """What an accepted invitation shows at the door. ``token`` is an EdDSA JWT (claims in
    ``door_pass``), verifiable offline with ``/.well-known/jwks.json``; ``qr_svg`` encodes it."""

    code: str  # the short code, as shown: "7KQM-X3TD"
    token: str
    qr_svg: str
    valid_from: datetime  # the door opens
    valid_until: datetime  # the door closes


class ExperienceSummary(Model):
    id: UUID
    venue_id: UUID
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    guest_allowance: int
    production_id: str | None
    production_title: str | None
    cancelled: bool


class MemberInvitation(Model):
    id: UUID
    member_id: UUID
    experience: ExperienceSummary
    state: InvitationState
    offered_at: datetime
    respond_by: datetime  # offers expire then
    deliver_after: datetime | None
    why_chosen: str  # in the locale asked for
    why_chosen_en: str
    why_chosen_fr: str
    guests: list[Guest]
    guest_seats: int  # seats for guests held (accepted) or asked for (waitlisted)
    waitlist_position: int | None  # 1 for the first in line
    door: DoorPass | None  # only while accepted
    checked_in_at: datetime | None
    guests_checked_in: int
    rating: int | None
    comment: str | None


class RateExperience(Model):
    member_id: UUID
    score: Annotated[int, Field(ge=0, le=10)]
    comment: Comment | None = None


class Rating(Model):
    invitation_id: UUID
    experience_id: UUID
    score: int
    comment: str | None
    rated_at: datetime


# ---- the door --------------------------------------------------------------------------------


class RedeemInvitation(Model):
    """One scan at the door: a typed ``code`` or a scanned QR ``token`` (exactly one).
    ``venue_id``: where the staff member stands (optional when their account has one venue)."""

    code: ScanInput | None = None
    token: ScanInput | None = None
    venue_id: UUID | None = None
    device_id: DeviceId | None = None


class OfflineScan(Model):
    """A scan made without network. ``scan_id`` (the device's own id for the scan) makes it
    settle once: the same ``(device_id, scan_id)`` again answers the first outcome and changes
    nothing."""

    scan_id: Key
    code: ScanInput | None = None
    token: ScanInput | None = None
    scanned_at: AwareDatetime


class RedeemBatch(Model):
    device_id: DeviceId
    venue_id: UUID | None = None
    scans: list[OfflineScan] = Field(min_length=1, max_length=500)


class _Outcome(Model):
    message: str  # for the person at the door, in the locale asked for


class CheckedIn(_Outcome):
    kind: Literal["checked_in"] = "checked_in"
    invitation_id: UUID
    experience_id: UUID
    member_id: UUID  # the gateway adds the member's display name from identity
    tier: str | None  # the tier's key
    tier_name: str | None  # in the locale asked for
    guests_expected: int
    checked_in_at: datetime
    points: int | None  # awarded for attending, when the earn was recorded


class AlreadyCheckedIn(_Outcome):
    kind: Literal["already_checked_in"] = "already_checked_in"
    invitation_id: UUID
    member_id: UUID
    checked_in_at: datetime
    checked_in_by: str  # the staff account's actor label, "staff:<id>"
    guests_expected: int


class WrongVenue(_Outcome):
    kind: Literal["wrong_venue"] = "wrong_venue"


class OutsideWindow(_Outcome):
    kind: Literal["outside_window"] = "outside_window"
    door_opens_at: datetime
    door_closes_at: datetime


class Cancelled(_Outcome):
    kind: Literal["cancelled"] = "cancelled"
    invitation_id: UUID


class NotAccepted(_Outcome):
    """The invitation exists but holds no seat (offered, waitlisted, declined, expired...)."""

    kind: Literal["not_accepted"] = "not_accepted"
    invitation_id: UUID
    state: InvitationState


class NotFound(_Outcome):
    kind: Literal["not_found"] = "not_found"


class Unreadable(_Outcome):
    """Typed input that cannot be a code (``problem``: a door code's ``CodeProblem`` value,
    e.g. ``CODE_CHECK_FAILED``) or a token whose signature or claims fail."""

    kind: Literal["unreadable"] = "unreadable"
    problem: str


class Throttled(_Outcome):
    kind: Literal["throttled"] = "throttled"
    retry_after_seconds: int


RedeemOutcome = Annotated[
    CheckedIn
    | AlreadyCheckedIn
    | WrongVenue
    | OutsideWindow
    | Cancelled
    | NotAccepted
    | NotFound
    | Unreadable
    | Throttled,
    Field(discriminator="kind"),
]


class Redemption(Model):
    """The answer of ``POST /door/redeem``."""

    outcome: RedeemOutcome


class ScanResult(Model):
    scan_id: str
    outcome: RedeemOutcome
    replayed: bool  # this scan had been settled before: its first outcome, nothing changed


class BatchOutcome(Model):
    results: list[ScanResult]  # in the order of the scans


# ---- figures and jobs ------------------------------------------------------------------------


class Figures(Model):
    """``invited``: invitations issued; ``accepted``: accepted at some point (promotions from
    the waitlist included); ``checked_in``; ``no_shows``: accepted, door closed, not checked in;
    ``guests``: guests reserved by those holding seats; ``guests_checked_in``. ``score``:
    promoters minus detractors in percent, one decimal (``None`` without ratings)."""

    invited: int
    accepted: int
    declined: int
    expired: int
    cancelled: int
    waitlisted: int
    checked_in: int
    no_shows: int
    guests: int
    guests_checked_in: int
    suppressions: dict[Suppression, int]  # by first reason, every reason listed
    ratings: int
    promoters: int
    passives: int
    detractors: int
    score: Decimal | None


class ExperienceFigureRow(Model):
    experience_id: UUID
    venue_id: UUID
    title: str
    starts_at: datetime
    figures: Figures


class VenueFigureRow(Model):
    venue_id: UUID
    experiences: int
    figures: Figures


class ExperienceFigures(Model):
    venues: list[VenueFigureRow]
    experiences: list[ExperienceFigureRow]  # by start, newest first


class ExperienceJobReport(Model):
    expired: int  # offers past the window, and waitlist places past the start
    no_shows: int
    attendance_earns: int  # check-ins whose attendance earn was recorded now
