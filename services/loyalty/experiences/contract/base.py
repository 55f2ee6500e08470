"""What the experiences' contract models share: the base model, field types, refusal codes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
