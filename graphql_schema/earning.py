# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Earning points: what an event would earn (``simulateEarn``, the very code that awards), and
recording an event for a member or reversing it (venue staff, admins, partners)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from graphql_schema.auth import Principal
from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, locale_code, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from graphql_schema.types import (
    AwardLine,
    IdentifierKind,
    LedgerEntry,
    Locale,
    OutOfScope,
    Trigger,
)
from services.common.actor import SYSTEM, ActorKind
from services.common.money import is_plain_decimal
from services.identity import contract as ic
from services.loyalty import contract as lc


def _amount(raw: str | None) -> Decimal | None:
    """A decimal in plain notation: ``1_000``, ``1E+2``, `` 12`` or ``+5`` are refused."""
    if raw is None:
        return None
    if not is_plain_decimal(raw):
        raise invalid_input('amount must be a decimal number such as "45.90"')
    return Decimal(raw)


# ---- types -----------------------------------------------------------------------------------


@strawberry.type(description="What an event would earn, computed by the very code that awards it.")
class EarnPreview:
    total: int
    pending: int
    rule_version: int | None
    lines: list[AwardLine]


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type
class EarnRecorded:
    created: bool
    points: int
    balance: int
    pending: int
    entry: LedgerEntry


@strawberry.type(
    description="An earn recorded by a partner: what this event earned, never the member's "
    "balance or history."
)
class PartnerEarnRecorded:
    created: bool
    external_id: str
    points: int
    summary: str


@strawberry.type
class EarnRejected(UserError):
    pass


@strawberry.type
class MemberNotFound(UserError):
    pass


@strawberry.type
class EarnReversed:
    created: bool
    points_reversed: int
    shortfall: int
    balance: int
    entry: LedgerEntry


@strawberry.type(description="A partner's earn reversed: the points taken back, no balance.")
class PartnerEarnReversed:
    created: bool
    external_id: str
    points_reversed: int


@strawberry.type
class ReversalRejected(UserError):
    pass


RecordEarnEventResult = Annotated[
    EarnRecorded | PartnerEarnRecorded | EarnRejected | MemberNotFound | OutOfScope,
    strawberry.union("RecordEarnEventResult"),
]
ReverseEarnEventResult = Annotated[
    EarnReversed | PartnerEarnReversed | ReversalRejected,
    strawberry.union("ReverseEarnEventResult"),
]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class MemberIdentifierInput:
    kind: IdentifierKind
    value: str


@strawberry.input(
    description='An event that may earn points. Amounts are decimal strings ("45.90").'
)
class EarnEventInput:
    trigger: Trigger
    occurred_at: dt.datetime
    amount: str | None = None
    currency: str | None = None
    category: str | None = None
    venue_id: strawberry.ID | None = None


@strawberry.input(
    description="Record an event for a member, named by id or by one of their identifiers."
)
class RecordEarnEventInput:
    external_id: str
    trigger: Trigger
    occurred_at: dt.datetime
    member_id: strawberry.ID | None = None
    identifier: MemberIdentifierInput | None = None
    amount: str | None = None
    currency: str | None = None
    category: str | None = None
    venue_id: strawberry.ID | None = None


@strawberry.input
class ReverseEarnEventInput:
    external_id: str
    reason: str
    venue_id: strawberry.ID | None = None
    refunded_amount: str | None = None


def _event(
    trigger: Any,
    occurred_at: dt.datetime,
    amount: str | None,
    currency: str | None,
    category: str | None,
    venue_id: Any,
) -> dict[str, Any]:
    return {
        "trigger": trigger.value,
        "occurred_at": occurred_at,
        "amount": _amount(amount),
        "currency": currency,
        "category": category,
        "venue_id": venue_id,
    }


async def _member_of(info: Info, input: RecordEarnEventInput) -> uuid.UUID | MemberNotFound:
    """The member an earn is for: their id (checked to exist) or the owner of an identifier."""
    if (input.member_id is None) == (input.identifier is None):
        raise invalid_input("give exactly one of memberId and identifier")
    cache = info.context.services.known_members
    try:
        if input.identifier is not None:
            resolution = await info.context.identity.resolve(
                SYSTEM, input.identifier.kind, input.identifier.value
            )
            return resolution.member_id
        try:
            member_id = uuid.UUID(str(input.member_id))
        except ValueError:
            raise invalid_input("memberId must be a UUID") from None
        feed = info.context.services.tokens.revocations
        known = cache.get(member_id)
        if known is None or feed.member_revoked(str(member_id)) or feed.forgotten_since(known):
            # a member erased or merged since (or told of in a kind of revocation not known
            # here) is asked of identity again
            mark = feed.scope_mark
            found = await info.context.identity.member(SYSTEM, member_id)
            if found.status is ic.MemberStatus.ERASED:
                cache.pop(member_id, None)
                return MemberNotFound(message="this member was erased", code="MEMBER_ERASED")
            if len(cache) > 100_000:
                cache.clear()
            cache[member_id] = mark
        return member_id
    except ServiceProblem as problem:
        if problem.status in (404, 410):
            return MemberNotFound(message=problem.message, code=problem.code)
        raise unexpected(problem) from None


