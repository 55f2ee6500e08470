"""The experiences' job: offers past the invitation window and waitlist places past the start
expire, reservations not checked in when the door closed become no-shows (their members told
through the outbox), and check-ins whose attendance earn could not be recorded are recorded.
Safe on every replica at once: each experience is settled under its row lock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import SYSTEM
from services.common.uow import UnitOfWork
from services.loyalty.experiences import contract, lifecycle, seating, views
from services.loyalty.experiences.door import record_attendance
from services.loyalty.experiences.model import InvitationState
from services.loyalty.experiences.queries import invitations as queries
from services.loyalty.experiences.queries.issuances import enqueue
from services.loyalty.journal.entries import now_or
from services.loyalty.rulebook.book import RuleBook

log = structlog.get_logger(__name__)

JOB_BATCH = 100
EARN_GRACE = timedelta(minutes=1)  # the door records the earn itself right after a check-in


async def _settle_experience(
    engine: AsyncEngine, experience_id: object, now: datetime
) -> tuple[int, int]:
    expired = no_shows = 0
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        experience = await queries.experience(conn, experience_id, lock=True)  # type: ignore[arg-type]
        assert experience is not None
        pure = views.model(experience)
        events = []
        for row in await queries.invitations_of_experience(conn, experience.id):
            invitation = views.invitation(row)
            if invitation.state in (InvitationState.OFFERED, InvitationState.WAITLISTED):
                moved = lifecycle.expire(invitation, pure, at=now)
            elif invitation.state is InvitationState.ACCEPTED:
                moved = lifecycle.no_show(invitation, pure, at=now)
            else:
                continue
            if isinstance(moved, lifecycle.Moved):
                await seating.apply(conn, experience, row, moved)
                if moved.invitation.state is InvitationState.EXPIRED:
                    expired += 1
                    events.append(seating.event("expired", moved.invitation, experience))
                else:
                    no_shows += 1
        await enqueue(conn, events, at=now)
        await uow.commit()
    return expired, no_shows


async def run_experience_jobs(
    engine: AsyncEngine, book: RuleBook, *, now: datetime | None = None
) -> contract.ExperienceJobReport:
    now = now_or(now)
    expired = no_shows = earns = 0
    async with engine.connect() as conn:
        due = await queries.experiences_with_due_invitations(conn, now, JOB_BATCH)
        missing = await queries.check_ins_without_earn(conn, now - EARN_GRACE, JOB_BATCH)
    for experience_id in due:
        e, n = await _settle_experience(engine, experience_id, now)
        expired, no_shows = expired + e, no_shows + n
    for invitation_id in missing:
        if await record_attendance(engine, book, SYSTEM, invitation_id) is not None:
            earns += 1
    report = contract.ExperienceJobReport(
        expired=expired, no_shows=no_shows, attendance_earns=earns
    )
    if expired or no_shows or earns:
        log.info("experiences settled", **report.model_dump())
    return report


async def run_experience_jobs_every(engine: AsyncEngine, book: RuleBook, interval: float) -> None:
    """Settle due invitations every ``interval`` seconds."""
    while True:
        try:
            await run_experience_jobs(engine, book)
        except Exception:  # keep the schedule alive; the next run retries
            log.exception("experiences job failed")
        await asyncio.sleep(interval)
