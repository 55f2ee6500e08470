# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The rewards catalogue; for a signed-in member, with eligibility."""

from __future__ import annotations

import uuid

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import locale_code, unexpected
from graphql_schema.context import Info
from graphql_schema.rewards.outputs import Reward
from graphql_schema.types import Locale
from services.common.actor import SYSTEM, ActorKind


@strawberry.type
class Query:
    @strawberry.field(
        description="The rewards catalogue; for a signed-in member, with eligibility."
    )
    async def rewards(self, info: Info, locale: Locale | None = None) -> list[Reward]:
        principal = await info.context.optional()
        member = (
            uuid.UUID(principal.id)
            if principal and principal.kind is ActorKind.MEMBER and principal.id
            else None
        )
        try:
            found = await info.context.loyalty.rewards(
                principal.actor if principal else SYSTEM, member, locale_code(locale)
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return [Reward.of(r) for r in found]
