# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Members: the signed-in member (``me``), joining, linking identifiers, contact preferences,
merging duplicates (admins), and the member's export and erasure.

A member only ever reads or changes themselves: no operation here takes a member id from a
member; the id comes from the verified access token. Admin operations require an admin token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from graphql_schema.accounts import Account
from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, forbidden
from graphql_schema.invitations import Invitation, member_invitations
from graphql_schema.referrals import (
    MyReferral,
    ReferralCodeRejected,
    SignupReferral,
    join_with_code,
    member_code,
    my_referrals,
    refuse_code,
)
from graphql_schema.types import Channel, IdentifierKind, Locale, MemberStatus
from graphql_schema.verification import VerificationThrottled, throttled
from services.common.actor import ActorKind
from services.identity import contract as ic

# ---- types -----------------------------------------------------------------------------------


@strawberry.type
class Identifier:
    kind: IdentifierKind
    value: str
    linked_at: dt.datetime
    verified: bool

    @classmethod
    def of(cls, i: ic.Identifier) -> Identifier:
        return cls(kind=i.kind, value=i.value, linked_at=i.linked_at, verified=i.verified)


@strawberry.type
class Consent:
    channel: Channel
    granted: bool
    at: dt.datetime
    source: str


@strawberry.type
class QuietHours:
    start: dt.time
    end: dt.time
    timezone: str


@strawberry.type
class ContactPreferences:
    consents: list[Consent]
    invitation_cap_per_30_days: int
    quiet_hours: QuietHours | None
    interests: list[str]

    @classmethod
    def of(cls, p: ic.Preferences) -> ContactPreferences:
        quiet = p.quiet_hours
        return cls(
            consents=[
                Consent(channel=c.channel, granted=c.granted, at=c.at, source=c.source)
                for c in p.consents
            ],
            invitation_cap_per_30_days=p.invitation_cap_per_30_days,
            quiet_hours=QuietHours(start=quiet.start, end=quiet.end, timezone=quiet.timezone)
            if quiet
            else None,
            interests=list(p.interests),
        )


@strawberry.type(description="The signed-in member: profile, identifiers, preferences and points.")
class Me:
    """Built from the token's subject alone; each field fetches what it needs, lazily, through
    the request's DataLoaders (a query for the points alone never calls identity).

    Other areas add their part of the member's view at the end of this class (see ``account``):
    a field that returns the area's own type, built from ``self.member_id``. This is the only
    place where one area imports another; no area imports this one.
    """

    id: strawberry.ID

    @property
    def member_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.id))

    async def profile(self, info: Info) -> ic.Member:
        try:
            member = await info.context.loaders.member.load(self.member_id)
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        info.context.services.remember_locale(member.id, member.locale.value)
        return member

    @strawberry.field
    async def status(self, info: Info) -> MemberStatus:
        return (await self.profile(info)).status

    @strawberry.field
    async def display_name(self, info: Info) -> str | None:
        return (await self.profile(info)).display_name

    @strawberry.field
    async def locale(self, info: Info) -> Locale:
        return (await self.profile(info)).locale

    @strawberry.field
    async def created_at(self, info: Info) -> dt.datetime:
        return (await self.profile(info)).created_at

    @strawberry.field
    async def birth_date(self, info: Info) -> dt.date | None:
        return (await self.profile(info)).birth_date

    @strawberry.field(description="Every touchpoint that resolves to this member.")
    async def identifiers(self, info: Info) -> list[Identifier]:
        return [Identifier.of(i) for i in (await self.profile(info)).identifiers]

    @strawberry.field
    async def preferences(self, info: Info) -> ContactPreferences:
        return ContactPreferences.of((await self.profile(info)).preferences)

    @strawberry.field(description="Members merged into this one.")
    async def merged_from(self, info: Info) -> list[strawberry.ID]:
        return [graphql_id(x) for x in (await self.profile(info)).merged_from]

    # ---- the member's view from other areas of the schema ----

    async def own(self, info: Info) -> None:
        """Only the member themself reads what follows: a ``Me`` also answers a registration,
        whose caller is not the member it names."""
        principal = await info.context.require(ActorKind.MEMBER)
        if principal.id != str(self.member_id):
            raise forbidden("a member reads only their own account, invitations and referrals")

    async def language(self, info: Info, locale: Locale | None) -> str:
        """The language asked for, else the member's own."""
        language = locale.value if locale else info.context.services.known_locale(self.member_id)
        if language is None:
            language = (await self.profile(info)).locale.value
        return language

    @strawberry.field(description="Points, tier, progress and history (the loyalty account).")
    async def account(self, info: Info, locale: Locale | None = None) -> Account:
        await self.own(info)
        return Account(member_id=self.member_id, locale=await self.language(info, locale))

    @strawberry.field(
        description="Invitations to exclusive experiences, with why the member was chosen and, "
        "once accepted, the door pass; in the member's language unless another is asked for."
    )
    async def invitations(self, info: Info, locale: Locale | None = None) -> list[Invitation]:
        await self.own(info)
        language = await self.language(info, locale)
        return await member_invitations(info, self.member_id, language)

    @strawberry.field(description="The member's referral code, to give a friend: K7QM-4XRF.")
    async def referral_code(self, info: Info) -> str:
        await self.own(info)
        return (await member_code(info, self.member_id)).code

    @strawberry.field(description="A link to join that carries the member's referral code.")
    async def referral_link(self, info: Info) -> str:
        await self.own(info)
        return (await member_code(info, self.member_id)).link

    @strawberry.field(description="The people the member brought in: how far each got.")
    async def referrals(self, info: Info, locale: Locale | None = None) -> list[MyReferral]:
        await self.own(info)
        return await my_referrals(info, self.member_id, await self.language(info, locale))


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class MemberRegistered:
    member: Me
    created: bool = strawberry.field(
        description="False when a retry with the same idempotency key returned the member."
    )
    referral: SignupReferral | None = strawberry.field(
        default=None, description="What became of the referral code given, if any."
    )


