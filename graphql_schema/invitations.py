# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Invitations, on the member's side: ``me { invitations }`` (built here, see ``members``) with
each invitation's state, why the member was chosen (in English and French) and, once accepted,
the door pass (its short code, its signed token and the QR code of it, as SVG); answering an
invitation (accept with guests, decline, cancel) and rating the evening after it. Guests named
with an email or phone on an accepted invitation become the member's referrals (``referrals``).

A member only ever reads, answers and rates their own invitations: the member comes from the
access token, never from the input (someone else's invitation is ``NotFound``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, locale_code, parse_uuid, unexpected, venue_name
from graphql_schema.context import Info
from graphql_schema.errors import UserError
from graphql_schema.guest_referrals import refer_guests
from graphql_schema.types import InvitationState, Locale, LocalizedText, NotFound
from services.common.actor import ActorKind
from services.loyalty.experiences import contract as ec

strawberry.enum(
    ec.ResponseAction,
    name="InvitationAnswer",
    description="ACCEPT (with guests; the waitlist when full), DECLINE, or CANCEL an acceptance.",
)
ResponseAction = ec.ResponseAction

# ---- types -----------------------------------------------------------------------------------


@strawberry.type(description="The experience an invitation is for.")
class InvitedExperience:
    id: strawberry.ID
    venue_id: strawberry.ID
    title: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    guest_allowance: int
    production_id: str | None
    production_title: str | None
    cancelled: bool

    @strawberry.field(description="The venue's name.")
    async def venue_name(self, info: Info) -> str | None:
        return await venue_name(info, uuid.UUID(str(self.venue_id)))


@strawberry.type(description="A guest the member brings.")
class Guest:
    name: str
    email: str | None
    phone: str | None


@strawberry.type(description="What an accepted invitation shows at the door.")
class DoorPass:
    code: str = strawberry.field(description="The short code, to type: 7KQM-X3TD.")
    token: str = strawberry.field(description="Signed by the programme; what the QR code holds.")
    qr_svg: str = strawberry.field(description="The QR code of the token, as an SVG document.")
    valid_from: dt.datetime = strawberry.field(description="The door opens.")
    valid_until: dt.datetime = strawberry.field(description="The door closes.")


@strawberry.type(description="An invitation to an exclusive experience.")
class Invitation:
    id: strawberry.ID
    state: InvitationState
    experience: InvitedExperience
    offered_at: dt.datetime
    respond_by: dt.datetime = strawberry.field(description="An offer not answered expires then.")
    deliver_after: dt.datetime | None
    why_chosen: str = strawberry.field(
        description="The eligibility conditions the member met, in words."
    )
    why_chosen_in: LocalizedText = strawberry.field(description="The same, in both languages.")
    guests: list[Guest]
    guest_seats: int = strawberry.field(
        description="Seats for guests held (accepted) or asked for (waitlisted)."
    )
    waitlist_position: int | None = strawberry.field(description="1 for the first in line.")
    door: DoorPass | None = strawberry.field(description="Only while accepted.")
    checked_in_at: dt.datetime | None
    guests_checked_in: int
    rating: int | None
    comment: str | None

    @classmethod
    def of(cls, i: ec.MemberInvitation) -> Invitation:
        e = i.experience
        door = i.door
        return cls(
            id=graphql_id(i.id),
            state=i.state,
            experience=InvitedExperience(
                id=graphql_id(e.id),
                venue_id=graphql_id(e.venue_id),
                title=e.title,
                description=e.description,
                starts_at=e.starts_at,
                ends_at=e.ends_at,
                guest_allowance=e.guest_allowance,
                production_id=e.production_id,
                production_title=e.production_title,
                cancelled=e.cancelled,
            ),
            offered_at=i.offered_at,
            respond_by=i.respond_by,
            deliver_after=i.deliver_after,
            why_chosen=i.why_chosen,
            why_chosen_in=LocalizedText(en=i.why_chosen_en, fr=i.why_chosen_fr),
            guests=[Guest(name=g.name, email=g.email, phone=g.phone) for g in i.guests],
            guest_seats=i.guest_seats,
            waitlist_position=i.waitlist_position,
            door=DoorPass(
                code=door.code,
                token=door.token,
                qr_svg=door.qr_svg,
                valid_from=door.valid_from,
                valid_until=door.valid_until,
            )
            if door
            else None,
            checked_in_at=i.checked_in_at,
            guests_checked_in=i.guests_checked_in,
            rating=i.rating,
            comment=i.comment,
        )


async def member_invitations(info: Info, member_id: uuid.UUID, locale: str) -> list[Invitation]:
    """``me { invitations }``: the signed-in member's own invitations (see ``members``)."""
    principal = await info.context.require(ActorKind.MEMBER)
    try:
        found = await info.context.loyalty.invitations(principal.actor, member_id, locale)
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    return [Invitation.of(i) for i in found]


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class InvitationAnswered:
    invitation: Invitation


@strawberry.type
class ExperienceRated:
    invitation_id: strawberry.ID
    experience_id: strawberry.ID
    score: int
    comment: str | None
    rated_at: dt.datetime


@strawberry.type(
    description="The invitation cannot be answered so: WRONG_STATE (e.g. declined already), "
    "OFFER_CLOSED (the window has ended), TOO_LATE (cancelling after the start)."
)
class AnswerRefused(UserError):
    pass


@strawberry.type(description="More guests than the experience allows.")
class TooManyGuests(UserError):
    allowance: int | None


@strawberry.type(
    description="The rating is refused: NOT_ATTENDED (never checked in) or ALREADY_RATED."
)
class RatingRefused(UserError):
    pass


RespondToInvitationResult = Annotated[
    InvitationAnswered | NotFound | AnswerRefused | TooManyGuests,
    strawberry.union("RespondToInvitationResult"),
]
RateExperienceResult = Annotated[
    ExperienceRated | NotFound | RatingRefused, strawberry.union("RateExperienceResult")
]


def _refusal(problem: ServiceProblem) -> NotFound | AnswerRefused | TooManyGuests | RatingRefused:
    """A refusal of the service as a typed outcome; anything else is a coded error."""
    code, message = problem.code, problem.message
    p = ec.ExperienceProblem
    if code == p.INVITATION_NOT_FOUND:
        return NotFound(message=message, code=code)
    if code in (p.WRONG_STATE, p.OFFER_CLOSED, p.TOO_LATE):
        return AnswerRefused(message=message, code=code)
    if code == p.TOO_MANY_GUESTS:
        allowance = problem.details.get("allowance")
        return TooManyGuests(
            message=message, code=code, allowance=int(allowance) if allowance is not None else None
        )
    if code in (p.NOT_ATTENDED, p.ALREADY_RATED):
        return RatingRefused(message=message, code=code)
    raise unexpected(problem) from None


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="A guest: a name, and optionally an email or phone.")
class GuestInput:
    name: str
    email: str | None = None
    phone: str | None = None


