"""Members, sessions and organisations: the identity part of the schema."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError
from services.common.actor import SYSTEM, ActorKind
from services.identity import contract as ic

IdentifierKind = strawberry.enum(
    Enum("IdentifierKind", {k.name: k.value for k in ic.IdentifierKind}),  # type: ignore[misc]
    description="A touchpoint that identifies a member.",
)
Channel = strawberry.enum(Enum("Channel", {k.name: k.value for k in ic.Channel}))  # type: ignore[misc]
Locale = strawberry.enum(Enum("Locale", {k.name: k.value for k in ic.Locale}))  # type: ignore[misc]
Portal = strawberry.enum(Enum("Portal", {k.name: k.value for k in ic.Portal}))  # type: ignore[misc]
AccountRole = strawberry.enum(Enum("AccountRole", {k.name: k.value for k in ic.AccountRole}))  # type: ignore[misc]
MemberStatus = strawberry.enum(Enum("MemberStatus", {k.name: k.value for k in ic.MemberStatus}))  # type: ignore[misc]


# ---- types -----------------------------------------------------------------------------------


@strawberry.type
class Identifier:
    kind: IdentifierKind  # type: ignore[valid-type]
    value: str
    linked_at: dt.datetime
    verified: bool

    @classmethod
    def of(cls, i: ic.Identifier) -> Identifier:
        return cls(
            kind=IdentifierKind(i.kind.value),
            value=i.value,
            linked_at=i.linked_at,
            verified=i.verified,
        )


@strawberry.type
class Consent:
    channel: Channel  # type: ignore[valid-type]
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
        return cls(
            consents=[
                Consent(
                    channel=Channel(c.channel.value), granted=c.granted, at=c.at, source=c.source
                )
                for c in p.consents
            ],
            invitation_cap_per_30_days=p.invitation_cap_per_30_days,
            quiet_hours=QuietHours(
                start=p.quiet_hours.start, end=p.quiet_hours.end, timezone=p.quiet_hours.timezone
            )
            if p.quiet_hours
            else None,
            interests=list(p.interests),
        )


@strawberry.type(description="The signed-in member: profile, identifiers, preferences and points.")
class Me:
    """Resolved lazily: a query for the points alone never calls identity."""

    id: strawberry.ID
    loaded: strawberry.Private[ic.Member | None] = None

    async def _profile(self, info: Info) -> ic.Member:
        if self.loaded is not None:
            return self.loaded
        key = ("profile", self.id)
        task = info.context.cache.get(key)
        if task is None:
            principal = await info.context.require(ActorKind.MEMBER)
            task = asyncio.ensure_future(
                info.context.identity.member(principal.actor, _uuid(self.id, "member"))
            )
            info.context.cache[key] = task
        try:
            member: ic.Member = await task
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        info.context.services.remember_locale(member.id, member.locale.value)
        return member

    @strawberry.field
    async def status(self, info: Info) -> MemberStatus:  # type: ignore[valid-type]
        return MemberStatus((await self._profile(info)).status.value)

    @strawberry.field
    async def display_name(self, info: Info) -> str | None:
        return (await self._profile(info)).display_name

    @strawberry.field
    async def locale(self, info: Info) -> Locale:  # type: ignore[valid-type]
        return Locale((await self._profile(info)).locale.value)

    @strawberry.field
    async def created_at(self, info: Info) -> dt.datetime:
        return (await self._profile(info)).created_at

    @strawberry.field
    async def birth_date(self, info: Info) -> dt.date | None:
        return (await self._profile(info)).birth_date

    @strawberry.field
    async def identifiers(self, info: Info) -> list[Identifier]:
        return [Identifier.of(i) for i in (await self._profile(info)).identifiers]

    @strawberry.field
    async def preferences(self, info: Info) -> ContactPreferences:
        return ContactPreferences.of((await self._profile(info)).preferences)

    @strawberry.field
    async def merged_from(self, info: Info) -> list[strawberry.ID]:
        return [strawberry.ID(str(x)) for x in (await self._profile(info)).merged_from]

    @strawberry.field(description="Points, tier, progress and history (the loyalty account).")
    async def account(
        self,
        info: Info,
        locale: Locale | None = None,  # type: ignore[valid-type]
    ) -> Annotated["Account", strawberry.lazy("graphql_schema.loyalty")]:  # type: ignore[name-defined]  # noqa: F821, UP037
        from graphql_schema.loyalty import Account

        member_id = _uuid(self.id, "member")
        language = locale.value if locale else info.context.services.known_locale(member_id)  # type: ignore[attr-defined]
        if language is None:
            language = (await self._profile(info)).locale.value
        return Account(member_id=member_id, locale=language)


@strawberry.type
class Session:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    subject_kind: str
    subject_id: strawberry.ID

    @classmethod
    def of(cls, s: ic.Session) -> Session:
        return cls(
            access_token=s.access_token,
            refresh_token=s.refresh_token,
            token_type=s.token_type,
            expires_in=s.expires_in,
            subject_kind=s.subject_kind,
            subject_id=strawberry.ID(str(s.subject_id)),
        )


@strawberry.type
class Venue:
    id: strawberry.ID
    name: str
    timezone: str
    external_id: str | None
    created_at: dt.datetime


@strawberry.type
class Partner:
    id: strawberry.ID
    name: str
    kind: str
    external_id: str | None
    created_at: dt.datetime


@strawberry.type
class StaffAccount:
    id: strawberry.ID
    email: str
    display_name: str | None
    role: AccountRole  # type: ignore[valid-type]
    venue_ids: list[strawberry.ID]
    created_at: dt.datetime


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
            id=strawberry.ID(str(k.id)),
            partner_id=strawberry.ID(str(k.partner_id)),
            label=k.label,
            prefix=k.prefix,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class MemberRegistered:
    member: Me
    created: bool


@strawberry.type
class IdentifierConflict(UserError):
    """The identifier belongs to another member: linking it is never a silent takeover."""


@strawberry.type
class InvalidCredentials(UserError):
    pass


@strawberry.type
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


@strawberry.type
class MergeRejected(UserError):
    pass


@strawberry.type
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
    created: bool


@strawberry.type
class PartnerCreated:
    partner: Partner
    created: bool


@strawberry.type
class StaffAccountCreated:
    account: StaffAccount


@strawberry.type
class EmailTaken(UserError):
    pass


@strawberry.type
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
    password: str
    display_name: str | None = None
    locale: Locale | None = None  # type: ignore[valid-type]
    phone: str | None = None
    birth_date: dt.date | None = None
    idempotency_key: str | None = None


@strawberry.input
class LoginInput:
    email: str
    password: str
    portal: Portal | None = None  # type: ignore[valid-type]


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.input
class LinkIdentifierInput:
    kind: IdentifierKind  # type: ignore[valid-type]
    value: str


@strawberry.input
class ConsentInput:
    channel: Channel  # type: ignore[valid-type]
    granted: bool


@strawberry.input
class QuietHoursInput:
    start: dt.time
    end: dt.time
    timezone: str = "Europe/Paris"


@strawberry.input
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
    external_id: str | None = None


@strawberry.input
class CreatePartnerInput:
    name: str
    kind: str | None = None
    external_id: str | None = None


@strawberry.input
class CreateStaffAccountInput:
    email: str
    password: str
    display_name: str | None = None
    role: AccountRole | None = None  # type: ignore[valid-type]
    venue_ids: list[strawberry.ID] | None = None


@strawberry.input
class IssuePartnerApiKeyInput:
    partner_id: strawberry.ID
    label: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class RevokePartnerApiKeyInput:
    key_id: strawberry.ID


def _value(enum_value: Any) -> Any:
    return None if enum_value is None else enum_value.value


def _uuid(raw: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        from graphql_schema.errors import invalid_input

        raise invalid_input(f"{name} must be a UUID") from None


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in member.")
    async def me(self, info: Info) -> Me:
        principal = await info.context.require(ActorKind.MEMBER)
        return Me(id=strawberry.ID(str(_uuid(principal.id, "member"))))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_member(self, info: Info, input: RegisterMemberInput) -> RegisterMemberResult:
        body = build(
            ic.RegisterMember,
            email=input.email,
            password=input.password,
            display_name=input.display_name,
            locale=_value(input.locale),
            phone=input.phone,
            birth_date=dt.datetime.combine(input.birth_date, dt.time(), dt.UTC)
            if input.birth_date
            else None,
            idempotency_key=input.idempotency_key,
        )
        try:
            member, created = await info.context.identity.register(SYSTEM, body)
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN:
                return IdentifierConflict(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return MemberRegistered(
            member=Me(id=strawberry.ID(str(member.id)), loaded=member), created=created
        )

    @strawberry.mutation(
        description="Sign in: members on the MEMBER portal, staff and admins on STAFF."
    )
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        body = build(
            ic.Login, email=input.email, password=input.password, portal=_value(input.portal)
        )
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
            if problem.status == 401 or problem.code in (
                ic.ProblemCode.REFRESH_TOKEN_INVALID,
                ic.ProblemCode.REFRESH_TOKEN_REUSED,
            ):
                return RefreshRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None

    @strawberry.mutation
    async def link_identifier(self, info: Info, input: LinkIdentifierInput) -> LinkIdentifierResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(ic.LinkIdentifier, kind=_value(input.kind), value=input.value)
        try:
            linked = await info.context.identity.link_identifier(
                principal.actor, _uuid(principal.id, "member"), body
            )
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN:
                return IdentifierConflict(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return IdentifierLinked(identifier=Identifier.of(linked))

    @strawberry.mutation
    async def update_contact_preferences(
        self, info: Info, input: UpdateContactPreferencesInput
    ) -> PreferencesUpdated:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(
            ic.UpdatePreferences,
            consents=[{"channel": c.channel.value, "granted": c.granted} for c in input.consents]
            if input.consents
            else None,
            invitation_cap_per_30_days=input.invitation_cap_per_30_days,
            quiet_hours={
                "start": input.quiet_hours.start,
                "end": input.quiet_hours.end,
                "timezone": input.quiet_hours.timezone,
            }
            if input.quiet_hours
            else None,
            clear_quiet_hours=input.clear_quiet_hours,
            interests=input.interests,
        )
        try:
            prefs = await info.context.identity.update_preferences(
                principal.actor, _uuid(principal.id, "member"), body
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
            if problem.status in (404, 409):
                return MergeRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return MembersMerged(
            merge_id=strawberry.ID(str(merged.merge_id)),
            survivor_id=strawberry.ID(str(merged.survivor_id)),
            absorbed_id=strawberry.ID(str(merged.absorbed_id)),
            merged_at=merged.merged_at,
            identifiers_moved=merged.identifiers_moved,
        )

    @strawberry.mutation(description="Everything the platform holds on the signed-in member.")
    async def export_my_data(self, info: Info) -> DataExport:
        principal = await info.context.require(ActorKind.MEMBER)
        member_id = _uuid(principal.id, "member")
        try:
            identity = await info.context.identity.export(principal.actor, member_id)
            loyalty = await info.context.loyalty.export(principal.actor, member_id)
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return DataExport(identity=identity, loyalty=loyalty, exported_at=dt.datetime.now(dt.UTC))

    @strawberry.mutation(
        description="Erase the signed-in member by pseudonymisation; points history stays under the bare id."
    )
    async def erase_me(self, info: Info) -> Erased:
        principal = await info.context.require(ActorKind.MEMBER)
        try:
            erased = await info.context.identity.erase(
                principal.actor, _uuid(principal.id, "member")
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return Erased(member_id=strawberry.ID(str(erased.member_id)), erased_at=erased.erased_at)

    @strawberry.mutation
    async def create_venue(self, info: Info, input: CreateVenueInput) -> VenueCreated:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.CreateVenue, name=input.name, timezone=input.timezone, external_id=input.external_id
        )
        try:
            status, raw = await info.context.identity.request(
                "POST", "/internal/venues", actor=principal.actor, json=body
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        v = ic.Venue.model_validate(raw)
        return VenueCreated(
            venue=Venue(
                id=strawberry.ID(str(v.id)),
                name=v.name,
                timezone=v.timezone,
                external_id=v.external_id,
                created_at=v.created_at,
            ),
            created=status == 201,
        )

    @strawberry.mutation
    async def create_partner(self, info: Info, input: CreatePartnerInput) -> PartnerCreated:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.CreatePartner, name=input.name, kind=input.kind, external_id=input.external_id
        )
        try:
            status, raw = await info.context.identity.request(
                "POST", "/internal/partners", actor=principal.actor, json=body
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        p = ic.Partner.model_validate(raw)
        return PartnerCreated(
            partner=Partner(
                id=strawberry.ID(str(p.id)),
                name=p.name,
                kind=p.kind,
                external_id=p.external_id,
                created_at=p.created_at,
            ),
            created=status == 201,
        )

    @strawberry.mutation
    async def create_staff_account(
        self, info: Info, input: CreateStaffAccountInput
    ) -> CreateStaffAccountResult:
        principal = await info.context.require(ActorKind.ADMIN)
        body = build(
            ic.CreateStaffAccount,
            email=input.email,
            password=input.password,
            display_name=input.display_name,
            role=_value(input.role),
            venue_ids=[_uuid(v, "venueIds") for v in input.venue_ids] if input.venue_ids else None,
        )
        try:
            account = await info.context.identity.create_staff(principal.actor, body)
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.EMAIL_TAKEN:
                return EmailTaken(message=problem.message, code=problem.code)
            if problem.code == ic.ProblemCode.VENUE_NOT_FOUND:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return StaffAccountCreated(
            account=StaffAccount(
                id=strawberry.ID(str(account.id)),
                email=account.email,
                display_name=account.display_name,
                role=AccountRole(account.role.value),
                venue_ids=[strawberry.ID(str(v)) for v in account.venue_ids],
                created_at=account.created_at,
            )
        )

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

    @strawberry.mutation
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
