# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Points, tiers, rewards and the public rulebook: the loyalty part of the schema."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from graphql_schema.identity import IdentifierKind, Locale
from graphql_schema.loaders import AccountPage
from services.common.actor import SYSTEM, ActorKind
from services.loyalty import contract as lc

strawberry.enum(lc.Trigger, description="What happened, for the rules that award points.")
strawberry.enum(lc.EntryKind, description="The kind of a ledger entry.")
Trigger = lc.Trigger
EntryKind = lc.EntryKind


def _locale(locale: Any, fallback: str = "en") -> str:
    return locale.value if locale is not None else fallback


def _amount(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise invalid_input('amount must be a decimal number such as "45.90"') from None


# ---- types -----------------------------------------------------------------------------------


@strawberry.type
class AwardLine:
    rule_key: str
    rule_version: int
    points: int
    reason: str
    pending_until: dt.datetime | None
    counts_for_status: bool

    @classmethod
    def of(cls, line: lc.AwardLine) -> AwardLine:
        return cls(**line.model_dump())


@strawberry.type(description="One movement of points, with who or what caused it and why.")
class LedgerEntry:
    id: strawberry.ID
    kind: EntryKind
    points: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    source: str
    external_id: str
    actor: str
    rule_version: int | None
    reverses_entry_id: strawberry.ID | None
    summary: str
    lines: list[AwardLine]

    @classmethod
    def of(cls, e: lc.Entry) -> LedgerEntry:
        return cls(
            id=strawberry.ID(str(e.id)),
            kind=e.kind,
            points=e.points,
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            source=e.source,
            external_id=e.external_id,
            actor=e.actor,
            rule_version=e.rule_version,
            reverses_entry_id=strawberry.ID(str(e.reverses_entry_id))
            if e.reverses_entry_id
            else None,
            summary=e.summary,
            lines=[AwardLine.of(line) for line in e.lines],
        )


@strawberry.type
class Tier:
    key: str
    name: str
    threshold: int
    benefits: list[str]
    description: str

    @classmethod
    def of(cls, t: lc.Tier | None) -> Tier | None:
        return None if t is None else cls(**t.model_dump())


@strawberry.type(description="Where the member stands: the tier, the next one, and what it takes.")
class TierProgress:
    current: Tier | None
    next: Tier | None
    status_points: int
    points_to_next: int | None
    points_to_keep: int
    keep_by: dt.datetime | None
    qualifying_until: dt.datetime | None
    counts_toward: str
    policy: str

    @classmethod
    def of(cls, p: lc.TierProgress) -> TierProgress:
        return cls(
            current=Tier.of(p.current),
            next=Tier.of(p.next),
            status_points=p.status_points,
            points_to_next=p.points_to_next,
            points_to_keep=p.points_to_keep,
            keep_by=p.keep_by,
            qualifying_until=p.qualifying_until,
            counts_toward=p.counts_toward,
            policy=p.policy,
        )


@strawberry.type
class PendingPoints:
    points: int
    available_at: dt.datetime


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class HistoryPage:
    nodes: list[LedgerEntry]
    page_info: PageInfo


@strawberry.type(description="The member's points account.")
class Account:
    member_id: strawberry.Private[uuid.UUID]
    locale: strawberry.Private[str]

    async def _fetch(self, info: Info, first: int = 10, after: str | None = None) -> lc.Account:
        """One call per distinct page asked for; sibling fields share it (a DataLoader)."""
        await info.context.require(ActorKind.MEMBER)
        page = AccountPage(self.member_id, self.locale, first, after)
        try:
            return await info.context.loaders.account.load(page)
        except ServiceProblem as problem:
            raise unexpected(problem) from None

    @strawberry.field(description="Points that can be spent now.")
    async def balance(self, info: Info) -> int:
        return (await self._fetch(info)).balance

    @strawberry.field(description="Points earned but not yet spendable.")
    async def pending(self, info: Info) -> int:
        return (await self._fetch(info)).pending

    @strawberry.field
    async def pending_releases(self, info: Info) -> list[PendingPoints]:
        return [
            PendingPoints(points=p.points, available_at=p.available_at)
            for p in (await self._fetch(info)).pending_releases
        ]

    @strawberry.field(description="The next points to expire, and when.")
    async def next_expiry(self, info: Info) -> PendingPoints | None:
        nxt = (await self._fetch(info)).next_expiry
        return PendingPoints(points=nxt.points, available_at=nxt.available_at) if nxt else None

    @strawberry.field(description="The tier the member holds.")
    async def tier(self, info: Info) -> Tier | None:
        return Tier.of((await self._fetch(info)).tier.current)

    @strawberry.field
    async def progress(self, info: Info) -> TierProgress:
        return TierProgress.of((await self._fetch(info)).tier)

    @strawberry.field(description="Newest first; each entry explains itself.")
    async def history(self, info: Info, first: int = 10, after: str | None = None) -> HistoryPage:
        if not 0 <= first <= 100:
            raise invalid_input("first must be between 0 and 100")
        page = (await self._fetch(info, first, after)).history
        return HistoryPage(
            nodes=[LedgerEntry.of(e) for e in page.entries],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


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


@strawberry.type
class Reward:
    id: strawberry.ID
    key: str
    title: str
    description: str
    cost: int
    stock: int | None
    min_tier: str | None
    eligible: bool | None
    ineligible_reason: str | None

    @classmethod
    def of(cls, r: lc.Reward) -> Reward:
        return cls(
            id=strawberry.ID(str(r.id)),
            key=r.key,
            title=r.title,
            description=r.description,
            cost=r.cost,
            stock=r.stock,
            min_tier=r.min_tier,
            eligible=r.eligible,
            ineligible_reason=r.ineligible_reason,
        )


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


@strawberry.type
class ReversalRejected(UserError):
    pass


@strawberry.type
class RewardRedeemed:
    created: bool
    voucher_code: str
    reward: Reward
    cost: int
    balance: int
    entry: LedgerEntry


@strawberry.type
class NotEnoughPoints(UserError):
    needed: int
    available: int


@strawberry.type
class RewardUnavailable(UserError):
    pass


@strawberry.type
class RuleSetPublished:
    version: int
    effective_at: dt.datetime
    created: bool
    changes: list[RuleChange]


@strawberry.type
class RuleSetRejected(UserError):
    errors: list[str]


RecordEarnEventResult = Annotated[
    EarnRecorded | EarnRejected | MemberNotFound, strawberry.union("RecordEarnEventResult")
]
ReverseEarnEventResult = Annotated[
    EarnReversed | ReversalRejected, strawberry.union("ReverseEarnEventResult")
]
RedeemRewardResult = Annotated[
    RewardRedeemed | NotEnoughPoints | RewardUnavailable, strawberry.union("RedeemRewardResult")
]
PublishRuleSetResult = Annotated[
    RuleSetPublished | RuleSetRejected, strawberry.union("PublishRuleSetResult")
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


@strawberry.input
class RedeemRewardInput:
    reward_id: strawberry.ID
    idempotency_key: str


@strawberry.input
class PublishRuleSetInput:
    document: JSON
    idempotency_key: str | None = None


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
        if member_id not in cache:
            await info.context.identity.member(SYSTEM, member_id)
            if len(cache) > 100_000:
                cache.clear()
            cache.add(member_id)
        return member_id
    except ServiceProblem as problem:
        if problem.status in (404, 410):
            return MemberNotFound(message=problem.message, code=problem.code)
        raise unexpected(problem) from None


async def _rulebook(info: Info, locale: Locale | None) -> Rulebook:
    principal = await info.context.optional()
    try:
        book = await info.context.loyalty.rulebook(
            principal.actor if principal else SYSTEM, _locale(locale)
        )
    except ServiceProblem as problem:
        raise unexpected(problem) from None
    return Rulebook.of(book)


@strawberry.type(description="The programme's points, as its ledger has them now.")
class ProgrammeStats:
    outstanding_points: int = strawberry.field(
        description="Points members hold, spendable or pending: the programme's liability."
    )
    issued_points: int
    redeemed_points: int
    expired_points: int
    reversed_points: int
    as_of: dt.datetime


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Admins: the programme's figures, read from the ledger.")
    async def programme_stats(self, info: Info) -> ProgrammeStats:
        principal = await info.context.require(ActorKind.ADMIN)
        try:
            figures = await info.context.loyalty.liability(principal.actor)
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return ProgrammeStats(
            outstanding_points=figures.outstanding,
            issued_points=figures.issued,
            redeemed_points=figures.redeemed,
            expired_points=figures.expired,
            reversed_points=figures.reversed,
            as_of=figures.as_of,
        )

    @strawberry.field(
        description="The rules in force, in plain words, with their changelog. Public."
    )
    async def reward_rules(self, info: Info, locale: Locale | None = None) -> Rulebook:
        return await _rulebook(info, locale)

    @strawberry.field(description="The programme's tiers. Public.")
    async def tiers(self, info: Info, locale: Locale | None = None) -> list[Tier]:
        return (await _rulebook(info, locale)).tiers

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
                principal.actor if principal else SYSTEM, member, _locale(locale)
            )
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return [Reward.of(r) for r in found]

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
            locale=_locale(locale),
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
        member = await _member_of(info, input)
        if isinstance(member, MemberNotFound):
            return member
        body = build(lc.RecordEarn, member_id=member, external_id=input.external_id, event=event)
        try:
            outcome = await info.context.loyalty.earn(principal.actor, body, _locale(locale))
        except ServiceProblem as problem:
            if problem.status in (403, 409) or problem.code in (
                lc.ProblemCode.EVENT_TOO_OLD,
                lc.ProblemCode.EVENT_IN_FUTURE,
            ):
                return EarnRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
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
            outcome = await info.context.loyalty.reverse(principal.actor, body, _locale(locale))
        except ServiceProblem as problem:
            if problem.status in (403, 404, 409):
                return ReversalRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return EarnReversed(
            created=outcome.created,
            points_reversed=outcome.points_reversed,
            shortfall=outcome.shortfall,
            balance=outcome.balance,
            entry=LedgerEntry.of(outcome.entry),
        )

    @strawberry.mutation(description="Spend points on a reward; returns a voucher code.")
    async def redeem_reward(
        self, info: Info, input: RedeemRewardInput, locale: Locale | None = None
    ) -> RedeemRewardResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(
            lc.RedeemReward,
            member_id=principal.id,
            reward_id=input.reward_id,
            idempotency_key=input.idempotency_key,
        )
        try:
            redemption = await info.context.loyalty.redeem(principal.actor, body, _locale(locale))
        except ServiceProblem as problem:
            if problem.code == lc.ProblemCode.NOT_ENOUGH_POINTS:
                return NotEnoughPoints(
                    message=problem.message,
                    code=problem.code,
                    needed=int(problem.details.get("needed", 0)),
                    available=int(problem.details.get("available", 0)),
                )
            if problem.status in (404, 409):
                return RewardUnavailable(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
        return RewardRedeemed(
            created=redemption.created,
            voucher_code=redemption.voucher_code,
            reward=Reward.of(redemption.reward),
            cost=redemption.cost,
            balance=redemption.balance,
            entry=LedgerEntry.of(redemption.entry),
        )

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