@strawberry.type(
    description="The identifier belongs to another member: never a silent takeover. "
    "Code IDENTIFIER_TAKEN."
)
class IdentifierConflict(UserError):
    pass


@strawberry.type(
    description="Linked. An email or a phone is unverified until the code sent to it is given "
    "back (verifyIdentifier): until then it neither signs in nor receives points."
)
class IdentifierLinked:
    identifier: Identifier


@strawberry.type
class PreferencesUpdated:
    preferences: ContactPreferences


@strawberry.type
class MembersMerged:
    merge_id: strawberry.ID
    survivor_id: strawberry.ID
    absorbed_id: strawberry.ID
    merged_at: dt.datetime
    identifiers_moved: int


@strawberry.type(
    description="The merge cannot happen: SAME_MEMBER, ALREADY_MERGED, MEMBER_NOT_FOUND, "
    "MEMBER_ERASED."
)
class MergeRejected(UserError):
    pass


@strawberry.type(description="Everything the platform holds on the member (principle 6).")
class DataExport:
    identity: JSON
    loyalty: JSON
    exported_at: dt.datetime


@strawberry.type
class Erased:
    member_id: strawberry.ID
    erased_at: dt.datetime


RegisterMemberResult = Annotated[
    MemberRegistered | IdentifierConflict | ReferralCodeRejected,
    strawberry.union("RegisterMemberResult"),
]
LinkIdentifierResult = Annotated[
    IdentifierLinked | IdentifierConflict | VerificationThrottled,
    strawberry.union("LinkIdentifierResult"),
]
MergeMembersResult = Annotated[
    MembersMerged | MergeRejected, strawberry.union("MergeMembersResult")
]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class RegisterMemberInput:
    email: str
    password: str = strawberry.field(description="8 to 128 characters.")
    display_name: str | None = None
    locale: Locale | None = None
    phone: str | None = None
    birth_date: dt.date | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the same member."
    )
    referral_code: str | None = strawberry.field(
        default=None, description="A member's code (or share link): they brought you."
    )


@strawberry.input
class LinkIdentifierInput:
    kind: IdentifierKind
    value: str


@strawberry.input
class ConsentInput:
    channel: Channel
    granted: bool


@strawberry.input
class QuietHoursInput:
    start: dt.time
    end: dt.time
    timezone: str = "Europe/Paris"


@strawberry.input(description="Only what is given changes.")
class UpdateContactPreferencesInput:
    consents: list[ConsentInput] | None = None
    invitation_cap_per_30_days: int | None = None
    quiet_hours: QuietHoursInput | None = None
    clear_quiet_hours: bool | None = None
    interests: list[str] | None = None


