"""The member's side: invitations as they stand, answers, door passes, ratings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from services.loyalty.experiences.contract.base import (
    Comment,
    Model,
)
from services.loyalty.experiences.model import InvitationState

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
