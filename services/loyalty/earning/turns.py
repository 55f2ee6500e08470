"""One earn at a time per member within a replica."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import UUID


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


NO_TURNS = _NoTurns()
