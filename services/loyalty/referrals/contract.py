"""The internal HTTP API of referrals: request and response models (the gateway imports this and
``services.loyalty.contract`` only).

Routes, all JSON, under ``/internal`` (``?locale=en|fr`` where texts are returned):

====== ======================================= ========================================= =========
method path                                    body -> answer                            who
====== ======================================= ========================================= =========
GET    /members/{id}/referral-code             -> MemberCode (given on first read)       member, admin
GET    /referral-codes?code=                   -> CodeCheck                              anyone
POST   /referrals                              RegisterReferral -> ReferralDecision      partner
POST   /referrals/signup                       SignupReferral -> ReferralDecision        system
POST   /referrals/guest                        GuestReferral -> ReferralDecision         system
GET    /partner/referrals?first=&after=        -> PartnerReferrals (its own only)        partner
GET    /members/{id}/referrals                 -> list[MemberReferral]                   member, admin
GET    /ambassadors?first=                     -> AmbassadorBoard                        admin
PUT    /partner/webhook                        SetWebhook -> WebhookSettings             partner, admin
POST   /partner/webhook/rotate                 RotateSecret -> WebhookSettings           partner, admin
GET    /partner/webhook/deliveries?first=      -> list[Delivery] (its own only)          partner, admin
POST   /jobs/referrals                         -> JobReport (effects and deliveries due) admin
====== ======================================= ========================================= =========

A referee is given as identity's resolution: the keyed hashes of their normalised email and
phone, and the members these identifiers belong to now. Loyalty never sees the identifiers.
Accepted and refused registrations are both answered 200 (201 for a new referral), as a
``ReferralDecision``; a refusal's code is one of ``PublicRejection``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.common.instants import Instant
from services.loyalty.referrals.conversion import Status
from services.loyalty.referrals.model import ConsentMethod

__all__ = ["ConsentMethod", "Status"]

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CodeText = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PublicRejection(StrEnum):
    """Why a registration was refused, as the caller is told. A partner never learns whether a
    person is a member: a self-referral, a referee who is already a member and a referee that
    someone else referred within the window are all ``NOT_ELIGIBLE`` (admins see which)."""

    UNKNOWN_CODE = "UNKNOWN_CODE"
    NO_CONSENT = "NO_CONSENT"
    CONSENT_IN_FUTURE = "CONSENT_IN_FUTURE"
    CONSENT_TOO_OLD = "CONSENT_TOO_OLD"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    DUPLICATE_REFERRAL = "DUPLICATE_REFERRAL"  # this caller's own earlier referral of them
    OVER_CAP = "OVER_CAP"


class ReferralProblem(StrEnum):
    REFERENCE_REUSED = "REFERENCE_REUSED"  # the same reference, for a different referral
    NO_REFEREE = "NO_REFEREE"  # neither an email nor a phone
    WEBHOOK_URL_REFUSED = "WEBHOOK_URL_REFUSED"
    NO_WEBHOOK = "NO_WEBHOOK"
    PARTNER_ONLY = "PARTNER_ONLY"


class Channel(StrEnum):
    PARTNER = "partner"
    SIGNUP = "signup"
    GUEST = "guest"


class Consent(Model):
    method: ConsentMethod
    given_at: Instant


class RefereeIdentity(Model):
    """Identity's resolution of the referee: keyed hashes, and who they belong to now."""

    email_hash: Hash | None = None
    phone_hash: Hash | None = None
    member_ids: list[UUID] = Field(default=[], max_length=2)


class RegisterReferral(Model):
    code: CodeText
    reference: Reference
    referee: RefereeIdentity
    consent: Consent | None = None


class SignupReferral(Model):
    """A new member joined with a member's code: they are the referee, and consented."""

    code: CodeText
    member_id: UUID
    registered_at: Instant
    referee: RefereeIdentity


class GuestReferral(Model):
    """A guest a member named, with an email or phone, on an invitation they accepted: a
    referral by that member (the member vouched for them: consent stated as spoken)."""

    member_id: UUID
    invitation_id: UUID
    position: int = Field(ge=0, le=50)
    accepted_at: Instant
    referee: RefereeIdentity


class DueGuest(Model):
    """A guest whose referral is still to be registered (the acceptance kept the intent): their
    email or phone, for identity to resolve; ``attempts`` counts this one."""

    member_id: UUID
    invitation_id: UUID
    position: int
    accepted_at: Instant
    attempts: int
    email: str | None
    phone: str | None


class GuestDone(Model):
    """A guest not to be referred after all (identity refused their email or phone)."""

    invitation_id: UUID
    position: int = Field(ge=0, le=50)


class MemberCode(Model):
    code: str  # as printed: K7QM-4XRF
    link: str


class CodeCheck(Model):
    code: str | None  # canonical display, when the text is a code some member has
    valid: bool
    problem: (
        str | None
    )  # CODE_WRONG_LENGTH, CODE_UNKNOWN_CHARACTER, CODE_CHECK_FAILED, UNKNOWN_CODE


class PartnerReferral(Model):
    id: UUID
    reference: str
    code: str
    status: Status
    registered_at: datetime
    holds_until: datetime
    joined_at: datetime | None
    converted_at: datetime | None
    voided_at: datetime | None


class ReferralDecision(Model):
    accepted: bool
    created: bool
    referral: PartnerReferral | None = None
    rejection: PublicRejection | None = None
    message: str | None = None


class ConversionFigures(Model):
    registered: int
    pending: int
    joined: int
    converted: int
    voided: int
    expired: int
    conversion_percent: int  # converted as a share of registered, rounded down


class PartnerReferrals(Model):
    referrals: list[PartnerReferral]
    end_cursor: str | None
    has_next_page: bool
    figures: ConversionFigures


class MemberReferral(Model):
    """One person the member brought in, without who they are."""

    id: UUID
    channel: Channel
    status: Status
    status_text: str
    registered_at: datetime
    converted_at: datetime | None
    points: int  # what the referrer was given for it (0 until converted, or after a void)


class Ambassador(Model):
    member_id: UUID
    rank: int
    score: int
    referees: int
    stayed: int
    attended: int
    returned: int
    quality_percent: int
    summary: str


class RejectionCount(Model):
    reason: str  # the precise reason (SELF_REFERRAL, ALREADY_MEMBER, ...)
    count: int


class AmbassadorBoard(Model):
    as_of: datetime
    rules: str
    ambassadors: list[Ambassador]
    rejections: list[RejectionCount]  # over the same 90 days


class SetWebhook(Model):
    url: Url
    partner_id: UUID | None = None  # admins name the partner; a partner sets its own
    allow_loopback_http: bool | None = None  # admins only


class RotateSecret(Model):
    partner_id: UUID | None = None


class WebhookSettings(Model):
    partner_id: UUID
    url: str
    secret: str | None  # shown when set first and when rotated
    previous_secret_valid_until: datetime | None
    loopback_http_allowed: bool
    updated_at: datetime


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Attempt(Model):
    attempted_at: datetime
    url: str
    status_code: int | None
    error: str | None
    duration_ms: int


class Delivery(Model):
    id: UUID
    message_id: str
    event_type: str
    referral_id: UUID
    status: DeliveryStatus
    attempts: list[Attempt]
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    gave_up_at: datetime | None
    give_up_reason: str | None


class JobReport(Model):
    effects: int
    deliveries: int
