"""The identity service's internal HTTP API: request and response models.

The gateway imports only this module of the service. Expected failures come back as a
``ProblemBody`` (``code``, ``message``, ``details``) with a 4xx status; the codes are listed in
``ProblemCode`` and are stable.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Interest = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProblemCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_IDENTIFIER = "INVALID_IDENTIFIER"
    IDENTIFIER_TAKEN = "IDENTIFIER_TAKEN"  # owned by another member: a conflict, never a takeover
    EMAIL_TAKEN = "EMAIL_TAKEN"  # staff account email already in use
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"  # the whole family is now revoked
    API_KEY_INVALID = "API_KEY_INVALID"
    MEMBER_NOT_FOUND = "MEMBER_NOT_FOUND"
    MEMBER_ERASED = "MEMBER_ERASED"
    VENUE_NOT_FOUND = "VENUE_NOT_FOUND"
    PARTNER_NOT_FOUND = "PARTNER_NOT_FOUND"
    API_KEY_NOT_FOUND = "API_KEY_NOT_FOUND"
    SAME_MEMBER = "SAME_MEMBER"
    ALREADY_MERGED = "ALREADY_MERGED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # same key, different request
    FORBIDDEN = "FORBIDDEN"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"  # sign-in throttled: details.retry_after_seconds
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"  # among the most common passwords
    PASSWORD_TOO_SIMPLE = "PASSWORD_TOO_SIMPLE"  # repetitive or sequential
    PASSWORD_CONTAINS_IDENTIFIER = "PASSWORD_CONTAINS_IDENTIFIER"  # the email, name or phone
    # verifying an email or a phone with its one-time code
    CODE_INVALID = "CODE_INVALID"  # wrong code: details.attempts_left
    CODE_EXPIRED = "CODE_EXPIRED"  # ask for a new one
    CODE_ATTEMPTS_EXHAUSTED = "CODE_ATTEMPTS_EXHAUSTED"  # no guess left: ask for a new one
    NOTHING_TO_VERIFY = "NOTHING_TO_VERIFY"  # not waiting for a code (or already verified)
    TOO_MANY_CODES = "TOO_MANY_CODES"  # sent too recently or too often: details.retry_after_seconds
    TOO_MANY_PENDING = "TOO_MANY_PENDING"  # too many identifiers waiting for their code


class Locale(StrEnum):
    EN = "en"
    FR = "fr"


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    MEMBERSHIP_CARD = "membership_card"
    TICKETING_ID = "ticketing_id"
    DEVICE = "device"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    POST = "post"


class AccountRole(StrEnum):
    STAFF = "staff"
    ADMIN = "admin"


class Portal(StrEnum):
    MEMBER = "member"
    STAFF = "staff"  # staff and admin accounts


class MemberStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    ERASED = "erased"


class EventType(StrEnum):
    """Events identity delivers to loyalty (``POST /internal/events``), at least once.

    Every payload carries ``member_id``. ``member.registered`` also carries ``locale``,
    ``birth_date`` (ISO date or null), ``preferences`` and ``identifier_hashes`` (``{"email":
    hash, "phone": hash}``: the keyed hashes of the normalised email and phone, see
    ``RefereeResolution``); ``identifier.linked`` carries ``kind`` and, for an email or a phone,
    ``identifier_hash`` (a card, ticketing id or device is linked at once; an email or a phone
    once its code is verified);
    ``members.merged`` carries ``survivor_id`` (= ``member_id``), ``absorbed_id`` and ``merge_id``;
    ``member.erased`` carries ``erased_at``; ``preferences.updated`` carries ``preferences``
    (``consents`` as ``{channel: granted}``, ``invitation_cap_per_30_days``, ``quiet_hours``
    (``{start, end, timezone}`` or null) and ``interests``). Once a member is erased, the events
    about them keep only ids, kinds and times (also those not yet delivered).
    """

    MEMBER_REGISTERED = "member.registered"
    IDENTIFIER_LINKED = "identifier.linked"
    MEMBERS_MERGED = "members.merged"
    MEMBER_ERASED = "member.erased"
    PREFERENCES_UPDATED = "preferences.updated"
    # a one-time code to send to an email or phone, for the messaging system (``kind``,
    # ``value``: where to send it, ``verification_code``, ``expires_at``, ``locale``,
    # ``verification_id``); the code is cleared from the event once used, replaced or expired,
    # and loyalty receives the event without the code or the address
    IDENTIFIER_VERIFICATION_REQUESTED = "identifier.verification_requested"
    # someone tried to join with this member's email or phone (``kind``, ``attempted_at``): a
    # notice for the owner, since the public API answers such a registration like any other
    REGISTRATION_ATTEMPTED = "registration.attempted"


# ---- members ---------------------------------------------------------------------------------


class RegisterMember(Model):
    email: Email
    password: Password
    display_name: Text | None = None
    locale: Locale = Locale.EN
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    birth_date: datetime | None = None
    idempotency_key: IdempotencyKey | None = None


class Identifier(Model):
    kind: IdentifierKind
    value: str  # normalised
    linked_at: datetime
    verified: bool = False


class Consent(Model):
    channel: Channel
    granted: bool
    at: datetime
    source: str


class QuietHours(Model):
    start: time
    end: time
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "Europe/Paris"


class Preferences(Model):
    consents: list[Consent]
    invitation_cap_per_30_days: int
    quiet_hours: QuietHours | None
    interests: list[str]


class Member(Model):
    id: UUID
    status: MemberStatus
    display_name: str | None
    locale: Locale
    created_at: datetime
    identifiers: list[Identifier]
    preferences: Preferences
    merged_from: list[UUID] = []
    birth_date: date | None = None


class LinkIdentifier(Model):
    kind: IdentifierKind
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class IdentifierRef(Model):
    """One of the member's identifiers, as they typed it."""

    kind: IdentifierKind
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class VerifyIdentifier(IdentifierRef):
    verification_code: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class VerificationSent(Model):
    """A code is on its way to the identifier: good until ``expires_at``."""

    identifier: Identifier
    expires_at: datetime
    resend_after: datetime


