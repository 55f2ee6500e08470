# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The report of one issuance of invitations: who was invited, who was spared and why."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.common import graphql_id
from graphql_schema.experiences.enums import Suppression
from graphql_schema.types import Channel
from services.loyalty.experiences import contract as ec


@strawberry.type(description="The figures of one issuance's spared members, for one reason.")
class SuppressionCount:
    reason: Suppression
    count: int


def suppression_counts(by_reason: dict[ec.Suppression, int]) -> list[SuppressionCount]:
    return [SuppressionCount(reason=r, count=by_reason.get(r, 0)) for r in ec.Suppression]


@strawberry.type
class IssuedInvitation:
    invitation_id: strawberry.ID
    member_id: strawberry.ID
    position: int = strawberry.field(description="In the fair order, 1 for the first.")
    channel: Channel
    deliver_after: dt.datetime | None = strawberry.field(
        description="Held for the member's quiet hours: delivered no earlier than this."
    )


@strawberry.type(description="A member the guardrails spared, with every guardrail that failed.")
class SparedMember:
    member_id: strawberry.ID
    position: int
    reasons: list[Suppression] = strawberry.field(description="The first is the one counted.")


@strawberry.type(description="What one issuance did: who was invited, who was spared and why.")
class IssuanceReport:
    id: strawberry.ID
    experience_id: strawberry.ID
    key: str
    issued_at: dt.datetime
    issued_by: str
    seed: str = strawberry.field(description="Settles the draw among equals; published.")
    order: str = strawberry.field(description="The fair order, in words.")
    candidates: int
    eligible: int
    issued: int
    held: int = strawberry.field(description="Of those issued, held for quiet hours.")
    suppressed: int
    not_reached: int = strawberry.field(description="Eligible, past the count: neither.")
    suppressed_by_reason: list[SuppressionCount] = strawberry.field(
        description="Each spared member once, by the first guardrail that failed."
    )
    suppressed_by_any_reason: list[SuppressionCount] = strawberry.field(
        description="Each spared member under every guardrail that failed."
    )
    invitations: list[IssuedInvitation]
    spared: list[SparedMember]

    @classmethod
    def of(cls, r: ec.IssuanceReport) -> IssuanceReport:
        return cls(
            id=graphql_id(r.id),
            experience_id=graphql_id(r.experience_id),
            key=r.key,
            issued_at=r.issued_at,
            issued_by=r.issued_by,
            seed=r.seed,
            order=r.order,
            candidates=r.candidates,
            eligible=r.eligible,
            issued=r.issued,
            held=r.held,
            suppressed=r.suppressed,
            not_reached=r.not_reached,
            suppressed_by_reason=suppression_counts(r.suppressed_by_reason),
            suppressed_by_any_reason=suppression_counts(r.suppressed_by_any_reason),
            invitations=[
                IssuedInvitation(
                    invitation_id=graphql_id(i.invitation_id),
                    member_id=graphql_id(i.member_id),
                    position=i.position,
                    channel=Channel(i.channel.value),
                    deliver_after=i.deliver_after,
                )
                for i in r.invitations
            ],
            spared=[
                SparedMember(
                    member_id=graphql_id(s.member_id), position=s.position, reasons=list(s.reasons)
                )
                for s in r.spared
            ],
        )
