"""Experiences and the issuing of invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from services.common.instants import Instant
from services.loyalty.experiences.contract.base import (
    DoorMinutes,
    Guests,
    Interest,
    Key,
    Model,
    Reference,
    Seats,
    Text,
    Title,
)
from services.loyalty.experiences.eligibility import Eligibility
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.model import Channel, Purpose

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
    starts_at: Instant
    ends_at: Instant
    seats: Seats
    guest_allowance: Guests = 0
    production_id: Reference | None = None
    production_title: Title | None = None
    eligibility: Eligibility = Eligibility()
    invitations_open_at: Instant
    invitations_close_at: Instant
    purpose: Purpose = Purpose.TICKET_HOLDERS
    interests: list[Interest] = Field(default=[], max_length=30)
    door_opens_minutes_before: DoorMinutes = 120
    door_closes_minutes_after: Annotated[int, Field(ge=1, le=24 * 60)] = 60


class UpdateExperience(Model):
    """Change an experience before it starts: only the fields sent change (``production_id``
    and ``production_title`` may be sent as null to clear them). Seats never fall below the
    seats taken; the venue never changes."""

    texts: ExperienceTexts | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    seats: Seats | None = None
    guest_allowance: Guests | None = None
    production_id: Reference | None = None
    production_title: Title | None = None
    eligibility: Eligibility | None = None
    invitations_open_at: Instant | None = None
    invitations_close_at: Instant | None = None
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
