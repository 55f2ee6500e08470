"""Recording an earn: award what the rule set in force at the event's time says, exactly once.

The member's context is read without a lock and the earn written in one statement guarded by the
member's version, so nothing is locked while the rules run; a busy member's earn falls back to
their row lock. The programme's own accounts are never locked: their balances are derived from
postings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract, ledger
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.earning import queries
from services.loyalty.earning.award import award, earn_context, line_json, local
from services.loyalty.earning.turns import NO_TURNS, Turns
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import (
    both,
    entry_view,
    ids_for,
    member_erased,
    now_or,
    points_en,
    points_fr,
    request_hash,
)
from services.loyalty.partner_scope import check_earn
from services.loyalty.rulebook.book import RuleBook

MAX_EVENT_AGE = timedelta(days=180)
CLOCK_SKEW = timedelta(minutes=5)

TRIGGER_LABELS = {
    "purchase": ("Purchase", "Achat"),
    "attendance": ("Attendance", "Présence"),
    "subscription": ("Subscription", "Abonnement"),
    "signup": ("Welcome", "Bienvenue"),
    "birthday": ("Birthday", "Anniversaire"),
    "referral_converted": ("Referral", "Parrainage"),
}

OPTIMISTIC_ATTEMPTS = 2
EARN_ATTEMPTS = Counter(
    "loyalty_earn_attempts_total",
    "Earn writes tried, by outcome: written, changed (the member changed meanwhile: read again), "
    "locked (a busy member served under their row lock)",
    ["outcome"],
)


def source_of(actor: Actor, venue_id: UUID | None) -> str:
    """The caller's namespace for external ids: a partner's, or a venue box office's."""
    if actor.kind is ActorKind.PARTNER and actor.id:
        return f"partner:{actor.id}"
    if actor.kind is ActorKind.STAFF:
        if venue_id is None:
            raise InvalidInput("venue_id is required when staff record points")
        if str(venue_id) not in actor.venue_ids:
            raise Forbidden(ProblemCode.WRONG_VENUE, "you do not work for that venue")
        return f"venue:{venue_id}"
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        return f"venue:{venue_id}" if venue_id else actor.kind.value
    raise Forbidden(ProblemCode.FORBIDDEN, "only venues, partners and admins record points")


def fingerprinted(body: contract.RecordEarn) -> dict[str, object]:
    """What an earn's fingerprint covers: the request, without a production it does not name (so
    earns recorded before events could name one keep their fingerprint)."""
    if body.event.production_id is None:
        return body.model_dump(mode="json", exclude={"event": {"production_id"}})
    return body.model_dump(mode="json")


def _check_time(occurred_at: datetime, now: datetime) -> None:
    if occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at must carry a time zone offset")
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("the event has not happened yet", code=ProblemCode.EVENT_IN_FUTURE)
    if occurred_at < now - MAX_EVENT_AGE:
        raise InvalidInput(
            f"events older than {MAX_EVENT_AGE.days} days are not accepted",
            code=ProblemCode.EVENT_TOO_OLD,
        )


async def earn_points(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.RecordEarn,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
    turns: Turns | None = None,
) -> contract.EarnOutcome:
    """Record an event and award what the rule set in force at its time says, exactly once.

    The member's context is read without a lock and the earn written in one statement that
    succeeds only if the member has not changed meanwhile; a member so busy that this fails
    repeatedly is served under their row lock instead."""
    now = now_or(now)
    if body.event.occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at must carry a time zone offset")
    check_earn(actor, body.event.trigger.value, body.event.venue_id)
    source = source_of(actor, body.event.venue_id)
    fingerprint = request_hash(fingerprinted(body))
    async with (turns or NO_TURNS).turn(body.member_id), engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        for _ in range(OPTIMISTIC_ATTEMPTS):
            outcome = await _attempt_earn(
                conn, book, actor, body, source, fingerprint, locale, now, locked=False
            )
            if outcome is not None:
                EARN_ATTEMPTS.labels("written").inc()
                return outcome
            EARN_ATTEMPTS.labels("changed").inc()
    EARN_ATTEMPTS.labels("locked").inc()
    async with UnitOfWork(engine) as uow:
        outcome = await _attempt_earn(
            uow.conn, book, actor, body, source, fingerprint, locale, now, locked=True
        )
        await uow.commit()
    assert outcome is not None  # under the lock the member cannot change
    return outcome


