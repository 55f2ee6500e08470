# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The member's data (principle 6): everything held on them, and their erasure."""

from __future__ import annotations

import asyncio
import datetime as dt

import strawberry
from strawberry.scalars import JSON

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import graphql_id, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.members.outcomes import DataExport, Erased
from services.common.actor import ActorKind


@strawberry.type
class Mutation:
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
