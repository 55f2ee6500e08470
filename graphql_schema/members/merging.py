# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Admins merge a duplicate member into another, with a reason (audited)."""

from __future__ import annotations

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.members.inputs import MergeMembersInput
from graphql_schema.members.outcomes import MembersMerged, MergeMembersResult, MergeRejected
from services.common.actor import ActorKind
from services.identity import contract as ic


@strawberry.type
class Mutation:
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