@strawberry.input
class MergeMembersInput:
    survivor_id: strawberry.ID
    absorbed_id: strawberry.ID
    reason: str


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in member (a member's access token).")
    async def me(self, info: Info) -> Me:
        principal = await info.context.require(ActorKind.MEMBER)
        return Me(id=graphql_id(parse_uuid(principal.id, "the token's subject")))


def _as_if_registered(info: Info, taken: ServiceProblem, code: str | None) -> MemberRegistered:
    """The email or phone is another member's: the answer is the one a new member gets, so that
    registering cannot tell who is a member; identity tells the owner (``registration.attempted``
    through its outbox). Nothing was stored: signing in with this password will not work. A code
    given (a member's: it was checked first) is answered as a new member's usually is."""
    would_be = ic.Member.model_validate(taken.details["member"])
    info.context.loaders.member.prime(would_be.id, would_be)
    return MemberRegistered(
        member=Me(id=graphql_id(would_be.id)),
        created=bool(taken.details.get("created")),
        referral=SignupReferral(accepted=True, code=None, message=None) if code else None,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Join the programme. Anyone may register.")
    async def register_member(self, info: Info, input: RegisterMemberInput) -> RegisterMemberResult:
        body = build(
            ic.RegisterMember,
            email=input.email,
            password=input.password,
            display_name=input.display_name,
            locale=input.locale,
            phone=input.phone,
            birth_date=dt.datetime.combine(input.birth_date, dt.time(), dt.UTC)
            if input.birth_date
            else None,
            idempotency_key=input.idempotency_key,
        )
        code = input.referral_code
        refused = await refuse_code(info, code)  # before joining: a typo can be corrected
        if refused is not None:
            return refused
        try:
            member, created = await info.context.identity.register(await info.context.actor(), body)
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN and "member" in problem.details:
                return _as_if_registered(info, problem, code)
            raise unexpected(problem) from None
        info.context.loaders.member.prime(member.id, member)
        referral = await join_with_code(info, member, code, body) if code else None
        return MemberRegistered(
            member=Me(id=graphql_id(member.id)), created=created, referral=referral
        )

    @strawberry.mutation(
        description="Link a card, phone, email, ticketing id or device to the member; an email "
        "or a phone is sent a code to verify it."
    )
    async def link_identifier(self, info: Info, input: LinkIdentifierInput) -> LinkIdentifierResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(ic.LinkIdentifier, kind=input.kind, value=input.value)
        try:
            linked = await info.context.identity.link_identifier(
                principal.actor, parse_uuid(principal.id, "the token's subject"), body
            )
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN:
                return IdentifierConflict(message=problem.message, code=problem.code)
            outcome = throttled(problem)
            if outcome is None:
                raise unexpected(problem) from None
            return outcome
        return IdentifierLinked(identifier=Identifier.of(linked))

    @strawberry.mutation(
        description="Consents per channel, invitation cap, quiet hours, interests."
    )
    async def update_contact_preferences(
        self, info: Info, input: UpdateContactPreferencesInput
    ) -> PreferencesUpdated:
        principal = await info.context.require(ActorKind.MEMBER)
        quiet = input.quiet_hours
        body = build(
            ic.UpdatePreferences,
            consents=[{"channel": c.channel, "granted": c.granted} for c in input.consents]
            if input.consents is not None
            else None,
            invitation_cap_per_30_days=input.invitation_cap_per_30_days,
            quiet_hours={"start": quiet.start, "end": quiet.end, "timezone": quiet.timezone}
            if quiet
            else None,
            clear_quiet_hours=input.clear_quiet_hours,
            interests=input.interests,
        )
        try:
            prefs = await info.context.identity.update_preferences(
                principal.actor, parse_uuid(principal.id, "the token's subject"), body
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return PreferencesUpdated(preferences=ContactPreferences.of(prefs))

    @strawberry.mutation(
        description="Admins: merge a duplicate member into another, with a reason (audited)."
    )
    async def merge_members(self, info: Info, input: MergeMembersInput) -> MergeMembersResult:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.MergeMembers,
            survivor_id=parse_uuid(input.survivor_id, "survivorId"),
            absorbed_id=parse_uuid(input.absorbed_id, "absorbedId"),
            reason=input.reason,
        )
        try:
            merged = await info.context.identity.merge(principal.actor, body)
        except ServiceProblem as problem:
            if problem.status in (404, 409, 410):
                return MergeRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        info.context.services.tokens.revocations.revoked_here(
            str(merged.absorbed_id), merged.merged_at
        )
        return MembersMerged(
            merge_id=graphql_id(merged.merge_id),
            survivor_id=graphql_id(merged.survivor_id),
            absorbed_id=graphql_id(merged.absorbed_id),
            merged_at=merged.merged_at,
            identifiers_moved=merged.identifiers_moved,
        )

    @strawberry.mutation(description="Everything the platform holds on the signed-in member.")
    async def export_my_data(self, info: Info) -> DataExport:
        principal = await info.context.require(ActorKind.MEMBER)
        member_id = parse_uuid(principal.id, "the token's subject")
        try:
            identity, loyalty = await asyncio.gather(
                info.context.identity.export(principal.actor, member_id),
                info.context.loyalty.export(principal.actor, member_id),
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return DataExport(
            identity=JSON(identity), loyalty=JSON(loyalty), exported_at=dt.datetime.now(dt.UTC)
        )

    @strawberry.mutation(
        description="Erase the signed-in member by pseudonymisation; the points history stays "
        "under the bare id."
    )
    async def erase_me(self, info: Info) -> Erased:
        principal = await info.context.require(ActorKind.MEMBER)
        try:
            erased = await info.context.identity.erase(
                principal.actor, parse_uuid(principal.id, "the token's subject")
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        info.context.services.tokens.revocations.revoked_here(
            str(erased.member_id), erased.erased_at
        )
        return Erased(member_id=graphql_id(erased.member_id), erased_at=erased.erased_at)
