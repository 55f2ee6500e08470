"""Experiences managed by the venue's staff and by admins: create once per key, change before
the start, cancel for good (every live invitation cancelled and its member told), read."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor
from services.common.problems import Forbidden, InvalidInput, Problem
from services.common.uow import UnitOfWork
from services.loyalty import rules
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.experiences import contract, eligibility, lifecycle, seating, views
from services.loyalty.experiences.contract import ExperienceProblem
from services.loyalty.experiences.model import Experience, Purpose
from services.loyalty.experiences.queries import invitations as queries
from services.loyalty.experiences.queries.issuances import enqueue
from services.loyalty.journal.entries import now_or, request_hash
from services.loyalty.rulebook.book import RuleBook

Row = Any
CLEARABLE = ("production_id", "production_title")


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Contract fields as columns."""
    out = dict(fields)
    texts = out.pop("texts", None)
    if texts is not None:
        out.update(texts if isinstance(texts, dict) else texts.model_dump())
    if "eligibility" in out:
        elig = out["eligibility"]
        out["eligibility"] = elig if isinstance(elig, dict) else elig.model_dump(mode="json")
    if "purpose" in out:
        out["purpose"] = Purpose(out["purpose"]).value
    if "door_opens_minutes_before" in out:
        out["door_opens_before_s"] = out.pop("door_opens_minutes_before") * 60
    if "door_closes_minutes_after" in out:
        out["door_closes_after_s"] = out.pop("door_closes_minutes_after") * 60
    if "interests" in out:
        out["interests"] = [" ".join(i.split()) for i in out["interests"]]
    return out


def _check(columns: dict[str, Any], rule_set: rules.RuleSet, now: datetime) -> None:
    """The schedule in order, in the future, and conditions that can hold for someone."""
    problems = []
    if columns["invitations_open_at"] > columns["invitations_close_at"]:
        problems.append("invitations open before they close")
    if columns["starts_at"] <= now:
        problems.append("an experience starts in the future")
    try:
        Experience(
            id=uuid.uuid4(),
            venue_id=str(columns["venue_id"]),
            starts_at=columns["starts_at"],
            ends_at=columns["ends_at"],
            seats=columns["seats"],
            offers_close_at=columns["invitations_close_at"],
            guest_allowance=columns["guest_allowance"],
            door_opens_before=timedelta(seconds=columns["door_opens_before_s"]),
            door_closes_after=timedelta(seconds=columns["door_closes_after_s"]),
        )
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise InvalidInput(
            "; ".join(problems), code=ExperienceProblem.INVALID_SCHEDULE, errors=problems
        )
    conditions = eligibility.parse_eligibility(columns["eligibility"])
    wrong = eligibility.problems(conditions, rule_set, columns["production_id"])
    if wrong:
        raise InvalidInput(
            "; ".join(wrong), code=ExperienceProblem.INVALID_ELIGIBILITY, errors=wrong
        )


async def _view(
    conn: AsyncConnection, book: RuleBook, row: Row, locale: Locale, now: datetime
) -> contract.Experience:
    return views.experience(row, await views.rule_set_at(book, conn, now), locale, now)


