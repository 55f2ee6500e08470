# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The signed-in member (``me``): the profile, and what other areas add to the member's view."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from graphql_schema.accounts import Account
from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import graphql_id, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import forbidden
from graphql_schema.invitations import Invitation, member_invitations
from graphql_schema.members.outputs import ContactPreferences, Identifier
from graphql_schema.referrals import MyReferral, member_code, my_referrals
from graphql_schema.types import Locale, MemberStatus
from services.common.actor import ActorKind
from services.identity import contract as ic


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


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in member (a member's access token).")
    async def me(self, info: Info) -> Me:
        principal = await info.context.require(ActorKind.MEMBER)
        return Me(id=graphql_id(parse_uuid(principal.id, "the token's subject")))
