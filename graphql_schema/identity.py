# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Members, sessions and organisations: the identity part of the schema.

A member only ever reads or changes themselves: no operation here takes a member id from a
member; the id comes from the verified access token. Admin operations require an admin token.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from services.common.actor import ActorKind
from services.identity import contract as ic

if TYPE_CHECKING:
    from graphql_schema.loyalty import Account

# The contract's enums are the schema's: GraphQL names are the members' names (MEMBERSHIP_CARD),
# resolvers receive and return the contract's values, and the two can never drift apart.
strawberry.enum(ic.IdentifierKind, description="A touchpoint that identifies a member.")
strawberry.enum(ic.Channel, description="A way to contact a member.")
strawberry.enum(ic.Locale, description="A member's language.")
strawberry.enum(ic.Portal, description="MEMBER for members; STAFF for staff and admins.")
strawberry.enum(ic.AccountRole)
strawberry.enum(ic.MemberStatus)
IdentifierKind = ic.IdentifierKind
Channel = ic.Channel
Locale = ic.Locale
Portal = ic.Portal
AccountRole = ic.AccountRole
MemberStatus = ic.MemberStatus


def _id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def _uuid(raw: object, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise invalid_input(f"{name} must be a UUID") from None


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

    Other areas of the schema add their fields at the end of this class (see ``account``): a
    resolver that lazily imports its type from the area's module and reads ``self.member_id``.
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
        return [_id(x) for x in (await self.profile(info)).merged_from]

    # ---- fields from other areas of the schema ----

    @strawberry.field(description="Points, tier, progress and history (the loyalty account).")
    async def account(
        self, info: Info, locale: Locale | None = None
    ) -> Annotated["Account", strawberry.lazy("graphql_schema.loyalty")]:  # noqa: UP037
        from graphql_schema.loyalty import Account

        await info.context.require(ActorKind.MEMBER)
        language = locale.value if locale else info.context.services.known_locale(self.member_id)
        if language is None:
            language = (await self.profile(info)).locale.value
        return Account(member_id=self.member_id, locale=language)


@strawberry.type(description="A signed-in session: a short-lived access token and a refresh token.")
class Session:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    subject_kind: str = strawberry.field(description="member, staff or admin.")
    subject_id: strawberry.ID

    @classmethod
    def of(cls, s: ic.Session) -> Session:
        return cls(
            access_token=s.access_token,
            refresh_token=s.refresh_token,
            token_type=s.token_type,
            expires_in=s.expires_in,
            subject_kind=s.subject_kind,
            subject_id=_id(s.subject_id),
        )


@strawberry.type
class Venue:
    id: strawberry.ID
    name: str
    timezone: str
    external_id: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, v: ic.Venue) -> Venue:
        return cls(
            id=_id(v.id),
            name=v.name,
            timezone=v.timezone,
            external_id=v.external_id,
            created_at=v.created_at,
        )


@strawberry.type
class Partner:
    id: strawberry.ID
    name: str
    kind: str
    external_id: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, p: ic.Partner) -> Partner:
        return cls(
            id=_id(p.id),
            name=p.name,
            kind=p.kind,
            external_id=p.external_id,
            created_at=p.created_at,
        )


@strawberry.type
class StaffAccount:
    id: strawberry.ID
    email: str
    display_name: str | None
    role: AccountRole
    venue_ids: list[strawberry.ID]
    created_at: dt.datetime

    @classmethod
    def of(cls, a: ic.StaffAccount) -> StaffAccount:
        return cls(
            id=_id(a.id),
            email=a.email,
            display_name=a.display_name,
            role=a.role,
            venue_ids=[_id(v) for v in a.venue_ids],
            created_at=a.created_at,
        )


