"""Use cases of the loyalty service: async functions, one unit of work each.

Every change to a member's points locks that member's accounts first, so that concurrent
requests for one member run one after the other (caps, first-of-kind conditions and balances
stay exact), while requests for different members never wait for each other. The programme's
own accounts are never locked: their balances are derived from postings.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, NotFound, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract, ledger, repository, rules, tiers
from services.loyalty.contract import Locale, ProblemCode

log = structlog.get_logger(__name__)

MAX_EVENT_AGE = timedelta(days=180)
CLOCK_SKEW = timedelta(minutes=5)
MAX_HISTORY_PAGE = 100
JOB_BATCH = 500
VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I

TRIGGER_LABELS = {
    "purchase": ("Purchase", "Achat"),
    "attendance": ("Attendance", "Présence"),
    "subscription": ("Subscription", "Abonnement"),
    "signup": ("Welcome", "Bienvenue"),
    "birthday": ("Birthday", "Anniversaire"),
    "referral_converted": ("Referral", "Parrainage"),
}


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _both(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


def _request_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ---- the rulebook ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Published:
    rule_set: rules.RuleSet
    published_at: datetime
    published_by: str
    changes: list[dict[str, Any]]


class RuleBook:
    """Published rule sets, cached: they are immutable, so only a new version invalidates."""

    def __init__(self) -> None:
        self._latest = -1
        self._versions: list[Published] = []

    async def versions(self, conn: AsyncConnection, latest: int | None = None) -> list[Published]:
        if latest is None:
            latest = await repository.latest_rule_set_version(conn)
        if latest != self._latest:
            rows = await repository.rule_set_rows(conn)
            self._versions = [
                Published(
                    rules.parse_rule_set(r.document), r.published_at, r.published_by, r.changes
                )
                for r in rows
            ]
            self._latest = latest
        return self._versions

    @property
    def latest(self) -> int:
        return self._latest

    async def in_force(
        self,
        conn: AsyncConnection,
        at: datetime,
        *,
        latest: int | None = None,
        cached: bool = False,
    ) -> rules.RuleSet | None:
        """The rule set in force at ``at``; with ``cached``, from what this process last read
        (the caller then checks ``latest`` against the database, as the earn path does)."""
        if cached and self._latest >= 0:
            return rules.in_force([p.rule_set for p in self._versions], at)
        return rules.in_force([p.rule_set for p in await self.versions(conn, latest)], at)

    async def version(self, conn: AsyncConnection, version: int) -> rules.RuleSet:
        for published in await self.versions(conn):
            if published.rule_set.version == version:
                return published.rule_set
        raise LookupError(f"rule set version {version} is not published")


# ---- shared steps ----------------------------------------------------------------------------


async def _prepare_member(
    conn: AsyncConnection, member_id: UUID
) -> tuple[UUID, repository.Balances]:
    """Resolve merges, create the member's accounts on first sight, and lock them."""
    member = await repository.survivor(conn, member_id)
    await repository.ensure_member(conn, member)
    locked = await repository.lock_accounts(conn, [member])
    return member, locked[member]


def _account_ids(
    member_balances: dict[UUID, repository.Balances], programme: dict[ledger.AccountKind, int]
) -> dict[ledger.Account, int]:
    ids: dict[ledger.Account, int] = {ledger.Account(kind): i for kind, i in programme.items()}
    for member, b in member_balances.items():
        ids[ledger.available(member)] = b.available_id
        ids[ledger.pending(member)] = b.pending_id
    return ids


_PROGRAMME_IDS: weakref.WeakKeyDictionary[AsyncEngine, dict[ledger.AccountKind, int]] = (
    weakref.WeakKeyDictionary()
)


async def _programme_ids(conn: AsyncConnection) -> dict[ledger.AccountKind, int]:
    """The programme's account ids, read once per engine (they never change)."""
    engine = conn.engine
    if engine not in _PROGRAMME_IDS:
        _PROGRAMME_IDS[engine] = await repository.programme_account_ids(conn)
    return _PROGRAMME_IDS[engine]


async def _ids_for(
    conn: AsyncConnection, locked: dict[UUID, repository.Balances]
) -> dict[ledger.Account, int]:
    return _account_ids(locked, await _programme_ids(conn))


def _local(rule_set: rules.RuleSet, at: datetime) -> datetime:
    return at.astimezone(ZoneInfo(rule_set.timezone))


def _month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


async def _status_entries(
    conn: AsyncConnection, member: UUID, rule_set: rules.RuleSet, at: datetime
) -> list[tiers.StatusEntry]:
    horizon = timedelta(days=rule_set.tier_window_days + rule_set.tier_grace_days)
    return [
        tiers.StatusEntry(when, points)
        for when, points in await repository.status_lines(conn, member, at - horizon, at)
    ]


def _engine_event(body: contract.EarnEvent, rule_set: rules.RuleSet) -> rules.Event:
    return rules.Event(
        trigger=rules.Trigger(body.trigger.value),
        occurred_at=body.occurred_at,
        amount=body.amount,
        currency=body.currency or rule_set.currency,
        category=body.category,
        venue_id=str(body.venue_id) if body.venue_id else None,
    )


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


