"""The door: redeem an accepted invitation by its QR token or its typed code, exactly once.

Only staff of the experience's venue redeem, within the door window; every scan is logged with
its outcome. Typed codes are throttled per staff account (failures counted in PostgreSQL, so
the count holds across replicas; an account's attempts settle one after the other under its
throttle row's lock, so attempts made at once are each counted). The check-in locks the
invitation's row, so of any number of concurrent redemptions one checks in and the others learn
when and by whom. Offline scans come in batches, each scan settled once per device and scan id:
a batch sent again answers what it answered and changes nothing. A check-in then records an
attendance earn through the earning capability, idempotently (the invitation is its external
id); one that fails is recorded later by the job.
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
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import now_or
from services.loyalty.referrals import hooks as referrals
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
    at: datetime  # when it was scanned
    received_at: datetime  # when it reached the service
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
        venue_id = next(iter(actor.venue_uuids()), None)
    if venue_id is None or str(venue_id) not in actor.venue_ids:
        raise Forbidden(ProblemCode.WRONG_VENUE, "you do not work for that venue")
    return Door(engine, book, actor, venue_id, locale, turns)


def _one_of(code: str | None, token: str | None) -> None:
    if (code is None) == (token is None):
        raise InvalidInput("send either a code or a token")


async def redeem_invitation(
    door: Door, body: contract.RedeemInvitation, *, now: datetime | None = None
) -> contract.Redemption:
    _one_of(body.code, body.token)
    at = now_or(now)
    scan = Scan(body.code, body.token, at, at, device_id=body.device_id)
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
            now,
            device_id=body.device_id,
            scan_id=offline.scan_id,
        )
        outcome, replayed = await settle(door, scan)
        results.append(
            contract.ScanResult(scan_id=offline.scan_id, outcome=outcome, replayed=replayed)
        )
    return contract.BatchOutcome(results=results)


async def _replayed(door: Door, scan: Scan) -> tuple[Outcome, bool] | None:
    """The answer to a scan settled before: its first outcome, replayed. A scan another venue's
    device settled is not this door's to read: wrong venue, and nothing replayed."""
    if scan.scan_id is None or scan.device_id is None:
        return None
    async with door.engine.connect() as conn:
        row = await queries.settled_scan(conn, scan.device_id, scan.scan_id)
        if row is None:
            return None
        if row.venue_id != door.venue_id:
            lang = views.lang(door.locale)
            return contract.WrongVenue(message=door_words.fixed("wrong_venue", lang)), False
        outcome = OUTCOME.validate_python(row.answer)
        if isinstance(outcome, contract.CheckedIn) and outcome.points is None:
            # the log keeps the answer as it was before the attendance earn: its points
            # are the earn's, once recorded
            invitation = await invitation_queries.invitation(conn, outcome.invitation_id)
            if invitation is not None and invitation.earn_points is not None:
                outcome = outcome.model_copy(update={"points": int(invitation.earn_points)})
    return outcome, True


async def settle(door: Door, scan: Scan) -> tuple[Outcome, bool]:
    """The outcome of one scan, and whether it had been settled before (nothing changed)."""
    before = await _replayed(door, scan)
    if before is not None:
        return before
    signed = None
    if scan.token is not None:
        signed = await signing.verify(door.engine, scan.token.strip())
    outcome, replayed = await _settle(door, scan, signed.code if signed else None)
    if not replayed and isinstance(outcome, contract.CheckedIn):
        points = await record_attendance(
            door.engine, door.book, door.actor, outcome.invitation_id, door.turns
        )
        outcome = outcome.model_copy(update={"points": points})
    return outcome, replayed


def _unreadable(problem: str, door: Door) -> contract.Unreadable:
    return contract.Unreadable(
        message=door_words.unreadable(problem, views.lang(door.locale)), problem=problem
    )