async def _attempt_earn(
    conn: AsyncConnection,
    book: RuleBook,
    actor: Actor,
    body: contract.RecordEarn,
    source: str,
    fingerprint: str,
    locale: Locale,
    now: datetime,
    *,
    locked: bool,
) -> contract.EarnOutcome | None:
    event_body = body.event
    member = body.member_id
    rule_set = await book.in_force(conn, event_body.occurred_at, cached=True)
    while True:
        if locked:
            await queries.lock_member_row(conn, member)
        context = await earn_context(conn, member, source, body.external_id, rule_set, event_body)
        if context is None or context.balances is None:
            await journal.ensure_member(conn, member)
            continue
        if context.merged_into is not None:
            member = context.merged_into
            continue
        if context.latest_rule_set != book.latest:
            fresh = await book.in_force(
                conn, event_body.occurred_at, latest=context.latest_rule_set
            )
            if fresh is not rule_set:
                rule_set = fresh
                continue
        break
    if context.existing is not None:
        existing = await journal.entry_by_key(conn, source, body.external_id)
        assert existing is not None
        return await _replayed_earn(conn, existing, fingerprint, locale)
    if context.erased_at is not None:
        raise member_erased(member)
    _check_time(event_body.occurred_at, now)  # a replay of a recorded earn is always answered
    if rule_set is None:
        raise Problem(
            ProblemCode.NO_RULES_IN_FORCE, "no rule set is in force at that time", status=409
        )
    awarded = award(rule_set, event_body, context)
    new_lots = ledger.plan_lots(
        [(line.points, line.pending_until) for line in awarded.lines],
        earned_at=event_body.occurred_at,
        now=now,
        expiry_months=rule_set.expiry_months,
    )
    entry = ledger.earn_entry(member, new_lots)
    balances = context.balances
    account_ids = await ids_for(conn, {member: balances})
    label_en, label_fr = TRIGGER_LABELS[event_body.trigger.value]
    row = await queries.write_earn(
        conn,
        member=member,
        version=context.version,
        source=source,
        external_id=body.external_id,
        occurred_at=event_body.occurred_at,
        local_day=local(rule_set, event_body.occurred_at).date(),
        actor=actor.label(),
        rule_version=rule_set.version,
        event=event_body.model_dump(mode="json"),
        explanation={
            "summary": both(
                f"{label_en}: {points_en(awarded.total)}"
                if awarded.total
                else f"{label_en}: no rule awarded points",
                f"{label_fr} : {points_fr(awarded.total)}"
                if awarded.total
                else f"{label_fr} : aucune règle n'attribue de points",
            ),
            "lines": [line_json(line) for line in awarded.lines],
        },
        request_hash=fingerprint,
        postings=[(account_ids[p.account], p.delta) for p in entry.postings],
        lines=[(line.rule_key, line.points, line.counts_for_status) for line in awarded.lines],
        new_lots=new_lots,
    )
    if row is None:
        return None  # the member changed, or the same earn was just recorded: read again
    return contract.EarnOutcome(
        entry=entry_view(row, locale),
        created=True,
        balance=balances.available + entry.delta(ledger.available(member)),
        pending=balances.pending + entry.delta(ledger.pending(member)),
    )


async def _replayed_earn(
    conn: AsyncConnection, existing: journal.EntryRow, fingerprint: str, locale: Locale
) -> contract.EarnOutcome:
    if existing.kind != "earn" or existing.request_hash != fingerprint:
        raise Problem(
            ProblemCode.IDEMPOTENCY_KEY_REUSED,
            "this external id was already used for a different event",
            entry_id=str(existing.id),
        )
    balances = await journal.balances(conn, await journal.survivor(conn, existing.member_id))
    assert balances is not None
    return contract.EarnOutcome(
        entry=entry_view(existing, locale),
        created=False,
        balance=balances.available,
        pending=balances.pending,
    )