def _line_json(line: rules.AwardLine) -> dict[str, Any]:
    return {
        "rule_key": line.rule_key,
        "rule_version": line.rule_version,
        "points": line.points,
        "reason": _both(line.reason_en, line.reason_fr),
        "pending_until": line.pending_until.isoformat() if line.pending_until else None,
        "counts_for_status": line.counts_for_status,
    }


def _line_from_json(raw: dict[str, Any]) -> rules.AwardLine:
    return rules.AwardLine(
        rule_key=raw["rule_key"],
        rule_version=raw["rule_version"],
        points=raw["points"],
        reason_en=raw["reason"]["en"],
        reason_fr=raw["reason"]["fr"],
        pending_until=datetime.fromisoformat(raw["pending_until"])
        if raw["pending_until"]
        else None,
        counts_for_status=raw["counts_for_status"],
    )


def _award_view(
    award: rules.Award, rule_set: rules.RuleSet | None, locale: Locale, occurred_at: datetime
) -> contract.Award:
    return contract.Award(
        total=award.total,
        lines=[
            contract.AwardLine(
                rule_key=line.rule_key,
                rule_version=line.rule_version,
                points=line.points,
                reason=line.reason_fr if locale is Locale.FR else line.reason_en,
                pending_until=line.pending_until,
                counts_for_status=line.counts_for_status,
            )
            for line in award.lines
        ],
        rule_version=rule_set.version if rule_set else None,
        pending=sum(
            line.points
            for line in award.lines
            if line.pending_until is not None and line.pending_until > occurred_at
        ),
    )


def entry_view(row: repository.EntryRow, locale: Locale = Locale.EN) -> contract.Entry:
    lang = locale.value
    explanation = row.explanation
    return contract.Entry(
        id=row.id,
        kind=contract.EntryKind(row.kind),
        points=row.points,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        source=row.source,
        external_id=row.external_id,
        actor=row.actor,
        rule_version=row.rule_version,
        reverses_entry_id=row.reverses_entry_id,
        summary=explanation["summary"][lang],
        lines=[
            contract.AwardLine(
                rule_key=line["rule_key"],
                rule_version=line["rule_version"],
                points=line["points"],
                reason=line["reason"][lang],
                pending_until=line["pending_until"],
                counts_for_status=line["counts_for_status"],
            )
            for line in explanation.get("lines", [])
        ],
    )


def _source(actor: Actor, venue_id: UUID | None) -> str:
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


# ---- earning ---------------------------------------------------------------------------------


