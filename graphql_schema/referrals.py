# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Referrals: partners register referrals by API key and read their own; members read their
code, share link and the people they brought (``me``, built in ``members``); a new member may
join with a code (``registerMember``); guests named on an accepted invitation become the member's
referrals (``respondToInvitation``, see ``guest_referrals``); admins read the ambassadors' board (``programmeStats``).

The referee's email and phone go to identity only, which gives back keyed hashes and whether
they belong to members; loyalty decides with those and never sees the identifiers. A partner
is told ``NOT_ELIGIBLE`` whether the person is already a member, is the referrer, or was
referred by someone else: it cannot learn who is a member by registering referrals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated

import strawberry
import structlog

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from graphql_schema.types import Locale, OutOfScope
from services.common.actor import SYSTEM, ActorKind
from services.identity import contract as ic
from services.loyalty import contract as lc
from services.loyalty.referrals import contract as rc

log = structlog.get_logger(__name__)

strawberry.enum(rc.Status, name="ReferralStatus", description="How far a referral got.")
strawberry.enum(rc.Channel, name="ReferralChannel", description="How the person was brought.")
strawberry.enum(rc.ConsentMethod, description="How the referee agreed to be contacted.")
MAX_PAGE = 100
REFERRALS_NOT_ALLOWED = lc.ProblemCode.REFERRALS_NOT_ALLOWED

# ---- types -----------------------------------------------------------------------------------


@strawberry.type(description="A referral, as the partner who registered it sees it.")
class PartnerReferral:
    id: strawberry.ID
    reference: str = strawberry.field(description="The partner's own reference.")
    code: str = strawberry.field(description="The referral code given.")
    status: rc.Status
    registered_at: dt.datetime
    holds_until: dt.datetime = strawberry.field(
        description="The end of its attribution window: the person must join before."
    )
    joined_at: dt.datetime | None
    converted_at: dt.datetime | None
    voided_at: dt.datetime | None

    @classmethod
    def of(cls, r: rc.PartnerReferral) -> PartnerReferral:
        return cls(**{**r.model_dump(), "id": graphql_id(r.id)})


@strawberry.type(description="A partner's referrals by status, and the share that converted.")
class ReferralFigures:
    registered: int
    pending: int
    joined: int
    converted: int
    voided: int
    expired: int
    conversion_percent: int


@strawberry.type
class PartnerReferralPage:
    nodes: list[PartnerReferral]
    end_cursor: str | None
    has_next_page: bool
    figures: ReferralFigures


@strawberry.type(description="Someone the member brought in: how far they got, never who.")
class MyReferral:
    id: strawberry.ID
    channel: rc.Channel
    status: rc.Status
    status_text: str
    registered_at: dt.datetime
    converted_at: dt.datetime | None
    points: int = strawberry.field(description="What it gave the member, net of a reversal.")


@strawberry.type
class Ambassador:
    member_id: strawberry.ID
    rank: int
    score: int
    referees: int
    stayed: int
    attended: int
    returned: int
    quality_percent: int
    summary: str

    @strawberry.field
    async def display_name(self, info: Info) -> str | None:
        return await info.context.loaders.display_name.load(uuid.UUID(str(self.member_id)))


@strawberry.type
class RejectionCount:
    reason: str = strawberry.field(description="The precise reason, admins only.")
    count: int


@strawberry.type(description="Ambassadors ranked by the quality of who they brought (90 days).")
class AmbassadorBoard:
    as_of: dt.datetime
    rules: str
    ambassadors: list[Ambassador]
    rejections: list[RejectionCount]


@strawberry.type
class ReferralRegistered:
    created: bool = strawberry.field(description="False when the reference was seen before.")
    referral: PartnerReferral


@strawberry.type(
    description="Refused: UNKNOWN_CODE, NO_CONSENT, CONSENT_IN_FUTURE, CONSENT_TOO_OLD, "
    "NOT_ELIGIBLE (said the same whatever the reason), DUPLICATE_REFERRAL (your own earlier "
    "referral of them), OVER_CAP."
)
class ReferralRejected(UserError):
    pass


@strawberry.type(description="The referee's email or phone: NO_REFEREE, INVALID_EMAIL, ...")
class InvalidReferee(UserError):
    pass


@strawberry.type(description="REFERENCE_REUSED: this reference named a different referral.")
class ReferenceReused(UserError):
    pass


@strawberry.type(description="The referral code given is not one: UNKNOWN_CODE, CODE_...")
class ReferralCodeRejected(UserError):
    pass


@strawberry.type(description="What became of the referral code given when joining.")
class SignupReferral:
    accepted: bool
    code: str | None = strawberry.field(description="Why not, when refused.")
    message: str | None


RegisterReferralResult = Annotated[
    ReferralRegistered | ReferralRejected | InvalidReferee | ReferenceReused | OutOfScope,
    strawberry.union("RegisterReferralResult"),
]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class RefereeConsentInput:
    method: rc.ConsentMethod
    given_at: dt.datetime


@strawberry.input(description="A referral: the member's code, the referee, and their consent.")
class RegisterReferralInput:
    code: str
    reference: str = strawberry.field(description="Yours: registering it again changes nothing.")
    email: str | None = None
    phone: str | None = None
    consent: RefereeConsentInput | None = None


# ---- what other areas build from here -------------------------------------------------------


