"""Background tasks that live as long as an app (the outbox relay, the points job)."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
