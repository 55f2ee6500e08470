# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""How the member is reached: the identifiers they link and their contact preferences."""

from __future__ import annotations

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.members.inputs import LinkIdentifierInput, UpdateContactPreferencesInput
from graphql_schema.members.outcomes import (
    IdentifierConflict,
    IdentifierLinked,
    LinkIdentifierResult,
    PreferencesUpdated,
)
from graphql_schema.members.outputs import ContactPreferences, Identifier
from graphql_schema.verification import throttled
from services.common.actor import ActorKind
from services.identity import contract as ic


@strawberry.type
class Mutation:
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