SCOPE_CODES = (lc.ProblemCode.TRIGGER_NOT_ALLOWED, lc.ProblemCode.VENUE_NOT_ALLOWED)
PARTNER_IDENTIFIERS = (ic.IdentifierKind.MEMBERSHIP_CARD, ic.IdentifierKind.TICKETING_ID)


def out_of_scope(principal: Principal, input: RecordEarnEventInput) -> OutOfScope | None:
    """A partner records only the triggers, at the venues, its key's scope allows; and it names
    members by member id, card or ticketing id (what a member shows it), never by an email or a
    phone, which would tell it who is a member."""
    scope = principal.scope
    if principal.kind is not ActorKind.PARTNER:
        return None
    if scope is None or input.trigger.value not in scope.triggers:
        return OutOfScope(
            code="TRIGGER_NOT_ALLOWED",
            message=f"this API key may not record {input.trigger.value} events",
        )
    if scope.venue_ids is not None and (
        input.venue_id is None or str(input.venue_id) not in {str(v) for v in scope.venue_ids}
    ):
        return OutOfScope(
            code="VENUE_NOT_ALLOWED", message="this API key may not record events at that venue"
        )
    if input.identifier is not None and input.identifier.kind not in PARTNER_IDENTIFIERS:
        return OutOfScope(
            code="IDENTIFIER_NOT_ALLOWED",
            message="a partner names a member by member id, membership card or ticketing id",
        )
    return None


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="What an event would earn: for the signed-in member, or anyone.")
    async def simulate_earn(
        self, info: Info, event: EarnEventInput, locale: Locale | None = None
    ) -> EarnPreview:
        principal = await info.context.optional()
        member = (
            uuid.UUID(principal.id)
            if principal and principal.kind is ActorKind.MEMBER and principal.id
            else None
        )
        body = build(
            lc.SimulateEarn,
            member_id=member,
            event=_event(
                event.trigger,
                event.occurred_at,
                event.amount,
                event.currency,
                event.category,
                event.venue_id,
            ),
            locale=locale_code(locale),
        )
        try:
            award = await info.context.loyalty.simulate(
                principal.actor if principal else SYSTEM, body
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return EarnPreview(
            total=award.total,
            pending=award.pending,
            rule_version=award.rule_version,
            lines=[AwardLine.of(line) for line in award.lines],
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Venue staff for their venue, partners and box offices by API key."
    )
    async def record_earn_event(
        self, info: Info, input: RecordEarnEventInput, locale: Locale | None = None
    ) -> RecordEarnEventResult:
        principal = await info.context.require(ActorKind.STAFF, ActorKind.ADMIN, ActorKind.PARTNER)
        event = _event(
            input.trigger,
            input.occurred_at,
            input.amount,
            input.currency,
            input.category,
            input.venue_id,
        )
        build(lc.EarnEvent, **event)  # bad input is refused before anything is looked up
        refused = out_of_scope(principal, input)
        if refused is not None:
            return refused
        member = await _member_of(info, input)
        if isinstance(member, MemberNotFound):
            return member
        body = build(lc.RecordEarn, member_id=member, external_id=input.external_id, event=event)
        try:
            outcome = await info.context.loyalty.earn(principal.actor, body, locale_code(locale))
        except ServiceProblem as problem:
            if problem.code in SCOPE_CODES:  # loyalty checks the key's scope again
                return OutOfScope(code=problem.code, message=problem.message)
            if problem.code == lc.ProblemCode.MEMBER_ERASED:
                return MemberNotFound(message=problem.message, code=problem.code)
            if problem.status in (403, 409) or problem.code in (
                lc.ProblemCode.EVENT_TOO_OLD,
                lc.ProblemCode.EVENT_IN_FUTURE,
            ):
                return EarnRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        if principal.kind is ActorKind.PARTNER:
            return PartnerEarnRecorded(
                created=outcome.created,
                external_id=outcome.entry.external_id,
                points=outcome.entry.points,
                summary=outcome.entry.summary,
            )
        return EarnRecorded(
            created=outcome.created,
            points=outcome.entry.points,
            balance=outcome.balance,
            pending=outcome.pending,
            entry=LedgerEntry.of(outcome.entry),
        )

    @strawberry.mutation(description="Reverse an earn in full or in part (a refund), at most once.")
    async def reverse_earn_event(
        self, info: Info, input: ReverseEarnEventInput, locale: Locale | None = None
    ) -> ReverseEarnEventResult:
        principal = await info.context.require(ActorKind.STAFF, ActorKind.ADMIN, ActorKind.PARTNER)
        body = build(
            lc.ReverseEarn,
            external_id=input.external_id,
            reason=input.reason,
            venue_id=input.venue_id,
            refunded_amount=_amount(input.refunded_amount),
        )
        try:
            outcome = await info.context.loyalty.reverse(principal.actor, body, locale_code(locale))
        except ServiceProblem as problem:
            if problem.status in (403, 404, 409):
                return ReversalRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        if principal.kind is ActorKind.PARTNER:
            return PartnerEarnReversed(
                created=outcome.created,
                external_id=input.external_id,
                points_reversed=outcome.points_reversed,
            )
        return EarnReversed(
            created=outcome.created,
            points_reversed=outcome.points_reversed,
            shortfall=outcome.shortfall,
            balance=outcome.balance,
            entry=LedgerEntry.of(outcome.entry),
        )