@strawberry.type
class ApiKey:
    id: strawberry.ID
    partner_id: strawberry.ID
    label: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, k: ic.ApiKey) -> ApiKey:
        return cls(
            id=_id(k.id),
            partner_id=_id(k.partner_id),
            label=k.label,
            prefix=k.prefix,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class MemberRegistered:
    member: Me
    created: bool = strawberry.field(
        description="False when a retry with the same idempotency key returned the member."
    )


@strawberry.type(
    description="The identifier belongs to another member: never a silent takeover. "
    "Code IDENTIFIER_TAKEN."
)
class IdentifierConflict(UserError):
    pass


@strawberry.type(description="Wrong email, password or portal. Code INVALID_CREDENTIALS.")
class InvalidCredentials(UserError):
    pass


@strawberry.type(
    description="The refresh token is not valid (REFRESH_TOKEN_INVALID), or was already used "
    "(REFRESH_TOKEN_REUSED: every session of its family is now revoked)."
)
class RefreshRejected(UserError):
    pass


@strawberry.type
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


@strawberry.type
class VenueCreated:
    venue: Venue
    created: bool = strawberry.field(description="False when the external id was already used.")


@strawberry.type
class PartnerCreated:
    partner: Partner
    created: bool = strawberry.field(description="False when the external id was already used.")


@strawberry.type
class StaffAccountCreated:
    account: StaffAccount
    created: bool = strawberry.field(
        description="False when the identical request had already created the account."
    )


@strawberry.type(description="An account already uses this email. Code EMAIL_TAKEN.")
class EmailTaken(UserError):
    pass


@strawberry.type(description="What the input refers to does not exist (VENUE_NOT_FOUND, ...).")
class NotFound(UserError):
    pass


@strawberry.type
class ApiKeyIssued:
    key: ApiKey
    secret: str | None = strawberry.field(
        description="Shown once; null when a retry returns a key already issued."
    )


@strawberry.type
class ApiKeyRevoked:
    key: ApiKey


RegisterMemberResult = Annotated[
    MemberRegistered | IdentifierConflict, strawberry.union("RegisterMemberResult")
]
LoginResult = Annotated[Session | InvalidCredentials, strawberry.union("LoginResult")]
RefreshSessionResult = Annotated[
    Session | RefreshRejected, strawberry.union("RefreshSessionResult")
]
LinkIdentifierResult = Annotated[
    IdentifierLinked | IdentifierConflict, strawberry.union("LinkIdentifierResult")
]
MergeMembersResult = Annotated[
    MembersMerged | MergeRejected, strawberry.union("MergeMembersResult")
]
CreateStaffAccountResult = Annotated[
    StaffAccountCreated | EmailTaken | NotFound, strawberry.union("CreateStaffAccountResult")
]
IssuePartnerApiKeyResult = Annotated[
    ApiKeyIssued | NotFound, strawberry.union("IssuePartnerApiKeyResult")
]
RevokePartnerApiKeyResult = Annotated[
    ApiKeyRevoked | NotFound, strawberry.union("RevokePartnerApiKeyResult")
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


@strawberry.input
class LoginInput:
    email: str
    password: str
    portal: Portal | None = strawberry.field(default=None, description="MEMBER by default.")


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


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


@strawberry.input
class CreateVenueInput:
    name: str
    timezone: str | None = None
    external_id: str | None = strawberry.field(
        default=None, description="A retry with the same external id returns the same venue."
    )


@strawberry.input
class CreatePartnerInput:
    name: str
    kind: str | None = None
    external_id: str | None = strawberry.field(
        default=None, description="A retry with the same external id returns the same partner."
    )


@strawberry.input
class CreateStaffAccountInput:
    email: str
    password: str
    display_name: str | None = None
    role: AccountRole | None = None
    venue_ids: list[strawberry.ID] | None = None


@strawberry.input
class IssuePartnerApiKeyInput:
    partner_id: strawberry.ID
    label: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the key, without its secret."
    )


@strawberry.input
class RevokePartnerApiKeyInput:
    key_id: strawberry.ID


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in member (a member's access token).")
    async def me(self, info: Info) -> Me:
        principal = await info.context.require(ActorKind.MEMBER)
        return Me(id=_id(_uuid(principal.id, "the token's subject")))


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
        try:
            member, created = await info.context.identity.register(await info.context.actor(), body)
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN:
                return IdentifierConflict(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        info.context.loaders.member.prime(member.id, member)
        return MemberRegistered(member=Me(id=_id(member.id)), created=created)

    @strawberry.mutation(
        description="Sign in: members on the MEMBER portal, staff and admins on STAFF."
    )
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        body = build(ic.Login, email=input.email, password=input.password, portal=input.portal)
        try:
            return Session.of(await info.context.identity.login(body))
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.INVALID_CREDENTIALS:
                return InvalidCredentials(message=problem.message, code=problem.code)
            raise unexpected(problem) from None

    @strawberry.mutation(
        description="Trade a refresh token for a new session; a reused token revokes its family."
    )
    async def refresh_session(self, info: Info, input: RefreshSessionInput) -> RefreshSessionResult:
        body = build(ic.Refresh, refresh_token=input.refresh_token)
        try:
            return Session.of(await info.context.identity.refresh(body))
        except ServiceProblem as problem:
            if problem.code in (
                ic.ProblemCode.REFRESH_TOKEN_INVALID,
                ic.ProblemCode.REFRESH_TOKEN_REUSED,
            ):
                return RefreshRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None

    @strawberry.mutation(description="Link a card, phone, ticketing id or device to the member.")
    async def link_identifier(self, info: Info, input: LinkIdentifierInput) -> LinkIdentifierResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(ic.LinkIdentifier, kind=input.kind, value=input.value)
        try:
            linked = await info.context.identity.link_identifier(
                principal.actor, _uuid(principal.id, "the token's subject"), body
            )
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN:
                return IdentifierConflict(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
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
                principal.actor, _uuid(principal.id, "the token's subject"), body
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
            survivor_id=_uuid(input.survivor_id, "survivorId"),
            absorbed_id=_uuid(input.absorbed_id, "absorbedId"),
            reason=input.reason,
        )
        try:
            merged = await info.context.identity.merge(principal.actor, body)
        except ServiceProblem as problem:
            if problem.status in (404, 409, 410):
                return MergeRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return MembersMerged(
            merge_id=_id(merged.merge_id),
            survivor_id=_id(merged.survivor_id),
            absorbed_id=_id(merged.absorbed_id),
            merged_at=merged.merged_at,
            identifiers_moved=merged.identifiers_moved,
        )

    @strawberry.mutation(description="Everything the platform holds on the signed-in member.")
    async def export_my_data(self, info: Info) -> DataExport:
        principal = await info.context.require(ActorKind.MEMBER)
        member_id = _uuid(principal.id, "the token's subject")
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
                principal.actor, _uuid(principal.id, "the token's subject")
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return Erased(member_id=_id(erased.member_id), erased_at=erased.erased_at)

    @strawberry.mutation(description="Admins: a venue; idempotent by external id.")
    async def create_venue(self, info: Info, input: CreateVenueInput) -> VenueCreated:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.CreateVenue, name=input.name, timezone=input.timezone, external_id=input.external_id
        )
        try:
            venue, created = await info.context.identity.create_venue(principal.actor, body)
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return VenueCreated(venue=Venue.of(venue), created=created)

    @strawberry.mutation(description="Admins: a partner; idempotent by external id.")
    async def create_partner(self, info: Info, input: CreatePartnerInput) -> PartnerCreated:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.CreatePartner, name=input.name, kind=input.kind, external_id=input.external_id
        )
        try:
            partner, created = await info.context.identity.create_partner(principal.actor, body)
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return PartnerCreated(partner=Partner.of(partner), created=created)

    @strawberry.mutation(description="Admins: a staff (or admin) account for some venues.")
    async def create_staff_account(
        self, info: Info, input: CreateStaffAccountInput
    ) -> CreateStaffAccountResult:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.CreateStaffAccount,
            email=input.email,
            password=input.password,
            display_name=input.display_name,
            role=input.role,
            venue_ids=[_uuid(v, "venueIds") for v in input.venue_ids]
            if input.venue_ids is not None
            else None,
        )
        try:
            account, created = await info.context.identity.create_staff(principal.actor, body)
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.EMAIL_TAKEN:
                return EmailTaken(message=problem.message, code=problem.code)
            if problem.code == ic.ProblemCode.VENUE_NOT_FOUND:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return StaffAccountCreated(account=StaffAccount.of(account), created=created)

    @strawberry.mutation(
        description="Admins: issue an API key for a partner; the secret is shown once."
    )
    async def issue_partner_api_key(
        self, info: Info, input: IssuePartnerApiKeyInput
    ) -> IssuePartnerApiKeyResult:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(ic.IssueApiKey, label=input.label, idempotency_key=input.idempotency_key)
        try:
            issued = await info.context.identity.issue_api_key(
                principal.actor, _uuid(input.partner_id, "partnerId"), body
            )
        except ServiceProblem as problem:
            if problem.status == 404:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return ApiKeyIssued(key=ApiKey.of(issued.key), secret=issued.secret)

    @strawberry.mutation(description="Admins: revoke a partner's API key; it stops working.")
    async def revoke_partner_api_key(
        self, info: Info, input: RevokePartnerApiKeyInput
    ) -> RevokePartnerApiKeyResult:
        principal = await info.context.require(ActorKind.ADMIN)
        try:
            key = await info.context.identity.revoke_api_key(
                principal.actor, _uuid(input.key_id, "keyId")
            )
        except ServiceProblem as problem:
            if problem.status == 404:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        info.context.services.api_keys.forget(str(key.id))
        return ApiKeyRevoked(key=ApiKey.of(key))
