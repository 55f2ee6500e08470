"""The loyalty service's internal HTTP API: request and response models (the gateway imports only this).

Expected failures come back as a ``ProblemBody`` (``code``, ``message``, ``details``) with a 4xx
status; the codes are listed in ``ProblemCode`` and are stable.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.common.instants import Instant, in_utc_range
from services.common.money import currency_code

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9_-]+$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=2)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(currency_code)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProblemCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    FORBIDDEN = "FORBIDDEN"
    WRONG_VENUE = "WRONG_VENUE"  # staff acting for a venue they do not work for
    NO_RULES_IN_FORCE = "NO_RULES_IN_FORCE"
    EVENT_TOO_OLD = "EVENT_TOO_OLD"
    EVENT_IN_FUTURE = "EVENT_IN_FUTURE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # same key, different request
    EARN_NOT_FOUND = "EARN_NOT_FOUND"
    ALREADY_REVERSED = "ALREADY_REVERSED"
    NOT_ENOUGH_POINTS = "NOT_ENOUGH_POINTS"
    REWARD_NOT_FOUND = "REWARD_NOT_FOUND"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    REWARD_NOT_YET_AVAILABLE = "REWARD_NOT_YET_AVAILABLE"  # before the reward's valid_from
    REWARD_NO_LONGER_AVAILABLE = "REWARD_NO_LONGER_AVAILABLE"  # from the reward's valid_until
    REDEMPTION_LIMIT_REACHED = "REDEMPTION_LIMIT_REACHED"  # the reward's per-member limit
    REWARD_KEY_TAKEN = "REWARD_KEY_TAKEN"  # a reward with that key exists, with other content
    REWARD_RETIRED = "REWARD_RETIRED"  # a retired reward cannot be changed
    INVALID_VALIDITY_WINDOW = "INVALID_VALIDITY_WINDOW"
    UNKNOWN_TIER = "UNKNOWN_TIER"
    RULE_SET_INVALID = "RULE_SET_INVALID"
    VERSION_NOT_NEXT = "VERSION_NOT_NEXT"
    RETROACTIVE = "RETROACTIVE"
    REDUCTION_NOT_ANNOUNCED = "REDUCTION_NOT_ANNOUNCED"
    MEMBER_ERASED = "MEMBER_ERASED"  # identity erased the member: no earn, redemption, check-in
    TRIGGER_NOT_ALLOWED = "TRIGGER_NOT_ALLOWED"  # outside the partner's API key's scope
    VENUE_NOT_ALLOWED = "VENUE_NOT_ALLOWED"
    REFERRALS_NOT_ALLOWED = "REFERRALS_NOT_ALLOWED"


class Locale(StrEnum):
    EN = "en"
    FR = "fr"


class Trigger(StrEnum):
    PURCHASE = "purchase"
    ATTENDANCE = "attendance"
    SUBSCRIPTION = "subscription"
    SIGNUP = "signup"
    BIRTHDAY = "birthday"
    REFERRAL_CONVERTED = "referral_converted"


class EntryKind(StrEnum):
    EARN = "earn"
    RELEASE = "release"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    MERGE = "merge"
    ADJUST = "adjust"


# ---- identity events ------------------------------------------------------------------------


#: The ids loyalty reads from the payloads of identity's events, by event type.
PAYLOAD_IDS = {
    "member.registered": ("member_id",),
    "identifier.linked": ("member_id",),
    "member.erased": ("member_id",),
    "preferences.updated": ("member_id",),
    "members.merged": ("survivor_id", "absorbed_id"),  # its member_id is the survivor's
}


def _is_uuid(value: object) -> bool:
    """A UUID as identity writes it: lowercase, with its hyphens (erasure finds events by it)."""
    if not isinstance(value, str):
        return False
    try:
        return str(UUID(value)) == value
    except ValueError:
        return False


def readable_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload, if loyalty can read what it reads of it: the ids its type carries, any
    ``member_id`` or ``merge_id`` as UUIDs, the identifiers' hashes as ``{kind: hash}``. The
    rest is kept as sent (preferences that cannot be read are left out when applied)."""
    for name in PAYLOAD_IDS.get(kind, ()):
        if not _is_uuid(payload.get(name)):
            raise ValueError(f"the payload's {name} must be a UUID")
    for name in ("member_id", "merge_id"):
        if payload.get(name) is not None and not _is_uuid(payload[name]):
            raise ValueError(f"the payload's {name} must be a UUID")
    hashes = payload.get("identifier_hashes")
    if hashes is not None and not (
        isinstance(hashes, dict)
        and all(isinstance(v, str) and len(v) <= 128 for v in hashes.values())
    ):
        raise ValueError("the payload's identifier_hashes must map kinds to hashes")
    return payload