async def member_code(info: Info, member_id: uuid.UUID) -> rc.MemberCode:
    """The member's code and link, fetched once per request."""
    state = info.context.request.state
    fetched: dict[uuid.UUID, asyncio.Future[rc.MemberCode]] = getattr(state, "codes", {})
    state.codes = fetched
    if member_id not in fetched:
        actor = await info.context.actor()
        fetched[member_id] = asyncio.ensure_future(
            info.context.loyalty.referral_code(actor, member_id)
        )
    try:
        return await fetched[member_id]
    except ServiceProblem as problem:
        raise unexpected(problem) from None


async def my_referrals(info: Info, member_id: uuid.UUID, locale: str) -> list[MyReferral]:
    try:
        found = await info.context.loyalty.member_referrals(
            await info.context.actor(), member_id, locale
        )
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    return [MyReferral(**{**r.model_dump(), "id": graphql_id(r.id)}) for r in found]


async def ambassador_board(info: Info, first: int, locale: str) -> AmbassadorBoard:
    principal = await info.context.require(ActorKind.ADMIN)
    if not 1 <= first <= MAX_PAGE:
        raise invalid_input(f"first is between 1 and {MAX_PAGE}")
    try:
        board = await info.context.loyalty.ambassadors(principal.actor, first=first, locale=locale)
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    return AmbassadorBoard(
        as_of=board.as_of,
        rules=board.rules,
        ambassadors=[
            Ambassador(**{**a.model_dump(), "member_id": graphql_id(a.member_id)})
            for a in board.ambassadors
        ],
        rejections=[RejectionCount(reason=r.reason, count=r.count) for r in board.rejections],
    )


async def refuse_code(info: Info, code: str | None) -> ReferralCodeRejected | None:
    """A code given when joining that is no member's code, refused before anyone joins."""
    if not code:
        return None
    try:
        check = await info.context.loyalty.check_referral_code(SYSTEM, code)
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    if check.valid:
        return None
    return ReferralCodeRejected(
        code=check.problem or "UNKNOWN_CODE", message="This is not a member's referral code."
    )


async def join_with_code(
    info: Info, member: ic.Member, code: str, registration: ic.RegisterMember
) -> SignupReferral:
    """A new member joined with a code: the referral by its owner, the new member already in."""
    locale = member.locale.value
    try:
        referee = await info.context.identity.resolve_referee(
            SYSTEM, ic.ResolveReferee(email=registration.email, phone=registration.phone)
        )
        body = rc.SignupReferral(
            code=code,
            member_id=member.id,
            registered_at=member.created_at,
            referee=rc.RefereeIdentity(**referee.model_dump()),
        )
        decision = await info.context.loyalty.register_signup_referral(SYSTEM, body, locale)
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    rejection = None if decision.rejection is None else decision.rejection.value
    return SignupReferral(accepted=decision.accepted, code=rejection, message=decision.message)


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Partners: their own referrals, newest first, and figures.")
    async def partner_referrals(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> PartnerReferralPage:
        principal = await info.context.require(ActorKind.PARTNER)
        if not 1 <= first <= MAX_PAGE:
            raise invalid_input(f"first is between 1 and {MAX_PAGE}")
        try:
            page = await info.context.loyalty.partner_referrals(
                principal.actor, first=first, after=after
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return PartnerReferralPage(
            nodes=[PartnerReferral.of(r) for r in page.referrals],
            end_cursor=page.end_cursor,
            has_next_page=page.has_next_page,
            figures=ReferralFigures(**page.figures.model_dump()),
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Partners whose key may: register a referral, once per reference."
    )
    async def register_referral(
        self, info: Info, input: RegisterReferralInput, locale: Locale | None = None
    ) -> RegisterReferralResult:
        principal = await info.context.require(ActorKind.PARTNER)
        if principal.scope is None or not principal.scope.register_referrals:
            return OutOfScope(
                code=REFERRALS_NOT_ALLOWED, message="this API key may not register referrals"
            )
        if not (input.email or input.phone):
            return InvalidReferee(
                code="NO_REFEREE", message="a referee is named by an email or a phone"
            )
        try:
            referee = await info.context.identity.resolve_referee(
                principal.actor, build(ic.ResolveReferee, email=input.email, phone=input.phone)
            )
        except ServiceProblem as problem:
            if problem.status in (400, 422):
                return InvalidReferee(code=problem.code, message=problem.message)
            raise unexpected(problem) from None
        consent = input.consent
        body = build(
            rc.RegisterReferral,
            code=input.code,
            reference=input.reference,
            referee=referee.model_dump(),
            consent={"method": consent.method, "given_at": consent.given_at} if consent else None,
        )
        language = locale.value if locale else "en"
        try:
            decision = await info.context.loyalty.register_referral(principal.actor, body, language)
        except ServiceProblem as problem:
            if problem.code == rc.ReferralProblem.REFERENCE_REUSED:
                return ReferenceReused(code=problem.code, message=problem.message)
            if problem.code == REFERRALS_NOT_ALLOWED:  # loyalty checks the key's scope again
                return OutOfScope(code=problem.code, message=problem.message)
            raise unexpected(problem) from None
        if decision.referral is not None:
            return ReferralRegistered(
                created=decision.created, referral=PartnerReferral.of(decision.referral)
            )
        assert decision.rejection is not None
        return ReferralRejected(code=decision.rejection.value, message=decision.message or "")