async def _throttled(door: Door, conn: AsyncConnection, scan: Scan) -> contract.Throttled | None:
    """Hold the staff account's throttle until the scan is settled, so that its attempts are
    counted one after the other, even when made at once; ``Throttled`` once too many failed."""
    failures, started = await queries.lock_throttle(
        conn, door.actor.id or "", at=scan.received_at, window=door_words.THROTTLE_WINDOW
    )
    if not door_words.throttled(failures):
        return None
    seconds = door_words.retry_after(started, scan.received_at)
    return contract.Throttled(
        message=door_words.throttled_message(seconds, views.lang(door.locale)),
        retry_after_seconds=seconds,
    )


async def _settle(
    door: Door, scan: Scan, signed: door_codes.DoorCode | None
) -> tuple[Outcome, bool]:
    """Settle a scan in one transaction: the throttle (typed codes), the lookup and check-in
    under the invitation's row lock, the failure counted, the scan logged."""
    method = "token" if scan.token is not None else "code"
    async with UnitOfWork(door.engine) as uow:
        conn = uow.conn
        outcome: Outcome | None = None
        code = signed
        invitation_id = None
        if method == "token" and signed is None:
            outcome = _unreadable(door_words.TOKEN_PROBLEM, door)
        elif method == "code":
            assert scan.code is not None
            outcome = await _throttled(door, conn, scan)
            read = door_codes.read(scan.code)
            if outcome is None and isinstance(read, door_codes.Unreadable):
                outcome = _unreadable(read.problem.value, door)
            elif isinstance(read, door_codes.DoorCode):
                code = read
        if outcome is None:
            assert code is not None
            outcome, invitation_id = await _check_in(door, conn, scan, code)
        failed = isinstance(outcome, contract.NotFound | contract.Unreadable | contract.WrongVenue)
        if method == "code" and failed:
            await queries.add_failure(conn, door.actor.id or "")
        values = _log_values(door, scan, method, invitation_id, outcome)
        if not await queries.log_scan(conn, values):
            await conn.rollback()
            again = await _replayed(door, scan)
            assert again is not None
            return again
        await uow.commit()
    return outcome, False


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


async def _check_in(
    door: Door, conn: AsyncConnection, scan: Scan, code: door_codes.DoorCode
) -> tuple[Outcome, UUID | None]:
    """Look the code up and check the member in, under the invitation's row lock."""
    row = await invitation_queries.invitation_by_code(conn, code.value, lock=True)
    if row is None:
        return contract.NotFound(
            message=door_words.fixed("not_found", views.lang(door.locale))
        ), None
    experience = await invitation_queries.experience(conn, row.experience_id)
    assert experience is not None
    outcome = await _outcome(door, conn, scan, row, experience)
    if isinstance(outcome, contract.CheckedIn) and await journal.erased(conn, row.member_id):
        # identity erased the member: their invitation admits no one any more
        lang = views.lang(door.locale)
        outcome = contract.Cancelled(
            message=door_words.fixed("cancelled", lang), invitation_id=row.id
        )
    if isinstance(outcome, contract.CheckedIn):
        moved = {
            "state": InvitationState.CHECKED_IN.value,
            "checked_in_at": outcome.checked_in_at,
            "checked_in_by": door.actor.label(),
            "guests_checked_in": outcome.guests_expected,
        }
        saved = await invitation_queries.save_invitation(conn, row.id, row.state, moved)
        assert saved  # the row is locked
    return outcome, row.id


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
    # perhaps a referee's first qualifying event: told before the earn is recorded on the
    # invitation, so that the job, trying again after a failure in between, tells it again
    # (told twice, it counts once)
    await referrals.after_earn(
        engine, book, row.member_id, "attendance", row.checked_in_at, earned.entry.id
    )
    async with engine.begin() as conn:
        await invitation_queries.record_attendance_earn(
            conn, invitation_id, entry_id=earned.entry.id, points=earned.entry.points
        )
    return earned.entry.points