class IdentityEvent(Model):
    event_id: UUID
    type: str = Field(max_length=100)
    occurred_at: Annotated[datetime, AfterValidator(in_utc_range)]
    payload: dict[str, Any]

    @model_validator(mode="after")
    def _payload_is_readable(self) -> IdentityEvent:
        readable_payload(self.type, self.payload)
        return self


class EventBatch(Model):
    events: list[IdentityEvent] = Field(max_length=1000)


class EventReceipt(Model):
    received: int
    duplicates: int


# ---- earning ---------------------------------------------------------------------------------


class EarnEvent(Model):
    """What happened: the facts the rules engine evaluates."""

    trigger: Trigger
    occurred_at: Instant
    amount: Amount | None = None
    currency: Currency | None = None  # ISO 4217
    category: Slug | None = None
    venue_id: UUID | None = None
    # the production booked (a purchase) or attended (attendance), as the ticketing system names it
    production_id: ExternalId | None = None


class RecordEarn(Model):
    """Record an earn. ``(source, external_id)`` makes it idempotent: the source is the caller's
    own namespace (a partner, or a venue's box office), derived from who is calling."""

    member_id: UUID
    external_id: ExternalId
    event: EarnEvent


class SimulateEarn(Model):
    member_id: UUID | None = None
    event: EarnEvent
    locale: Locale = Locale.EN


class ReverseEarn(Model):
    """Reverse an earn in full (no ``refunded_amount``) or in part, at most once."""

    external_id: ExternalId  # the original earn's external id, in the caller's source
    venue_id: UUID | None = None  # staff: the venue whose box office recorded the earn
    refunded_amount: Amount | None = None
    reason: Reason


class RedeemReward(Model):
    member_id: UUID
    reward_id: UUID
    idempotency_key: ExternalId


class PublishRuleSet(Model):
    document: dict[str, Any]
    idempotency_key: ExternalId | None = None


Cost = Annotated[int, Field(gt=0, le=10_000_000)]
Stock = Annotated[int, Field(ge=0, le=10_000_000)]
PerMemberLimit = Annotated[int, Field(ge=1, le=10_000)]


class CreateReward(Model):
    """Add a reward to the catalogue. The key makes it idempotent: the same request again gives
    back the same reward; the same key with different content is refused (``REWARD_KEY_TAKEN``).

    ``stock`` is the number of items left (none: unlimited); ``per_member_limit`` caps how many
    times one member may redeem it; the reward can be redeemed from ``valid_from`` (inclusive)
    until ``valid_until`` (exclusive); ``min_tier`` names a tier of the rules in force or coming."""

    key: Slug
    title_en: Reason
    title_fr: Reason
    description_en: Reason
    description_fr: Reason
    cost: Cost
    stock: Stock | None = None
    per_member_limit: PerMemberLimit | None = None
    min_tier: Slug | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None


class UpdateReward(Model):
    """Change a reward: only the fields sent change, and a field sent as null is cleared (no
    stock limit, no per-member limit, no minimum tier, an open validity bound). Texts and cost
    cannot be cleared."""

    title_en: Reason | None = None
    title_fr: Reason | None = None
    description_en: Reason | None = None
    description_fr: Reason | None = None
    cost: Cost | None = None
    stock: Stock | None = None
    per_member_limit: PerMemberLimit | None = None
    min_tier: Slug | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> UpdateReward:
        for name in REQUIRED_REWARD_FIELDS:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields sent, with their new values."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


REQUIRED_REWARD_FIELDS = ("title_en", "title_fr", "description_en", "description_fr", "cost")


# ---- views -----------------------------------------------------------------------------------


class AwardLine(Model):
    rule_key: str
    rule_version: int
    points: int
    reason: str
    pending_until: datetime | None = None
    counts_for_status: bool = True