@strawberry.input
class RespondToInvitationInput:
    invitation_id: strawberry.ID
    answer: ResponseAction
    guests: list[GuestInput] = strawberry.field(
        default_factory=list, description="With ACCEPT: up to the guest allowance."
    )


@strawberry.input(description="After the evening: 0 to 10, once.")
class RateExperienceInput:
    invitation_id: strawberry.ID
    score: int
    comment: str | None = None


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Members: accept (with guests), decline, or cancel an acceptance."
    )
    async def respond_to_invitation(
        self, info: Info, input: RespondToInvitationInput, locale: Locale | None = None
    ) -> RespondToInvitationResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(
            ec.RespondToInvitation,
            member_id=parse_uuid(principal.id, "the token's subject"),
            action=input.answer,
            guests=[{"name": g.name, "email": g.email, "phone": g.phone} for g in input.guests],
        )
        try:
            answered = await info.context.loyalty.respond_to_invitation(
                principal.actor,
                parse_uuid(input.invitation_id, "invitationId"),
                body,
                locale_code(locale),
            )
        except ServiceProblem as problem:
            refused = _refusal(problem)
            if isinstance(refused, RatingRefused):
                raise unexpected(problem) from None
            return refused
        await refer_guests(info.context.identity, info.context.loyalty, answered)
        return InvitationAnswered(invitation=Invitation.of(answered))

    @strawberry.mutation(description="Members who came: rate the evening, 0 to 10, once.")
    async def rate_experience(self, info: Info, input: RateExperienceInput) -> RateExperienceResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(
            ec.RateExperience,
            member_id=parse_uuid(principal.id, "the token's subject"),
            score=input.score,
            comment=input.comment,
        )
        try:
            rating = await info.context.loyalty.rate_experience(
                principal.actor, parse_uuid(input.invitation_id, "invitationId"), body
            )
        except ServiceProblem as problem:
            refused = _refusal(problem)
            if isinstance(refused, AnswerRefused | TooManyGuests):
                raise unexpected(problem) from None
            return refused
        return ExperienceRated(
            invitation_id=graphql_id(rating.invitation_id),
            experience_id=graphql_id(rating.experience_id),
            score=rating.score,
            comment=rating.comment,
            rated_at=rating.rated_at,
        )
