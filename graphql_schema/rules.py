# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The rulebook: the rules in force in plain words with their changelog, the tiers (both
public), and publishing a new version of the rules (admins)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from graphql_schema.types import Locale, Tier, Trigger
from services.common.actor import SYSTEM, ActorKind
from services.loyalty import contract as lc

# ---- types -----------------------------------------------------------------------------------


@strawberry.type
class RuleView:
    key: str
    title: str
    trigger: Trigger
    description: str
    exclusive_group: str | None
    pending_days: int
    counts_for_status: bool


@strawberry.type
class RuleChange:
    kind: str
    rule_key: str | None
    lowers_earnings: bool
    summary: str


@strawberry.type
class RuleSetVersion:
    version: int
    effective_at: dt.datetime
    published_at: dt.datetime
    published_by: str
    changes: list[RuleChange]
    in_force: bool
    upcoming: bool


@strawberry.type(description="The public rulebook: every rule in plain words, and its history.")
class Rulebook:
    locale: Locale
    version: int | None
    effective_at: dt.datetime | None
    currency: str
    rules: list[RuleView]
    tiers: list[Tier]
    policies: list[str]
    changelog: list[RuleSetVersion]

    @classmethod
    def of(cls, r: lc.Rulebook) -> Rulebook:
        return cls(
            locale=Locale(r.locale.value),
            version=r.version,
            effective_at=r.effective_at,
            currency=r.currency,
            rules=[RuleView(**v.model_dump()) for v in r.rules],
            tiers=[Tier(**t.model_dump()) for t in r.tiers],
            policies=r.policies,
            changelog=[
                RuleSetVersion(
                    **{
                        **v.model_dump(exclude={"changes"}),
                        "changes": [RuleChange(**c.model_dump()) for c in v.changes],
                    }
                )
                for v in r.changelog
            ],
        )


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class RuleSetPublished:
    version: int
    effective_at: dt.datetime
    created: bool
    changes: list[RuleChange]


@strawberry.type
class RuleSetRejected(UserError):
    errors: list[str]


PublishRuleSetResult = Annotated[
    RuleSetPublished | RuleSetRejected, strawberry.union("PublishRuleSetResult")
]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class PublishRuleSetInput:
    document: JSON
    idempotency_key: str | None = None


# ---- resolvers -------------------------------------------------------------------------------


async def _rulebook(info: Info, locale: Locale | None) -> Rulebook:
    principal = await info.context.optional()
    try:
        book = await info.context.loyalty.rulebook(
            principal.actor if principal else SYSTEM, locale_code(locale)
        )
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    return Rulebook.of(book)


@strawberry.type
class Query:
    @strawberry.field(
        description="The rules in force, in plain words, with their changelog. Public."
    )
    async def reward_rules(self, info: Info, locale: Locale | None = None) -> Rulebook:
        return await _rulebook(info, locale)

    @strawberry.field(description="The programme's tiers. Public.")
    async def tiers(self, info: Info, locale: Locale | None = None) -> list[Tier]:
        return (await _rulebook(info, locale)).tiers


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Admins: publish a new version of the rules.")
    async def publish_rule_set(
        self, info: Info, input: PublishRuleSetInput
    ) -> PublishRuleSetResult:
        principal = await info.context.require(ActorKind.ADMIN)
        if not isinstance(input.document, dict):
            raise invalid_input("document must be a JSON object")
        body = build(
            lc.PublishRuleSet, document=input.document, idempotency_key=input.idempotency_key
        )
        try:
            published = await info.context.loyalty.publish(principal.actor, body)
        except ServiceProblem as problem:
            if problem.status in (409, 422):
                errors = [str(e) for e in problem.details.get("errors", [])]
                return RuleSetRejected(message=problem.message, code=problem.code, errors=errors)
            raise unexpected(problem) from None
        return RuleSetPublished(
            version=published.version,
            effective_at=published.effective_at,
            created=published.created,
            changes=[RuleChange(**c.model_dump()) for c in published.changes],
        )
