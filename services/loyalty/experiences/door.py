"""The door: redeem an accepted invitation by its QR token or its typed code, exactly once.

Only staff of the experience's venue redeem, within the door window; every scan is logged with
its outcome. Typed codes are throttled per staff account: each counts as an attempt when made
(in PostgreSQL, so the count holds across replicas and concurrent calls) and is taken back when
it finds an invitation of the staff's venue. The check-in locks the invitation's row, so of any
number of concurrent redemptions one checks in and the others learn when and by whom. Offline
scans come in batches, each scan settled once per device and scan id: a batch sent again
answers what it answered and changes nothing. A check-in then records an attendance earn
through the earning capability, idempotently (the invitation is its external id); one that
fails is recorded later by the job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract as loyalty
from services.loyalty import rules, tiers
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.earning.earn import earn_points
from services.loyalty.earning.turns import Turns
from services.loyalty.experiences import (
    contract,
    door_codes,
    door_words,
    figures,
    lifecycle,
    signing,
    views,
)
from services.loyalty.experiences.contract import ExperienceProblem
from services.loyalty.experiences.model import InvitationState
from services.loyalty.experiences.queries import door as queries
from services.loyalty.experiences.queries import invitations as invitation_queries
from services.loyalty.experiences.queries import members as member_queries
from services.loyalty.journal.entries import now_or
from services.loyalty.rulebook.book import RuleBook

Row = Any
Outcome = (
    contract.CheckedIn
    | contract.AlreadyCheckedIn
    | contract.WrongVenue
    | contract.OutsideWindow
    | contract.Cancelled
    | contract.NotAccepted
    | contract.NotFound
    | contract.Unreadable
    | contract.Throttled
)
OUTCOME: TypeAdapter[Outcome] = TypeAdapter(contract.RedeemOutcome)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scan:
    code: str | None
    token: str | None
    at: datetime
    device_id: str | None = None
    scan_id: str | None = None


@dataclass(frozen=True, slots=True)
class Door:
    """Who scans, where, and with what the door needs."""

    engine: AsyncEngine
    book: RuleBook
    actor: Actor
    venue_id: UUID
    locale: Locale
    turns: Turns | None


def door_of(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    venue_id: UUID | None,
    locale: Locale,
    turns: Turns | None = None,
) -> Door:
    """Staff only; the venue where they stand, inferred when their account has one."""
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        raise Forbidden(ProblemCode.FORBIDDEN, "only venue staff redeem invitations")
    if venue_id is None:
        if len(actor.venue_ids) != 1:
            raise InvalidInput(
                "say at which venue you stand", code=ExperienceProblem.VENUE_REQUIRED
            )
        venue_id = UUID(next(iter(actor.venue_ids)))
    if str(venue_id) not in actor.venue_ids:
        raise Forbidden(ProblemCode.WRONG_VENUE, "you do not work for that venue")
    return Door(engine, book, actor, venue_id, locale, turns)


def _one_of(code: str | None, token: str | None) -> None:
    if (code is None) == (token is None):
        raise InvalidInput("send either a code or a token")


async def redeem_invitation(
    door: Door, body: contract.RedeemInvitation, *, now: datetime | None = None
) -> contract.Redemption:
    _one_of(body.code, body.token)
    scan = Scan(body.code, body.token, now_or(now), device_id=body.device_id)
    outcome, _ = await settle(door, scan)
    return contract.Redemption(outcome=outcome)


async def redeem_batch(
    door: Door, body: contract.RedeemBatch, *, now: datetime | None = None
) -> contract.BatchOutcome:
    """Settle offline scans in order, each at the time it was made (never later than now)."""
    now = now_or(now)
    for offline in body.scans:
        _one_of(offline.code, offline.token)
    results = []
    for offline in body.scans:
        scan = Scan(
            offline.code,
            offline.token,
            min(offline.scanned_at, now),
            device_id=body.device_id,
            scan_id=offline.scan_id,
        )
        outcome, replayed = await settle(door, scan)
        results.append(
            contract.ScanResult(scan_id=offline.scan_id, outcome=outcome, replayed=replayed)
        )
    return contract.BatchOutcome(results=results)


async def _replayed(door: Door, scan: Scan) -> Outcome | None:
    if scan.scan_id is None or scan.device_id is None:
        return None
    async with door.engine.connect() as conn:
        row = await queries.settled_scan(conn, scan.device_id, scan.scan_id)
    return OUTCOME.validate_python(row.answer) if row is not None else None


async def settle(door: Door, scan: Scan) -> tuple[Outcome, bool]:
    """The outcome of one scan, and whether it had been settled before (nothing changed)."""
    before = await _replayed(door, scan)
    if before is not None:
        return before, True
    lang = views.lang(door.locale)
    window: datetime | None = None
    if scan.token is not None:
        found = await signing.verify(door.engine, scan.token.strip())
        if found is None:
            return await _log(
                door, scan, "token", None, _unreadable(door_words.TOKEN_PROBLEM, door)
            )
        code = found.code
    else:
        assert scan.code is not None
        async with door.engine.connect() as raw:
            conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
            attempts, window = await queries.count_attempt(
                conn, door.actor.id or "", at=scan.at, window=door_words.THROTTLE_WINDOW
            )
        if door_words.throttled(attempts):
            seconds = door_words.retry_after(window, scan.at)
            throttled = contract.Throttled(
                message=door_words.throttled_message(seconds, lang), retry_after_seconds=seconds
            )
            return await _log(door, scan, "code", None, throttled)
        read = door_codes.read(scan.code)
        if isinstance(read, door_codes.Unreadable):
            return await _log(door, scan, "code", None, _unreadable(read.problem.value, door))
        code = read
    outcome, replayed, experience = await _check_in(door, scan, code)
    if replayed:
        return outcome, True
    if window is not None and experience is not None and experience.venue_id == door.venue_id:
        async with door.engine.begin() as conn:
            await queries.uncount_attempt(conn, door.actor.id or "", window)
    if isinstance(outcome, contract.CheckedIn):
        points = await record_attendance(
            door.engine, door.book, door.actor, outcome.invitation_id, door.turns
        )
        outcome = outcome.model_copy(update={"points": points})
    return outcome, False


def _unreadable(problem: str, door: Door) -> contract.Unreadable:
    return contract.Unreadable(
        message=door_words.unreadable(problem, views.lang(door.locale)), problem=problem
    )


def _log_values(
    door: Door, scan: Scan, method: str, invitation_id: UUID | None, outcome: Outcome
) -> dict[str, Any]:
    return {
        "scanned_at": scan.at,
        "staff_id": door.actor.id,
        "venue_id": door.venue_id,
        "device_id": scan.device_id,
        "scan_id": scan.scan_id,
        "method": method,
        "invitation_id": invitation_id,
        "outcome": outcome.kind,
        "answer": outcome.model_dump(mode="json"),
    }


async def _log(
    door: Door, scan: Scan, method: str, invitation_id: UUID | None, outcome: Outcome
) -> tuple[Outcome, bool]:
    async with door.engine.begin() as conn:
        written = await queries.log_scan(
            conn, _log_values(door, scan, method, invitation_id, outcome)
        )
    if not written:
        again = await _replayed(door, scan)
        assert again is not None
        return again, True
    return outcome, False


async def _check_in(
    door: Door, scan: Scan, code: door_codes.DoorCode
) -> tuple[Outcome, bool, Row | None]:
    """Look the code up and check the member in, under the invitation's row lock; the outcome
    logged in the same transaction. ``(outcome, replayed, experience)``."""
    method = "token" if scan.token is not None else "code"
    async with UnitOfWork(door.engine) as uow:
        conn = uow.conn
        row = await invitation_queries.invitation_by_code(conn, code.value, lock=True)
        if row is None:
            outcome: Outcome = contract.NotFound(
                message=door_words.fixed("not_found", views.lang(door.locale))
            )
            experience = None
        else:
            experience = await invitation_queries.experience(conn, row.experience_id)
            assert experience is not None
            outcome = await _outcome(door, conn, scan, row, experience)
            if isinstance(outcome, contract.CheckedIn):
                moved = {
                    "state": InvitationState.CHECKED_IN.value,
                    "checked_in_at": outcome.checked_in_at,
                    "checked_in_by": door.actor.label(),
                    "guests_checked_in": outcome.guests_expected,
                }
                saved = await invitation_queries.save_invitation(conn, row.id, row.state, moved)
                assert saved  # the row is locked
        values = _log_values(door, scan, method, row.id if row else None, outcome)
        if not await queries.log_scan(conn, values):
            await uow.conn.rollback()
            again = await _replayed(door, scan)
            assert again is not None
            return again, True, experience
        await uow.commit()
    return outcome, False, experience


async def _outcome(
    door: Door, conn: AsyncConnection, scan: Scan, row: Row, experience: Row
) -> Outcome:
    lang = views.lang(door.locale)
    pure = views.model(experience)
    result = lifecycle.check_in(
        views.invitation(row),
        pure,
        at=scan.at,
        staff_id=door.actor.label(),
        staff_venue_id=str(door.venue_id),
    )
    rule_set = await views.rule_set_at(door.book, conn, scan.at)
    zone = rule_set.timezone
    if isinstance(result, lifecycle.Moved):
        member_ids = await member_queries.member_ids(conn, row.member_id)
        tier = await _tier(conn, rule_set, member_ids, scan.at)
        return contract.CheckedIn(
            message=door_words.checked_in(row.guests, lang),
            invitation_id=row.id,
            experience_id=experience.id,
            member_id=member_ids[0],
            tier=tier[0] if tier else None,
            tier_name=tier[1 if door.locale is Locale.EN else 2] if tier else None,
            guests_expected=row.guests,
            checked_in_at=scan.at,
            points=None,
        )
    code = result.code
    if code is lifecycle.Refusal.WRONG_VENUE:
        return contract.WrongVenue(message=door_words.fixed("wrong_venue", lang))
    if code is lifecycle.Refusal.ALREADY_CHECKED_IN:
        assert result.checked_in_at is not None and result.checked_in_by is not None
        return contract.AlreadyCheckedIn(
            message=door_words.already_checked_in(
                door_words.clock(result.checked_in_at, zone), row.guests, lang
            ),
            invitation_id=row.id,
            member_id=row.member_id,
            checked_in_at=result.checked_in_at,
            checked_in_by=result.checked_in_by,
            guests_expected=row.guests,
        )
    if code is lifecycle.Refusal.CANCELLED:
        return contract.Cancelled(message=door_words.fixed("cancelled", lang), invitation_id=row.id)
    if code is lifecycle.Refusal.OUTSIDE_DOOR_WINDOW:
        return contract.OutsideWindow(
            message=door_words.outside_window(
                door_words.clock(pure.door_opens_at, zone),
                door_words.clock(pure.door_closes_at, zone),
                lang,
            ),
            door_opens_at=pure.door_opens_at,
            door_closes_at=pure.door_closes_at,
        )
    state = figures.standing(InvitationState(row.state), pure, scan.at)
    return contract.NotAccepted(
        message=door_words.not_accepted(state, lang), invitation_id=row.id, state=state
    )


async def _tier(
    conn: AsyncConnection, rule_set: rules.RuleSet, member_ids: list[UUID], at: datetime
) -> tuple[str, str, str] | None:
    if not rule_set.tiers:
        return None
    since = at - timedelta(days=rule_set.tier_window_days + rule_set.tier_grace_days)
    status = await member_queries.status_entries(conn, since, at, member_ids)
    entries = [tiers.StatusEntry(a, p) for a, p in status.get(member_ids[0], [])]
    held = tiers.current_tier(rule_set, entries, at)
    return (held.key, held.name_en, held.name_fr) if held else None


async def record_attendance(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    invitation_id: UUID,
    turns: Turns | None = None,
) -> int | None:
    """The attendance earn of a check-in, exactly once (its external id is the invitation's);
    the points, or ``None`` when the earn could not be recorded now (the job tries again)."""
    async with engine.connect() as conn:
        row = await invitation_queries.invitation(conn, invitation_id)
        assert row is not None and row.checked_in_at is not None
        if row.earn_entry_id is not None:
            return int(row.earn_points)
        experience = await invitation_queries.experience(conn, row.experience_id)
    assert experience is not None
    body = loyalty.RecordEarn(
        member_id=row.member_id,
        external_id=f"experience-invitation:{invitation_id}",
        event=loyalty.EarnEvent(
            trigger=loyalty.Trigger.ATTENDANCE,
            occurred_at=row.checked_in_at,
            venue_id=experience.venue_id,
            category="experience",
            production_id=experience.production_id,
        ),
    )
    try:
        earned = await earn_points(engine, book, actor, body, turns=turns)
    except Problem as problem:
        log.warning(
            "attendance earn of invitation %s not recorded: %s", invitation_id, problem.code
        )
        return None
    async with engine.begin() as conn:
        await invitation_queries.record_attendance_earn(
            conn, invitation_id, entry_id=earned.entry.id, points=earned.entry.points
        )
    return earned.entry.points
