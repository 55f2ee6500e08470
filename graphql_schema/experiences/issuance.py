# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Staff of the venue and admins: issue invitations in the fair order, within the contact
guardrails; the report says who was invited and who was spared, and why (see ``report``)."""

from __future__ import annotations

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.experiences.access import STAFF_AND_ADMINS
from graphql_schema.experiences.inputs import IssueInvitationsInput
from graphql_schema.experiences.outcomes import (
    ExperienceClosed,
    InvitationsIssued,
    InvitationWindowClosed,
    IssuanceKeyReused,
    IssueInvitationsResult,
    refusal,
)
from graphql_schema.experiences.report import IssuanceReport
from graphql_schema.types import Locale, NotFound
from services.loyalty.experiences import contract as ec


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Staff of the venue and admins: invite members in the fair order, within "
        "the contact guardrails; the report says who was spared and why."
    )
    async def issue_invitations(
        self, info: Info, input: IssueInvitationsInput, locale: Locale | None = None
    ) -> IssueInvitationsResult:
        principal = await info.context.require(*STAFF_AND_ADMINS)
        experience_id = parse_uuid(input.experience_id, "experienceId")
        body = build(ec.IssueInvitations, key=input.key, count=input.count, seed=input.seed)
        try:
            report = await info.context.loyalty.issue_invitations(
                principal.actor, experience_id, body, locale_code(locale)
            )
        except ServiceProblem as problem:
            refused = refusal(problem)
            if isinstance(
                refused, NotFound | ExperienceClosed | InvitationWindowClosed | IssuanceKeyReused
            ):
                return refused
            raise unexpected(problem) from None
        return InvitationsIssued(report=IssuanceReport.of(report), created=report.created)