async def create_experience(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.CreateExperience,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> tuple[contract.Experience, bool]:
    """Create an experience once per key; the experience, and whether it was created now."""
    views.require_venue(actor, body.venue_id)
    now = now_or(now)
    fingerprint = request_hash(body.model_dump(mode="json"))
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await queries.experience_by_key(conn, body.key)
        if row is None:
            columns = _columns(body.model_dump(exclude={"key"}))
            _check(columns, await views.rule_set_at(book, conn, now), now)
            new_id = uuid.uuid4()
            values = {
                **columns,
                "id": new_id,
                "key": body.key,
                "request_hash": fingerprint,
                "created_by": actor.label(),
            }
            if await queries.insert_experience(conn, values):
                row = await queries.experience(conn, new_id)
                assert row is not None
                answer = await _view(conn, book, row, locale, now)
                await uow.commit()
                return answer, True
            row = await queries.experience_by_key(conn, body.key)  # created meanwhile
            assert row is not None
        if row.request_hash != fingerprint:
            raise Problem(
                ExperienceProblem.EXPERIENCE_KEY_TAKEN,
                f"an experience with the key {body.key!r} already exists, with other content",
                experience_id=str(row.id),
            )
        return await _view(conn, book, row, locale, now), False


async def _locked(conn: AsyncConnection, actor: Actor, experience_id: UUID, now: datetime) -> Row:
    row = await queries.experience(conn, experience_id, lock=True)
    if row is None:
        raise views.missing_experience()
    views.require_venue(actor, row.venue_id)
    if row.cancelled_at is not None:
        raise Problem(ExperienceProblem.EXPERIENCE_CANCELLED, "this experience was cancelled")
    if now >= row.starts_at:
        raise Problem(ExperienceProblem.EXPERIENCE_STARTED, "this experience has started")
    return row


async def update_experience(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    experience_id: UUID,
    body: contract.UpdateExperience,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Experience:
    """Change the fields sent, before the start. More seats promote the waitlist."""
    now = now_or(now)
    sent = {name: getattr(body, name) for name in body.model_fields_set}
    cleared = sorted(n for n, v in sent.items() if v is None and n not in CLEARABLE)
    if cleared:
        raise InvalidInput(f"{', '.join(cleared)} cannot be cleared")
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await _locked(conn, actor, experience_id, now)
        changes = _columns({n: (v.model_dump() if n == "texts" else v) for n, v in sent.items()})
        merged = {**row._mapping, **changes}
        _check(merged, await views.rule_set_at(book, conn, now), now)
        if merged["seats"] < row.seats_taken:
            raise Problem(
                ExperienceProblem.SEATS_BELOW_TAKEN,
                f"{row.seats_taken} seats are taken: there cannot be fewer seats",
                seats_taken=row.seats_taken,
            )
        if changes:
            await queries.update_experience(conn, experience_id, changes)
        row = await queries.experience(conn, experience_id)
        assert row is not None
        if await seating.promote_waitlist(conn, row, at=now):
            row = await queries.experience(conn, experience_id)
            assert row is not None
        answer = await _view(conn, book, row, locale, now)
        await uow.commit()
    return answer


async def cancel_experience(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    experience_id: UUID,
    body: contract.CancelExperience,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Experience:
    """Cancel for good, before the start: every live invitation cancelled and its member told.
    Cancelling again answers the experience as it is."""
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await queries.experience(conn, experience_id, lock=True)
        if row is not None and row.cancelled_at is not None:
            views.require_venue(actor, row.venue_id)
            return await _view(conn, book, row, locale, now)
        row = await _locked(conn, actor, experience_id, now)
        pure = views.model(row)
        events = []
        for live in await queries.live_invitations(conn, experience_id):
            moved = lifecycle.cancel(views.invitation(live), pure, at=now, by_programme=True)
            assert isinstance(moved, lifecycle.Moved)  # live invitations can always be cancelled
            await seating.apply(conn, row, live, moved)
            events.append(seating.event("cancelled", moved.invitation, row, reason=body.reason))
        await enqueue(conn, events, at=now)
        await queries.update_experience(
            conn, experience_id, {"cancelled_at": now, "cancel_reason": body.reason}
        )
        row = await queries.experience(conn, experience_id)
        assert row is not None
        answer = await _view(conn, book, row, locale, now)
        await uow.commit()
    return answer


async def get_experience(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    experience_id: UUID,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Experience:
    now = now_or(now)
    async with engine.connect() as conn:
        row = await queries.experience(conn, experience_id)
        if row is None:
            raise views.missing_experience()
        views.require_venue(actor, row.venue_id)
        return await _view(conn, book, row, locale, now)


async def list_experiences(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    *,
    venue_id: UUID | None = None,
    include_past: bool = False,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> list[contract.Experience]:
    """The experiences of the actor's venues (admins: all), soonest first; past ones (ended)
    only when asked."""
    now = now_or(now)
    venues = views.venues_of(actor)
    if venue_id is not None:
        if venues is not None and venue_id not in venues:
            raise Forbidden(ProblemCode.WRONG_VENUE, "you do not work for that venue")
        venues = {venue_id}
    async with engine.connect() as conn:
        rows = await queries.list_experiences(
            conn, venue_ids=venues, ending_after=None if include_past else now
        )
        rule_set = await views.rule_set_at(book, conn, now)
    return [views.experience(r, rule_set, locale, now) for r in rows]
