# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The expected outcomes of managing experiences and issuing invitations, and how a
refusal of the loyalty service becomes one of them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import unexpected
from graphql_schema.errors import UserError
from graphql_schema.experiences.outputs import Experience
from graphql_schema.experiences.report import IssuanceReport
from graphql_schema.types import NotFound
from services.loyalty.experiences import contract as ec


@strawberry.type
class ExperienceCreated:
    experience: Experience
    created: bool = strawberry.field(description="False when the key was already used.")


@strawberry.type
class ExperienceUpdated:
    experience: Experience


@strawberry.type(description="Cancelled for good; every live invitation is cancelled with it.")
class ExperienceCancelled:
    experience: Experience


@strawberry.type
class InvitationsIssued:
    report: IssuanceReport
    created: bool = strawberry.field(
        description="False when the key was already used: the first issuance's report."
    )


@strawberry.type(description="An experience with this key exists, with other content.")
class ExperienceKeyTaken(UserError):
    experience_id: strawberry.ID


@strawberry.type(
    description="The times are out of order: invitations open, close, the start, the end."
)
class InvalidSchedule(UserError):
    pass


@strawberry.type(
    description="A condition would hold for nobody (an unknown tier, 'this production' for an "
    "experience without one)."
)
class InvalidEligibility(UserError):
    errors: list[str]


@strawberry.type(description="Fewer seats than are taken already.")
class SeatsBelowTaken(UserError):
    seats_taken: int | None


@strawberry.type(
    description="The experience cannot change any more: EXPERIENCE_CANCELLED (cancelled) or "
    "EXPERIENCE_STARTED (it has started)."
)
class ExperienceClosed(UserError):
    pass


@strawberry.type(
    description="Outside the invitation window: INVITATIONS_NOT_OPEN or INVITATIONS_CLOSED."
)
class InvitationWindowClosed(UserError):
    opens_at: dt.datetime | None = strawberry.field(description="When invitations open.")


@strawberry.type(description="This issuance key was used for another request.")
class IssuanceKeyReused(UserError):
    pass


CreateExperienceResult = Annotated[
    ExperienceCreated | ExperienceKeyTaken | InvalidSchedule | InvalidEligibility,
    strawberry.union("CreateExperienceResult"),
]
UpdateExperienceResult = Annotated[
    ExperienceUpdated
    | NotFound
    | ExperienceClosed
    | InvalidSchedule
    | InvalidEligibility
    | SeatsBelowTaken,
    strawberry.union("UpdateExperienceResult"),
]
CancelExperienceResult = Annotated[
    ExperienceCancelled | NotFound | ExperienceClosed, strawberry.union("CancelExperienceResult")
]
IssueInvitationsResult = Annotated[
    InvitationsIssued | NotFound | ExperienceClosed | InvitationWindowClosed | IssuanceKeyReused,
    strawberry.union("IssueInvitationsResult"),
]


Refusal = (
    NotFound
    | ExperienceKeyTaken
    | InvalidSchedule
    | InvalidEligibility
    | SeatsBelowTaken
    | ExperienceClosed
    | InvitationWindowClosed
    | IssuanceKeyReused
)


def refusal(problem: ServiceProblem) -> Refusal:
    """A refusal of the service as a typed outcome; anything else is a coded error."""
    code, message, details = problem.code, problem.message, problem.details
    p = ec.ExperienceProblem
    if code in (p.EXPERIENCE_NOT_FOUND, p.ISSUANCE_NOT_FOUND):
        return NotFound(message=message, code=code)
    if code == p.EXPERIENCE_KEY_TAKEN:
        experience_id = strawberry.ID(str(details.get("experience_id", "")))
        return ExperienceKeyTaken(message=message, code=code, experience_id=experience_id)
    if code == p.INVALID_SCHEDULE:
        return InvalidSchedule(message=message, code=code)
    if code == p.INVALID_ELIGIBILITY:
        errors = [str(e) for e in details.get("errors", [])] or [message]
        return InvalidEligibility(message=message, code=code, errors=errors)
    if code == p.SEATS_BELOW_TAKEN:
        taken = details.get("seats_taken")
        return SeatsBelowTaken(
            message=message, code=code, seats_taken=int(taken) if taken is not None else None
        )
    if code in (p.EXPERIENCE_CANCELLED, p.EXPERIENCE_STARTED):
        return ExperienceClosed(message=message, code=code)
    if code in (p.INVITATIONS_NOT_OPEN, p.INVITATIONS_CLOSED):
        opens_at = details.get("opens_at")
        return InvitationWindowClosed(
            message=message,
            code=code,
            opens_at=dt.datetime.fromisoformat(str(opens_at)) if opens_at else None,
        )
    if code == p.ISSUANCE_KEY_REUSED:
        return IssuanceKeyReused(message=message, code=code)
    raise unexpected(problem) from None
