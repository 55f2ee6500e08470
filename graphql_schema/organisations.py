# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Organisations (admins only): venues, partners, staff accounts, and partners' API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError
from graphql_schema.types import AccountRole, NotFound, Trigger
from services.common.actor import ActorKind
from services.identity import contract as ic

# ---- types -----------------------------------------------------------------------------------


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
            id=graphql_id(v.id),
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
            id=graphql_id(p.id),
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
            id=graphql_id(a.id),
            email=a.email,
            display_name=a.display_name,
            role=a.role,
            venue_ids=[graphql_id(v) for v in a.venue_ids],
            created_at=a.created_at,
        )


@strawberry.type(description="What a partner's API key may do, as set by admins.")
class PartnerScope:
    triggers: list[Trigger] = strawberry.field(description="The events it may record.")
    venue_ids: list[strawberry.ID] | None = strawberry.field(
        description="The venues it may record events at; null: any venue."
    )
    register_referrals: bool

    @classmethod
    def of(cls, s: ic.PartnerScope) -> PartnerScope:
        venues = None if s.venue_ids is None else [graphql_id(v) for v in s.venue_ids]
        return cls(
            triggers=[Trigger(t) for t in s.triggers if t in Trigger._value2member_map_],
            venue_ids=venues,
            register_referrals=s.register_referrals,
        )


@strawberry.type
class ApiKey:
    id: strawberry.ID
    partner_id: strawberry.ID
    label: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    scope: PartnerScope

    @classmethod
    def of(cls, k: ic.ApiKey) -> ApiKey:
        return cls(
            id=graphql_id(k.id),
            partner_id=graphql_id(k.partner_id),
            label=k.label,
            prefix=k.prefix,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
            scope=PartnerScope.of(k.scope),
        )


# ---- expected outcomes -----------------------------------------------------------------------


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


@strawberry.type
class ApiKeyIssued:
    key: ApiKey
    secret: str | None = strawberry.field(
        description="Shown once; null when a retry returns a key already issued."
    )


@strawberry.type
class ApiKeyRevoked:
    key: ApiKey


@strawberry.type
class PartnerScopeSet:
    key: ApiKey


CreateStaffAccountResult = Annotated[
    StaffAccountCreated | EmailTaken | NotFound, strawberry.union("CreateStaffAccountResult")
]
IssuePartnerApiKeyResult = Annotated[
    ApiKeyIssued | NotFound, strawberry.union("IssuePartnerApiKeyResult")
]
RevokePartnerApiKeyResult = Annotated[
    ApiKeyRevoked | NotFound, strawberry.union("RevokePartnerApiKeyResult")
]
SetPartnerScopeResult = Annotated[
    PartnerScopeSet | NotFound, strawberry.union("SetPartnerScopeResult")
]


# ---- inputs ----------------------------------------------------------------------------------


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


@strawberry.input(description="What a partner's key may do; left out: purchases, any venue.")
class PartnerScopeInput:
    triggers: list[Trigger] = strawberry.field(description="Purchases, attendance, ...")
    venue_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Null: any venue."
    )
    register_referrals: bool = False


def _scope(scope: PartnerScopeInput) -> dict[str, object]:
    venues = scope.venue_ids
    return {
        "triggers": [t.value for t in scope.triggers],
        "venue_ids": None if venues is None else [parse_uuid(v, "venueIds") for v in venues],
        "register_referrals": scope.register_referrals,
    }


@strawberry.input
class IssuePartnerApiKeyInput:
    partner_id: strawberry.ID
    label: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the key, without its secret."
    )
    scope: PartnerScopeInput | None = None


@strawberry.input
class SetPartnerScopeInput:
    key_id: strawberry.ID
    scope: PartnerScopeInput


@strawberry.input
class RevokePartnerApiKeyInput:
    key_id: strawberry.ID


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Mutation:
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
            venue_ids=[parse_uuid(v, "venueIds") for v in input.venue_ids]
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
        body = build(
            ic.IssueApiKey,
            label=input.label,
            idempotency_key=input.idempotency_key,
            scope=_scope(input.scope) if input.scope else None,
        )
        try:
            issued = await info.context.identity.issue_api_key(
                principal.actor, parse_uuid(input.partner_id, "partnerId"), body
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
                principal.actor, parse_uuid(input.key_id, "keyId")
            )
        except ServiceProblem as problem:
            if problem.status == 404:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        info.context.services.api_keys.forget(str(key.id))
        return ApiKeyRevoked(key=ApiKey.of(key))

    @strawberry.mutation(
        description="Admins: what a partner's key may do (triggers, venues, referrals)."
    )
    async def set_partner_scope(
        self, info: Info, input: SetPartnerScopeInput
    ) -> SetPartnerScopeResult:
        principal = await info.context.require(ActorKind.ADMIN)
        scope = build(ic.PartnerScope, **_scope(input.scope))
        try:
            key = await info.context.identity.set_partner_scope(
                principal.actor, parse_uuid(input.key_id, "keyId"), scope
            )
        except ServiceProblem as problem:
            if problem.status == 404:
                return NotFound(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        info.context.services.api_keys.forget(str(key.id))
        return PartnerScopeSet(key=ApiKey.of(key))