class ConsentChange(Model):
    channel: Channel
    granted: bool


class UpdatePreferences(Model):
    consents: list[ConsentChange] = Field(default=[], max_length=10)
    invitation_cap_per_30_days: int | None = Field(default=None, ge=0, le=30)
    quiet_hours: QuietHours | None = None
    clear_quiet_hours: bool = False
    interests: list[Interest] | None = Field(default=None, max_length=30)
    source: Annotated[str, StringConstraints(min_length=1, max_length=60)] = "member_app"


class Resolution(Model):
    member_id: UUID
    kind: IdentifierKind
    value: str


class MergeMembers(Model):
    survivor_id: UUID
    absorbed_id: UUID
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class MergeResult(Model):
    merge_id: UUID
    survivor_id: UUID
    absorbed_id: UUID
    merged_at: datetime
    identifiers_moved: int


class Erasure(Model):
    member_id: UUID
    erased_at: datetime


class MemberExport(Model):
    """Everything identity holds on a member (principle 6)."""

    member: Member
    consent_history: list[Consent]
    merges: list[MergeResult]
    absorbed_members: list[dict[str, Any]] = []  # the duplicates merged into them, as registered
    sessions: list[dict[str, str | None]]
    audit: list[dict[str, Any]] = []  # the audit log's rows about the member, or by them
    exported_at: datetime


# ---- sessions --------------------------------------------------------------------------------


class Login(Model):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    portal: Portal = Portal.MEMBER
    # the public caller's address, as the gateway saw it: failed attempts are throttled per
    # address as well as per account
    client_address: Annotated[str, StringConstraints(max_length=100)] | None = None


class Refresh(Model):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class Session(Model):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    subject_kind: str  # member | staff | admin
    subject_id: UUID


class RevocationKind(StrEnum):
    SESSION = "session"  # a refresh family: every access token whose ``sid`` is the subject
    MEMBER = "member"  # every access token of the member issued up to ``revoked_at``
    API_KEY = "api_key"  # a partner's API key
    # a partner's API key whose scope changed: gateways forget what they remembered of it
    API_KEY_SCOPE = "api_key_scope"


# A kind this reader does not know (a newer identity's) is kept as its name, never a failure of
# the whole page: gateways are upgraded after identity, and must go on following the feed.
UnknownRevocationKind = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class Revocation(Model):
    id: int
    kind: Annotated[RevocationKind | UnknownRevocationKind, Field(union_mode="left_to_right")]
    subject: str
    revoked_at: datetime
    expires_at: datetime  # no token it concerns can be valid after this


class RevocationPage(Model):
    """Revocations after a cursor (all those in force when no cursor is given)."""

    cursor: int  # ask for those after it next
    revocations: list[Revocation]
    more: bool  # another page is ready at once


# ---- organisations and credentials -----------------------------------------------------------


class CreateVenue(Model):
    name: Text
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "Europe/Paris"
    external_id: IdempotencyKey | None = None


class Venue(Model):
    id: UUID
    name: str
    timezone: str
    external_id: str | None
    created_at: datetime


class CreatePartner(Model):
    name: Text
    kind: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "reseller"
    external_id: IdempotencyKey | None = None


class Partner(Model):
    id: UUID
    name: str
    kind: str
    external_id: str | None
    created_at: datetime


class CreateStaffAccount(Model):
    email: Email
    password: Password
    display_name: Text | None = None
    role: AccountRole = AccountRole.STAFF
    venue_ids: list[UUID] = Field(default=[], max_length=50)


class StaffAccount(Model):
    id: UUID
    email: str
    display_name: str | None
    role: AccountRole
    venue_ids: list[UUID]
    created_at: datetime


Trigger = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]


class PartnerScope(Model):
    """What a partner's key may do, set by admins: record events of these triggers (loyalty's
    trigger names), at these venues (``None``: any venue), and register referrals or not."""

    triggers: list[Trigger] = Field(default=["purchase"], max_length=10)
    venue_ids: list[UUID] | None = Field(default=None, max_length=200)
    register_referrals: bool = False


class IssueApiKey(Model):
    label: Text = "default"
    idempotency_key: IdempotencyKey | None = None
    scope: PartnerScope = PartnerScope()


class ApiKey(Model):
    id: UUID
    partner_id: UUID
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    scope: PartnerScope = PartnerScope()


class IssuedApiKey(Model):
    key: ApiKey
    secret: str | None  # shown once: None when an idempotent retry returns an already-issued key


class VerifyApiKey(Model):
    api_key: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PartnerPrincipal(Model):
    partner_id: UUID
    key_id: UUID
    scope: PartnerScope = PartnerScope()


# ---- referees --------------------------------------------------------------------------------


class ResolveReferee(Model):
    """Someone a partner or a member names as a referee."""

    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None


class RefereeResolution(Model):
    """The referee's normalised identifiers as keyed hashes (HMAC-SHA256 under a secret only
    identity holds, hex), and the members they belong to now (survivors of merges). The hashes
    let loyalty recognise the same person later without ever holding the identifiers."""

    email_hash: str | None
    phone_hash: str | None
    member_ids: list[UUID]
