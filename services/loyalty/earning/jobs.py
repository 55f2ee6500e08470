"""The points job: release pending points that have come due and expire points past their date."""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import SYSTEM
from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.earning import queries
from services.loyalty.journal.entries import ids_for, now_or, prepare_member
from services.loyalty.journal.settle import settle

log = structlog.get_logger(__name__)

JOB_BATCH = 500


async def run_point_jobs(engine: AsyncEngine, *, now: datetime | None = None) -> contract.JobReport:
    """Release pending points that have come due and expire points past their date, member by
    member (one short transaction each, so the job never holds many locks)."""
    now = now_or(now)
    totals = [0, 0, 0, 0]
    members_done = 0
    while True:
        async with UnitOfWork(engine) as uow:
            due = await queries.members_with_due_lots(uow.conn, now, JOB_BATCH)
        if not due:
            break
        for member_id in due:
            async with UnitOfWork(engine) as uow:
                member, prepared = await prepare_member(uow.conn, member_id)
                ids = await ids_for(uow.conn, {member: prepared})
                counts = await settle(uow.conn, member, ids, SYSTEM, now)
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


async def run_point_jobs_every(engine: AsyncEngine, interval: float) -> None:
    """Release due pending points and expire old ones, every ``interval`` seconds."""
    while True:
        try:
            await run_point_jobs(engine)
        except Exception:  # keep the schedule alive; the next run retries
            log.exception("points job failed")
        await asyncio.sleep(interval)