class Award(Model):
    total: int
    lines: list[AwardLine]
    rule_version: int | None
    pending: int


class Entry(Model):
    id: UUID
    kind: EntryKind
    points: int  # the change to the member's balance (available and pending together)
    occurred_at: datetime
    recorded_at: datetime
    source: str
    external_id: str
    actor: str
    rule_version: int | None
    reverses_entry_id: UUID | None
    summary: str
    lines: list[AwardLine]


class EarnOutcome(Model):
    entry: Entry
    created: bool
    balance: int
    pending: int


class ReverseOutcome(Model):
    entry: Entry
    created: bool
    points_reversed: int
    shortfall: int  # points already spent, that could not be taken back
    balance: int


class RewardTexts(Model):
    title_en: str
    title_fr: str
    description_en: str
    description_fr: str


class Reward(Model):
    id: UUID
    key: str
    title: str  # in the locale asked for
    description: str
    texts: RewardTexts  # both languages, for those who manage the catalogue
    cost: int
    stock: int | None
    min_tier: str | None
    active: bool
    eligible: bool | None = None  # for the member asked about
    ineligible_reason: str | None = None
    per_member_limit: int | None = None
    valid_from: datetime | None = None  # inclusive
    valid_until: datetime | None = None  # exclusive
    retired_at: datetime | None = None
    redeemed_by_member: int | None = None  # for the member asked about


class Redemption(Model):
    id: UUID
    reward: Reward
    voucher_code: str
    cost: int
    created_at: datetime
    entry: Entry
    created: bool
    balance: int


class Tier(Model):
    key: str
    name: str
    threshold: int
    benefits: list[str]
    description: str


class TierProgress(Model):
    current: Tier | None
    next: Tier | None
    status_points: int
    points_to_next: int | None
    points_to_keep: int
    keep_by: datetime | None
    qualifying_until: datetime | None
    counts_toward: str
    policy: str


class PendingRelease(Model):
    points: int
    available_at: datetime


class HistoryPage(Model):
    entries: list[Entry]
    end_cursor: str | None
    has_next_page: bool


class Account(Model):
    member_id: UUID
    balance: int
    pending: int
    pending_releases: list[PendingRelease]
    next_expiry: PendingRelease | None
    tier: TierProgress
    history: HistoryPage


class RuleView(Model):
    key: str
    title: str
    trigger: Trigger
    description: str
    exclusive_group: str | None
    pending_days: int
    counts_for_status: bool


class Change(Model):
    kind: str
    rule_key: str | None
    lowers_earnings: bool
    summary: str


class RuleSetVersion(Model):
    version: int
    effective_at: datetime
    published_at: datetime
    published_by: str
    changes: list[Change]
    in_force: bool
    upcoming: bool


class Rulebook(Model):
    locale: Locale
    version: int | None
    effective_at: datetime | None
    currency: str
    rules: list[RuleView]
    tiers: list[Tier]
    policies: list[str]
    changelog: list[RuleSetVersion]  # newest first, upcoming versions included


class PublishedRuleSet(Model):
    version: int
    effective_at: datetime
    published_at: datetime
    changes: list[Change]
    created: bool


class Liability(Model):
    outstanding: int  # points held by members, available and pending
    issued: int
    redeemed: int
    expired: int
    reversed: int
    as_of: datetime


class JobReport(Model):
    released_lots: int
    released_points: int
    expired_lots: int
    expired_points: int
    members: int


class ExportedEntry(Entry):
    """An entry as the member's export shows it: with the event it recorded, as it came."""

    event: dict[str, Any] | None = None
    production_id: str | None = None


class MemberExport(Model):
    """Everything loyalty holds on a member (and on the members merged into them)."""

    member_id: UUID
    events_received: list[IdentityEvent]
    entries: list[ExportedEntry]
    redemptions: list[dict[str, Any]]
    contact_preferences: list[dict[str, Any]] = []  # as kept from identity's events
    invitations: list[dict[str, Any]] = []  # with the guests named and the door's scans
    suppressions: list[dict[str, Any]] = []  # invitations the guardrails spared them
    referral_code: str | None = None
    referrals_made: list[dict[str, Any]] = []  # their state, never who was named
    referrals_received: list[dict[str, Any]] = []  # their state, never who referred
