"""Waking long-polls when a revocation is committed, on this replica or another: a connection
LISTENs to the channel the revoking transactions NOTIFY."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]
import structlog

from services.common.db import asyncpg_dsn
from services.identity.revocations.queries import CHANNEL

log = structlog.get_logger(__name__)

RETRY_SECONDS = 1.0
PING_SECONDS = 5.0


class Signal:
    """Something happened: every waiter of ``next()`` wakes at the next ``fire()``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def next(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()


async def listen(database_url: str, signal: Signal) -> None:
    """Fire ``signal`` on each notice, reconnecting when the connection is lost (the long-polls
    read again every second meanwhile, so a lost notice only delays)."""
    while True:
        try:
            conn = await asyncpg.connect(asyncpg_dsn(database_url))
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("revocations.listen_failed", error=type(exc).__name__)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        try:
            await conn.add_listener(CHANNEL, lambda *_: signal.fire())
            signal.fire()  # what was committed while nobody listened is read now
            while True:
                await asyncio.sleep(PING_SECONDS)
                await conn.execute("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("revocations.listen_lost", error=type(exc).__name__)
        finally:
            conn.terminate()
