"""The transactional outbox relay: delivers identity's events to loyalty, at least once.

Events are written in the same transaction as the change they describe. The relay sends the
oldest undelivered ones in id order and marks them delivered only after loyalty has accepted
them; loyalty's consumer is idempotent, so a batch sent twice is recorded once. Rows are locked
with ``SKIP LOCKED``, so replicas running their own relays never send the same batch together.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.http import ServiceTokens
from services.common.uow import UnitOfWork
from services.identity.outbox import queries
from services.identity.outbox.payloads import for_loyalty

BATCH_SIZE = 100
EVENTS_PATH = "/internal/events"
LOYALTY_AUDIENCE = "loyalty"

log = structlog.get_logger(__name__)

# One wake-up signal per engine: the use cases set it after committing an event, so the relay
# running on that engine delivers at once instead of at its next tick.
_WAKE: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Event] = weakref.WeakKeyDictionary()


def wake(engine: AsyncEngine) -> None:
    event = _WAKE.get(engine)
    if event is not None:
        event.set()


def _body(rows: list[queries.OutboxRow]) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_id": str(r.event_id),
                "type": r.type,
                "occurred_at": r.occurred_at.isoformat(),
                "payload": for_loyalty(r.type, r.payload),
            }
            for r in rows
        ]
    }


async def relay_once(
    engine: AsyncEngine, client: httpx.AsyncClient, service_tokens: ServiceTokens
) -> int:
    """Deliver one batch; return how many events loyalty accepted (0 on failure or when idle)."""
    async with UnitOfWork(engine) as uow:
        rows = await queries.pending_events(uow.conn, BATCH_SIZE)
        if not rows:
            return 0
        ids = [r.id for r in rows]
        error: str | None = None
        try:
            response = await client.post(
                EVENTS_PATH,
                json=_body(rows),
                headers={"authorization": service_tokens.header(LOYALTY_AUDIENCE)},
            )
            if not response.is_success:
                error = f"HTTP {response.status_code}: {response.text[:300]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            await queries.mark_delivered(uow.conn, ids, datetime.now(UTC))
        else:
            await queries.mark_failed(uow.conn, ids, error)
        await uow.commit()
    if error is not None:
        log.warning("outbox delivery failed", events=len(ids), error=error)
        return 0
    return len(ids)


async def run_relay(
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    service_tokens: ServiceTokens,
    *,
    interval: float,
) -> None:
    """Deliver until cancelled: every ``interval`` seconds, or at once after a local write."""
    signal = _WAKE.setdefault(engine, asyncio.Event())
    try:
        while True:
            signal.clear()
            try:
                delivered = await relay_once(engine, client, service_tokens)
            except Exception:  # the relay reports and carries on; it never takes the app down
                log.exception("outbox relay failed")
                delivered = 0
            if delivered == BATCH_SIZE:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=interval)
    finally:
        if _WAKE.get(engine) is signal:
            del _WAKE[engine]