OPTIMISTIC_ATTEMPTS = 2
EARN_ATTEMPTS = Counter(
    "loyalty_earn_attempts_total",
    "Earn writes tried, by outcome: written, changed (the member changed meanwhile: read again), "
    "locked (a busy member served under their row lock)",
    ["outcome"],
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
    now = _now(now)
    if body.event.occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at must carry a time zone offset")
    source = _source(actor, body.event.venue_id)
    request_hash = _request_hash(body.model_dump(mode="json"))
    async with (turns or _NO_TURNS).turn(body.member_id), engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        for _ in range(OPTIMISTIC_ATTEMPTS):
            outcome = await _attempt_earn(
                conn, book, actor, body, source, request_hash, locale, now, locked=False
            )
            if outcome is not None:
                EARN_ATTEMPTS.labels("written").inc()
                return outcome
            EARN_ATTEMPTS.labels("changed").inc()
    EARN_ATTEMPTS.labels("locked").inc()
    async with UnitOfWork(engine) as uow:
        outcome = await _attempt_earn(
            uow.conn, book, actor, body, source, request_hash, locale, now, locked=True
        )
        await uow.commit()
    assert outcome is not None  # under the lock the member cannot change
    return outcome


class Turns:
    """One earn at a time per member within this replica: a busy member's earns queue here,
    cheaply, instead of racing each other to the database only to be sent back. (Replicas still
    race; the guarded write keeps that correct.)"""

    def __init__(self) -> None:
        self._locks: dict[UUID, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, member: UUID) -> AsyncIterator[None]:
        lock, users = self._locks.get(member, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[member] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[member]
            if users == 1:
                del self._locks[member]
            else:
                self._locks[member] = (lock, users - 1)


class _NoTurns(Turns):
    @contextlib.asynccontextmanager
    async def turn(self, member: UUID) -> AsyncIterator[None]:
        yield


_NO_TURNS = _NoTurns()


async def _attempt_earn(
    conn: AsyncConnection,
    book: RuleBook,
    actor: Actor,
    body: contract.RecordEarn,
    source: str,
    request_hash: str,
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
            await repository.lock_member_row(conn, member)
        context = await _earn_context(conn, member, source, body.external_id, rule_set, event_body)
        if context is None or context.balances is None:
            await repository.ensure_member(conn, member)
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
        existing = await repository.entry_by_key(conn, source, body.external_id)
        assert existing is not None
        return await _replayed_earn(conn, existing, request_hash, locale)
    _check_time(event_body.occurred_at, now)  # a replay of a recorded earn is always answered
    if rule_set is None:
        raise Problem(
            ProblemCode.NO_RULES_IN_FORCE, "no rule set is in force at that time", status=409
        )
    award = _award(rule_set, event_body, context)
    new_lots = ledger.plan_lots(
        [(line.points, line.pending_until) for line in award.lines],
        earned_at=event_body.occurred_at,
        now=now,
        expiry_months=rule_set.expiry_months,
    )
    entry = ledger.earn_entry(member, new_lots)
    balances = context.balances
    account_ids = await _ids_for(conn, {member: balances})
    label_en, label_fr = TRIGGER_LABELS[event_body.trigger.value]
    row = await repository.write_earn(
        conn,
        member=member,
        version=context.version,
        source=source,
        external_id=body.external_id,
        occurred_at=event_body.occurred_at,
        local_day=_local(rule_set, event_body.occurred_at).date(),
        actor=actor.label(),
        rule_version=rule_set.version,
        event=event_body.model_dump(mode="json"),
        explanation={
            "summary": _both(
                f"{label_en}: {_points_en(award.total)}"
                if award.total
                else f"{label_en}: no rule awarded points",
                f"{label_fr} : {_points_fr(award.total)}"
                if award.total
                else f"{label_fr} : aucune règle n'attribue de points",
            ),
            "lines": [_line_json(line) for line in award.lines],
        },
        request_hash=request_hash,
        postings=[(account_ids[p.account], p.delta) for p in entry.postings],
        lines=[(line.rule_key, line.points, line.counts_for_status) for line in award.lines],
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


def _award(
    rule_set: rules.RuleSet, body: contract.EarnEvent, context: repository.EarnContext | None
) -> rules.Award:
    """The one path from an event and what is known of the member to an award: the real earn
    and its preview both take it, so the preview can never disagree with the award."""
    event = _engine_event(body, rule_set)
    if context is None:  # a preview for no one in particular
        return rules.evaluate(rule_set, event, rules.MemberContext())
    held = None
    if _needs(rule_set, event).status:
        found = tiers.current_tier(
            rule_set, [tiers.StatusEntry(at, p) for at, p in context.status], event.occurred_at
        )
        held = found.key if found else None
    member = rules.MemberContext(
        tier=held,
        prior_counts=context.prior_counts,
        awarded_today=context.awarded_today,
        awarded_this_month=context.awarded_this_month,
    )
    return rules.evaluate(rule_set, event, member)


@dataclass(frozen=True, slots=True)
class _Needs:
    status: bool
    capped: tuple[str, ...]
    counts: bool


def _needs(rule_set: rules.RuleSet | None, event: rules.Event | contract.EarnEvent) -> _Needs:
    """What the rules for this event's trigger need to know about the member."""
    if rule_set is None:
        return _Needs(False, (), False)
    trigger = event.trigger.value
    relevant = [r for r in rule_set.rules if r.trigger.value == trigger]
    return _Needs(
        status=bool(rule_set.tiers) and any(r.conditions.min_tier for r in relevant),
        capped=tuple(r.key for r in relevant if r.caps.per_day or r.caps.per_month),
        counts=any(r.conditions.first_of_kind for r in relevant),
    )


async def _earn_context(
    conn: AsyncConnection,
    member: UUID,
    source: str,
    external_id: str,
    rule_set: rules.RuleSet | None,
    event: contract.EarnEvent,
) -> repository.EarnContext | None:
    needs = _needs(rule_set, event)
    at = event.occurred_at
    day = _local(rule_set, at).date() if rule_set else at.date()
    window = None
    if needs.status and rule_set is not None:
        horizon = timedelta(days=rule_set.tier_window_days + rule_set.tier_grace_days)
        window = (at - horizon, at)
    return await repository.earn_context(
        conn,
        member,
        source=source,
        external_id=external_id,
        status_window=window,
        capped=needs.capped,
        day=day,
        month=_month_bounds(day),
        counts_until=at if needs.counts else None,
    )


async def _replayed_earn(
    conn: AsyncConnection, existing: repository.EntryRow, request_hash: str, locale: Locale
) -> contract.EarnOutcome:
    if existing.kind != "earn" or existing.request_hash != request_hash:
        raise Problem(
            ProblemCode.IDEMPOTENCY_KEY_REUSED,
            "this external id was already used for a different event",
            entry_id=str(existing.id),
        )
    balances = await repository.balances(conn, await repository.survivor(conn, existing.member_id))
    assert balances is not None
    return contract.EarnOutcome(
        entry=entry_view(existing, locale),
        created=False,
        balance=balances.available,
        pending=balances.pending,
    )


async def simulate_earn(
    engine: AsyncEngine, book: RuleBook, body: contract.SimulateEarn
) -> contract.Award:
    """What an event would earn, through the very code that awards it (nothing is written)."""
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        rule_set = await book.in_force(conn, body.event.occurred_at)
        if rule_set is None:
            raise Problem(
                ProblemCode.NO_RULES_IN_FORCE, "no rule set is in force at that time", status=409
            )
        context = None
        if body.member_id is not None:
            member = await repository.survivor(conn, body.member_id)
            context = await _earn_context(conn, member, "", "", rule_set, body.event)
    award = _award(rule_set, body.event, context)
    return _award_view(award, rule_set, body.locale, body.event.occurred_at)


def _points_en(points: int) -> str:
    return f"{points:+d} point{'s' if abs(points) != 1 else ''}"


def _points_fr(points: int) -> str:
    return f"{points:+d} point{'s' if abs(points) > 1 else ''}"


# ---- reversal --------------------------------------------------------------------------------


async def reverse_earn(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.ReverseEarn,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.ReverseOutcome:
    """Take back an earn, in full or in part, at most once, by the rules that awarded it."""
    now = _now(now)
    source = _source(actor, body.venue_id)
    request_hash = _request_hash(body.model_dump(mode="json"))
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        original = await repository.entry_by_key(conn, source, body.external_id)
        if original is None or original.kind != "earn":
            raise NotFound(ProblemCode.EARN_NOT_FOUND, "no earn with that external id")
        member, prepared = await _prepare_member(conn, original.member_id)
        earlier = await repository.reversal_of(conn, original.id)
        if earlier is not None:
            if earlier.request_hash != request_hash:
                raise Problem(
                    ProblemCode.ALREADY_REVERSED,
                    "this earn was already reversed",
                    reversed_at=earlier.recorded_at.isoformat(),
                    points=-earlier.points,
                    by=earlier.actor,
                )
            balances = await repository.balances(conn, member)
            assert balances is not None
            return contract.ReverseOutcome(
                entry=entry_view(earlier, locale),
                created=False,
                points_reversed=-earlier.points,
                shortfall=int(earlier.explanation.get("shortfall", 0)),
                balance=balances.available,
            )
        assert original.rule_version is not None and original.event is not None
        rule_set = await book.version(conn, original.rule_version)
        event_body = contract.EarnEvent.model_validate(original.event)
        event = _engine_event(event_body, rule_set)
        award = rules.Award(
            total=sum(line["points"] for line in original.explanation["lines"]),
            lines=tuple(_line_from_json(line) for line in original.explanation["lines"]),
        )
        if body.refunded_amount is not None and (
            event.amount is None or body.refunded_amount > event.amount
        ):
            raise InvalidInput("the refunded amount exceeds the original amount")
        back = rules.reverse(rule_set, event, award, body.refunded_amount)
        account_ids = await _ids_for(conn, {member: prepared})
        await _settle(conn, member, account_ids, actor, now)
        takes, shortfall = ledger.claw_back(
            await repository.lots_of_entry(conn, original.id),
            await repository.open_lots(conn, member),
            back.total,
            now,
        )
        entry = (
            ledger.reverse_entry(member, takes)
            if takes
            else ledger.Entry(ledger.EntryKind.REVERSE, ())
        )
        taken = sum(t.points for t in takes)
        original_lines = await repository.lines_of(conn, original.id)
        status_by_rule = {line.rule_key: line for line in original_lines}
        note = (
            _both(
                f"{shortfall} points had already been spent and were not taken back.",
                f"{shortfall} points avaient déjà été dépensés et n'ont pas été repris.",
            )
            if shortfall
            else None
        )
        row = await repository.write_entry(
            conn,
            entry,
            account_ids=account_ids,
            member_id=member,
            source=source,
            external_id=f"reversal:{body.external_id}",
            occurred_at=now,
            actor=actor.label(),
            rule_version=original.rule_version,
            reverses_entry_id=original.id,
            request_hash=request_hash,
            explanation={
                "summary": _both(
                    f"Reversal ({body.reason}): {_points_en(-taken)}",
                    f"Annulation ({body.reason}) : {_points_fr(-taken)}",
                ),
                "lines": [{**_line_json(line), "points": -line.points} for line in back.lines],
                "note": note,
                "shortfall": shortfall,
                "refunded_amount": str(body.refunded_amount) if body.refunded_amount else None,
            },
            lines=[
                repository.LineRow(
                    line.rule_key,
                    line.rule_version,
                    -line.points,
                    status_by_rule[line.rule_key].occurred_at,
                    status_by_rule[line.rule_key].local_day,
                    status_by_rule[line.rule_key].counts_for_status,
                )
                for line in back.lines
                if line.points and line.rule_key in status_by_rule
            ],
        )
        await repository.draw(conn, takes)
        await repository.bump_version(conn, member)  # its award lines change what it may earn
        balances = await repository.balances(conn, member)
        await uow.commit()
    assert balances is not None
    return contract.ReverseOutcome(
        entry=entry_view(row, locale),
        created=True,
        points_reversed=taken,
        shortfall=shortfall,
        balance=balances.available,
    )


# ---- pending release and expiry --------------------------------------------------------------


async def _settle(
    conn: AsyncConnection,
    member: UUID,
    ids: dict[ledger.Account, int],
    actor: Actor,
    now: datetime,
) -> tuple[int, int, int, int]:
    """Release the member's due pending lots, then expire their due lots (oldest first).

    The caller holds the member's account lock. Returns (lots released, points released, lots
    expired, points expired)."""
    lots = await repository.open_lots(conn, member)
    due_release = ledger.due_releases(lots, now)
    due_expiry = ledger.due_expiries(lots, now)
    if not due_release and not due_expiry:
        return 0, 0, 0, 0
    released_points = 0
    for lot in due_release:
        await repository.write_entry(
            conn,
            ledger.release_entry(member, lot.remaining),
            account_ids=ids,
            member_id=member,
            source="system",
            external_id=f"release:{lot.id}",
            occurred_at=lot.available_at,
            actor=actor.label(),
            explanation={
                "summary": _both(
                    f"{lot.remaining} pending points became available",
                    f"{lot.remaining} points en attente sont devenus disponibles",
                ),
                "lines": [],
            },
        )
        await repository.mark_released(conn, lot.id)
        released_points += lot.remaining
    expired_points = 0
    for lot in ledger.due_expiries(await repository.open_lots(conn, member), now):
        take = ledger.Take(lot.id, lot.remaining, lot.released)
        earned = lot.earned_at.date().isoformat()
        await repository.write_entry(
            conn,
            ledger.expire_entry(member, [take]),
            account_ids=ids,
            member_id=member,
            source="system",
            external_id=f"expire:{lot.id}",
            occurred_at=lot.expires_at or now,
            actor=actor.label(),
            explanation={
                "summary": _both(
                    f"{lot.remaining} points earned on {earned} expired",
                    f"{lot.remaining} points gagnés le {earned} ont expiré",
                ),
                "lines": [],
            },
        )
        await repository.draw(conn, [take])
        expired_points += lot.remaining
    return len(due_release), released_points, len(due_expiry), expired_points


async def run_point_jobs(engine: AsyncEngine, *, now: datetime | None = None) -> contract.JobReport:
    """Release pending points that have come due and expire points past their date, member by
    member (one short transaction each, so the job never holds many locks)."""
    from services.common.actor import SYSTEM

    now = _now(now)
    totals = [0, 0, 0, 0]
    members_done = 0
    while True:
        async with UnitOfWork(engine) as uow:
            due = await repository.members_with_due_lots(uow.conn, now, JOB_BATCH)
        if not due:
            break
        for member_id in due:
            async with UnitOfWork(engine) as uow:
                member, prepared = await _prepare_member(uow.conn, member_id)
                ids = await _ids_for(uow.conn, {member: prepared})
                counts = await _settle(uow.conn, member, ids, SYSTEM, now)
                await uow.commit()
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            members_done += 1
        if len(due) < JOB_BATCH:
            break
    report = contract.JobReport(
        released_lots=totals[0],
        released_points=totals[1],
        expired_lots=totals[2],
        expired_points=totals[3],
        members=members_done,
    )
    if members_done:
        log.info("points settled", **report.model_dump())
    return report


# ---- rewards ---------------------------------------------------------------------------------


def _reward_view(
    row: repository.RewardRow,
    locale: Locale,
    *,
    eligible: bool | None = None,
    reason: str | None = None,
) -> contract.Reward:
    fr = locale is Locale.FR
    return contract.Reward(
        id=row.id,
        key=row.key,
        title=row.title_fr if fr else row.title_en,
        description=row.description_fr if fr else row.description_en,
        cost=row.cost,
        stock=row.stock,
        min_tier=row.min_tier,
        active=row.active,
        eligible=eligible,
        ineligible_reason=reason,
    )


def _tier_rank(rule_set: rules.RuleSet | None, key: str | None) -> int:
    if rule_set is None or key is None:
        return -1
    for n, tier in enumerate(rule_set.tiers):
        if tier.key == key:
            return n
    return len(rule_set.tiers)  # an unknown tier is out of reach


def _eligibility(
    row: repository.RewardRow, rule_set: rules.RuleSet | None, tier: str | None, locale: Locale
) -> tuple[bool, str | None]:
    if not row.active:
        return False, "no longer offered" if locale is Locale.EN else "n'est plus proposée"
    if row.stock is not None and row.stock <= 0:
        return False, "out of stock" if locale is Locale.EN else "épuisée"
    if row.min_tier and _tier_rank(rule_set, tier) < _tier_rank(rule_set, row.min_tier):
        return False, (
            f"reserved for the {row.min_tier} tier and above"
            if locale is Locale.EN
            else f"réservée au niveau {row.min_tier} et au-delà"
        )
    return True, None


async def _current_tier(
    conn: AsyncConnection, book: RuleBook, member: UUID, now: datetime
) -> tuple[rules.RuleSet | None, str | None]:
    rule_set = await book.in_force(conn, now)
    if rule_set is None or not rule_set.tiers:
        return rule_set, None
    held = tiers.current_tier(rule_set, await _status_entries(conn, member, rule_set, now), now)
    return rule_set, held.key if held else None


async def list_rewards(
    engine: AsyncEngine,
    book: RuleBook,
    *,
    member_id: UUID | None,
    locale: Locale,
    now: datetime | None = None,
) -> list[contract.Reward]:
    now = _now(now)
    async with UnitOfWork(engine) as uow:
        rows = await repository.list_rewards(uow.conn)
        if member_id is None:
            return [_reward_view(r, locale) for r in rows]
        member = await repository.survivor(uow.conn, member_id)
        rule_set, tier = await _current_tier(uow.conn, book, member, now)
    views = []
    for r in rows:
        eligible, reason = _eligibility(r, rule_set, tier, locale)
        views.append(_reward_view(r, locale, eligible=eligible, reason=reason))
    return views


async def create_reward(
    engine: AsyncEngine, actor: Actor, body: contract.CreateReward
) -> tuple[contract.Reward, bool]:
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only admins manage the rewards catalogue")
    async with UnitOfWork(engine) as uow:
        row, created = await repository.upsert_reward(uow.conn, body)
        await uow.commit()
    return _reward_view(row, Locale.EN), created


def voucher_code() -> str:
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


async def redeem_reward(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.RedeemReward,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Redemption:
    """Spend points on a reward: never below zero, never beyond stock, once per key."""
    now = _now(now)
    if actor.kind is ActorKind.MEMBER and actor.id != str(body.member_id):
        raise Forbidden(ProblemCode.FORBIDDEN, "members redeem for themselves only")
    if actor.kind not in (ActorKind.MEMBER, ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only members redeem rewards")
    source = "member"
    request_hash = _request_hash({"reward_id": str(body.reward_id)})
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member, prepared = await _prepare_member(conn, body.member_id)
        external_id = f"{member}:{body.idempotency_key}"
        existing = await repository.entry_by_key(conn, source, external_id)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise Problem(
                    ProblemCode.IDEMPOTENCY_KEY_REUSED,
                    "this idempotency key was already used for another reward",
                )
            return await _replayed_redemption(conn, existing, member, locale)
        reward = await repository.reward(conn, body.reward_id)
        if reward is None or not reward.active:
            raise NotFound(ProblemCode.REWARD_NOT_FOUND, "no such reward")
        rule_set, tier = await _current_tier(conn, book, member, now)
        eligible, reason = _eligibility(reward, rule_set, tier, locale)
        if not eligible and reward.stock is not None and reward.stock <= 0:
            raise Problem(ProblemCode.OUT_OF_STOCK, "this reward is out of stock")
        if not eligible:
            raise Problem(ProblemCode.NOT_ELIGIBLE, f"this reward is {reason}")
        account_ids = await _ids_for(conn, {member: prepared})
        await _settle(conn, member, account_ids, actor, now)
        try:
            takes = ledger.spend(await repository.open_lots(conn, member), reward.cost, now)
        except ledger.NotEnoughPoints as short:
            raise Problem(
                ProblemCode.NOT_ENOUGH_POINTS,
                f"this reward costs {short.needed} points; {short.available} are available",
                needed=short.needed,
                available=short.available,
            ) from None
        if reward.stock is not None and not await repository.take_stock(conn, reward.id):
            raise Problem(ProblemCode.OUT_OF_STOCK, "this reward is out of stock")
        row = await repository.write_entry(
            conn,
            ledger.redeem_entry(member, takes),
            account_ids=account_ids,
            member_id=member,
            source=source,
            external_id=external_id,
            occurred_at=now,
            actor=actor.label(),
            request_hash=request_hash,
            explanation={
                "summary": _both(
                    f"Redeemed {reward.title_en}: {_points_en(-reward.cost)}",
                    f"Échange contre {reward.title_fr} : {_points_fr(-reward.cost)}",
                ),
                "lines": [],
                "reward_id": str(reward.id),
            },
        )
        await repository.draw(conn, takes)
        redemption = await repository.insert_redemption(
            conn,
            entry_id=row.id,
            member_id=member,
            reward_id=reward.id,
            voucher_code=voucher_code(),
            cost=reward.cost,
        )
        balances = await repository.balances(conn, member)
        reward_after = await repository.reward(conn, reward.id)
        await uow.commit()
    assert balances is not None and reward_after is not None
    return _redemption_view(redemption, reward_after, row, balances, locale, created=True)


def _redemption_view(
    redemption: repository.RedemptionRow,
    reward: repository.RewardRow,
    entry: repository.EntryRow,
    balances: repository.Balances,
    locale: Locale,
    *,
    created: bool,
) -> contract.Redemption:
    return contract.Redemption(
        id=redemption.id,
        reward=_reward_view(reward, locale),
        voucher_code=redemption.voucher_code,
        cost=redemption.cost,
        created_at=redemption.created_at,
        entry=entry_view(entry, locale),
        created=created,
        balance=balances.available,
    )


async def _replayed_redemption(
    conn: AsyncConnection, existing: repository.EntryRow, member: UUID, locale: Locale
) -> contract.Redemption:
    redemption = await repository.redemption_of_entry(conn, existing.id)
    assert redemption is not None
    reward = await repository.reward(conn, redemption.reward_id)
    balances = await repository.balances(conn, member)
    assert reward is not None and balances is not None
    return _redemption_view(redemption, reward, existing, balances, locale, created=False)


# ---- merges (identity events) ----------------------------------------------------------------


async def merge_accounts(
    conn: AsyncConnection, *, absorbed: UUID, survivor: UUID, merge_id: str, occurred_at: datetime
) -> bool:
    """Move the absorbed member's points and lots to the survivor, exactly once per merge."""
    from services.common.actor import SYSTEM

    if await repository.entry_by_key(conn, "identity", f"merge:{merge_id}") is not None:
        return False
    final = await repository.survivor(conn, survivor)
    if final == absorbed or await repository.is_merged(conn, absorbed):
        return False
    for member in sorted({absorbed, final}):
        await repository.ensure_member(conn, member)
    locked = await repository.lock_accounts(conn, [absorbed, final])
    moving = locked[absorbed]
    entry = (
        ledger.merge_entry(
            absorbed, final, available_points=moving.available, pending_points=moving.pending
        )
        if moving.available or moving.pending
        else ledger.Entry(ledger.EntryKind.MERGE, ())
    )
    points = moving.available + moving.pending
    await repository.write_entry(
        conn,
        entry,
        account_ids=await _ids_for(conn, locked),
        member_id=final,
        source="identity",
        external_id=f"merge:{merge_id}",
        occurred_at=occurred_at,
        actor=SYSTEM.label(),
        explanation={
            "summary": _both(
                f"Duplicate account merged into this one: {_points_en(points)}",
                f"Compte en double fusionné avec celui-ci : {_points_fr(points)}",
            ),
            "lines": [],
            "absorbed_id": str(absorbed),
        },
    )
    await repository.record_merge(conn, absorbed=absorbed, survivor=final)
    await repository.bump_version(conn, absorbed, final)
    return True


async def receive_identity_events(
    engine: AsyncEngine, batch: contract.EventBatch
) -> contract.EventReceipt:
    """The idempotent consumer of identity's outbox: an event delivered twice is recorded once,
    and a merge moves the accounts in the same transaction as its receipt."""
    received = duplicates = 0
    async with UnitOfWork(engine) as uow:
        for event in batch.events:
            if not await repository.record_event(uow.conn, event):
                duplicates += 1
                continue
            received += 1
            if event.type == "members.merged":
                await merge_accounts(
                    uow.conn,
                    absorbed=UUID(event.payload["absorbed_id"]),
                    survivor=UUID(event.payload["survivor_id"]),
                    merge_id=str(event.payload.get("merge_id") or event.event_id),
                    occurred_at=event.occurred_at,
                )
        await uow.commit()
    return contract.EventReceipt(received=received, duplicates=duplicates)


# ---- reading an account ----------------------------------------------------------------------


def _tier_view(tier: rules.TierDef, locale: Locale) -> contract.Tier:
    fr = locale is Locale.FR
    return contract.Tier(
        key=tier.key,
        name=tier.name_fr if fr else tier.name_en,
        threshold=tier.threshold,
        benefits=list(tier.benefits_fr if fr else tier.benefits_en),
        description=rules.describe_tier(tier, rules.Locale(locale.value)),
    )


def _progress_view(progress: tiers.TierProgress | None, locale: Locale) -> contract.TierProgress:
    if progress is None:
        return contract.TierProgress(
            current=None,
            next=None,
            status_points=0,
            points_to_next=None,
            points_to_keep=0,
            keep_by=None,
            qualifying_until=None,
            counts_toward="",
            policy="",
        )
    fr = locale is Locale.FR
    return contract.TierProgress(
        current=_tier_view(progress.current, locale) if progress.current else None,
        next=_tier_view(progress.next, locale) if progress.next else None,
        status_points=progress.status_points,
        points_to_next=progress.points_to_next,
        points_to_keep=progress.points_to_keep,
        keep_by=progress.keep_by,
        qualifying_until=progress.qualifying_until,
        counts_toward=progress.counts_toward_fr if fr else progress.counts_toward_en,
        policy=progress.policy_fr if fr else progress.policy_en,
    )


def encode_cursor(seq: int) -> str:
    return f"e{seq}"


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.startswith("e") or not cursor[1:].isdigit():
        raise InvalidInput("the cursor is not valid")
    return int(cursor[1:])


async def account(
    engine: AsyncEngine,
    book: RuleBook,
    member_id: UUID,
    *,
    first: int = 10,
    after: str | None = None,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Account:
    now = _now(now)
    if not 0 <= first <= MAX_HISTORY_PAGE:
        raise InvalidInput(f"first must be between 0 and {MAX_HISTORY_PAGE}")
    before_seq = decode_cursor(after)
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        rule_set = await book.in_force(conn, now, cached=True)
        while True:
            horizon = timedelta(
                days=(rule_set.tier_window_days + rule_set.tier_grace_days) if rule_set else 0
            )
            snapshot = await repository.account_snapshot(
                conn,
                member_id,
                since=now - horizon,
                until=now,
                limit=first + 1,
                before_seq=before_seq,
            )
            if snapshot.latest_rule_set == book.latest:
                break
            rule_set = await book.in_force(conn, now, latest=snapshot.latest_rule_set)
    progress = None
    if rule_set is not None and rule_set.tiers:
        entries = [tiers.StatusEntry(at, points) for at, points in snapshot.status]
        progress = tiers.tier_progress(rule_set, entries, now)
    rows = snapshot.history
    page = rows[:first]
    expiry = snapshot.next_expiry
    return contract.Account(
        member_id=snapshot.member,
        balance=snapshot.available,
        pending=snapshot.pending,
        pending_releases=[
            contract.PendingRelease(points=p, available_at=t) for t, p in snapshot.pending_releases
        ],
        next_expiry=contract.PendingRelease(points=expiry[1], available_at=expiry[0])
        if expiry
        else None,
        tier=_progress_view(progress, locale),
        history=contract.HistoryPage(
            entries=[entry_view(r, locale) for r in page],
            end_cursor=encode_cursor(page[-1].seq) if page else None,
            has_next_page=len(rows) > first,
        ),
    )


async def liability(engine: AsyncEngine, *, now: datetime | None = None) -> contract.Liability:
    async with UnitOfWork(engine) as uow:
        moves = await repository.programme_movements(uow.conn)
    issued = -moves.get(("issued", "earn"), 0)
    reversed_ = moves.get(("issued", "reverse"), 0)
    redeemed = moves.get(("redeemed", "redeem"), 0)
    expired = moves.get(("expired", "expire"), 0)
    outstanding = ledger.liability(
        {
            ledger.AccountKind(kind): total
            for kind in ("issued", "redeemed", "expired")
            for total in [sum(v for (a, _), v in moves.items() if a == kind)]
        }
    )
    return contract.Liability(
        outstanding=outstanding,
        issued=issued,
        redeemed=redeemed,
        expired=expired,
        reversed=reversed_,
        as_of=_now(now),
    )


# ---- the rulebook ----------------------------------------------------------------------------


def _changes_json(changes: Sequence[rules.Change]) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.kind,
            "rule_key": c.rule_key,
            "lowers_earnings": c.lowers_earnings,
            "summary": _both(c.summary_en, c.summary_fr),
        }
        for c in changes
    ]


def _change_views(changes: list[dict[str, Any]], locale: Locale) -> list[contract.Change]:
    return [
        contract.Change(
            kind=c["kind"],
            rule_key=c["rule_key"],
            lowers_earnings=c["lowers_earnings"],
            summary=c["summary"][locale.value],
        )
        for c in changes
    ]


async def publish_rule_set(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.PublishRuleSet,
    *,
    now: datetime | None = None,
) -> contract.PublishedRuleSet:
    """Validate and publish a new version; a change that lowers earnings must be announced."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only admins publish rule sets")
    now = _now(now)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        await repository.lock_rule_sets(conn)
        if body.idempotency_key is not None:
            earlier = await repository.rule_set_by_key(conn, body.idempotency_key)
            if earlier is not None:
                return contract.PublishedRuleSet(
                    version=earlier.version,
                    effective_at=earlier.effective_at,
                    published_at=earlier.published_at,
                    changes=_change_views(earlier.changes, Locale.EN),
                    created=False,
                )
        versions = await book.versions(conn)
        previous = versions[-1].rule_set if versions else None
        document = {"version": (previous.version + 1) if previous else 1, **body.document}
        try:
            rule_set = rules.parse_rule_set(document)
            changes = rules.check_publication(previous, rule_set, now)
        except rules.RuleSetInvalid as invalid:
            raise InvalidInput(
                "the rule set is not valid",
                code=ProblemCode.RULE_SET_INVALID,
                errors=invalid.errors,
            ) from None
        except rules.RuleSetRejected as rejected:
            raise Problem(rejected.code, rejected.message) from None
        row = await repository.insert_rule_set(
            conn,
            version=rule_set.version,
            document=rule_set.model_dump(mode="json"),
            effective_at=rule_set.effective_at,
            published_by=actor.label(),
            changes=_changes_json(changes),
            idempotency_key=body.idempotency_key,
        )
        await uow.commit()
    return contract.PublishedRuleSet(
        version=row.version,
        effective_at=row.effective_at,
        published_at=row.published_at,
        changes=_change_views(row.changes, Locale.EN),
        created=True,
    )


async def rulebook(
    engine: AsyncEngine, book: RuleBook, *, locale: Locale, now: datetime | None = None
) -> contract.Rulebook:
    """The public rulebook: the rules in force, in plain words, and their history."""
    now = _now(now)
    async with UnitOfWork(engine) as uow:
        versions = await book.versions(uow.conn)
    current = rules.in_force([p.rule_set for p in versions], now)
    lang = rules.Locale(locale.value)
    fr = locale is Locale.FR
    return contract.Rulebook(
        locale=locale,
        version=current.version if current else None,
        effective_at=current.effective_at if current else None,
        currency=current.currency if current else "EUR",
        rules=[
            contract.RuleView(
                key=r.key,
                title=r.title_fr if fr else r.title_en,
                trigger=contract.Trigger(r.trigger.value),
                description=rules.describe(r, lang, current),  # type: ignore[arg-type]
                exclusive_group=r.exclusive_group,
                pending_days=r.pending_days,
                counts_for_status=r.counts_for_status,
            )
            for r in (current.rules if current else ())
        ],
        tiers=[_tier_view(t, locale) for t in (current.tiers if current else ())],
        policies=rules.describe_policy(current, lang) if current else [],
        changelog=[
            contract.RuleSetVersion(
                version=p.rule_set.version,
                effective_at=p.rule_set.effective_at,
                published_at=p.published_at,
                published_by=p.published_by,
                changes=_change_views(p.changes, locale),
                in_force=current is not None and p.rule_set.version == current.version,
                upcoming=p.rule_set.effective_at > now,
            )
            for p in reversed(versions)
        ],
    )


async def export_member(engine: AsyncEngine, member_id: UUID) -> contract.MemberExport:
    async with UnitOfWork(engine) as uow:
        member = await repository.survivor(uow.conn, member_id)
        ids = await repository.member_ids(uow.conn, member)
        events = await repository.events_about(uow.conn, ids)
        rows = await repository.history(uow.conn, member, first=1_000_000, before_seq=None)
        redemptions = await repository.redemptions_of(uow.conn, member)
    return contract.MemberExport(
        member_id=member,
        events_received=events,
        entries=[entry_view(r) for r in rows],
        redemptions=[
            {
                "id": str(r.id),
                "reward_id": str(r.reward_id),
                "voucher_code": r.voucher_code,
                "cost": r.cost,
                "created_at": r.created_at.isoformat(),
            }
            for r in redemptions
        ],
    )
