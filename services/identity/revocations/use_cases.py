"""Revocations' use cases: record one (inside the revoking transaction) and follow the feed.

Access tokens are verified by the gateways without calling identity, so a revocation reaches
them through a feed: each gateway loads every revocation in force when it starts, then
long-polls for those after its cursor; a poll returns as soon as one is committed (the
listener wakes it) or after ``wait`` seconds with nothing. A revocation is kept until no token
it concerns can still be valid.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.uow import UnitOfWork
from services.identity import contract
from services.identity.revocations import queries
from services.identity.revocations.listener import Signal

#: Longer than any access token lives (``access_token_ttl_seconds`` is at most an hour), with a
#: minute for the clocks of gateways and identity to differ; also longer than a gateway keeps a
#: verified API key in memory.
KEPT_FOR = timedelta(hours=1, minutes=1)
PAGE_SIZE = 500
MAX_WAIT_SECONDS = 30.0
RECHECK_SECONDS = 1.0  # a long-poll also reads again this often, should a notice be lost


async def revoke(
    conn: AsyncConnection,
    kind: contract.RevocationKind,
    subjects: Iterable[object],
    now: datetime,
) -> None:
    """Record revocations in the caller's transaction; gateways learn them once it commits."""
    await queries.record(
        conn, kind, [str(s) for s in subjects], revoked_at=now, expires_at=now + KEPT_FOR
    )


async def read(engine: AsyncEngine, cursor: int | None) -> contract.RevocationPage:
    """Revocations in force after ``cursor`` (all of them when it is ``None``)."""
    start = cursor or 0
    async with UnitOfWork(engine) as uow:
        found = await queries.after(uow.conn, start, PAGE_SIZE)
    now = datetime.now(UTC)
    return contract.RevocationPage(
        cursor=found[-1].id if found else start,
        revocations=[r for r in found if r.expires_at > now],
        more=len(found) == PAGE_SIZE,
    )


async def follow(
    engine: AsyncEngine, signal: Signal, cursor: int | None, wait: float
) -> contract.RevocationPage:
    """The next revocations after ``cursor``: at once if there are some (or no cursor is given),
    else as soon as one is committed, else an empty page after ``wait`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(max(wait, 0.0), MAX_WAIT_SECONDS)
    while True:
        woken = signal.next()  # taken before reading, so a commit in between is not missed
        page = await read(engine, cursor)
        remaining = deadline - loop.time()
        if cursor is None or page.cursor != cursor or remaining <= 0:
            return page
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), min(RECHECK_SECONDS, remaining))
