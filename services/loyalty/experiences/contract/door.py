"""The door (redemptions, offline batches, their typed outcomes), the figures and the job."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from services.common.instants import Instant
from services.loyalty.experiences.contract.base import (
    DeviceId,
    Key,
    Model,
    ScanInput,
)
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.model import InvitationState

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
    scanned_at: Instant


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
