"""A unit of work: one transaction per command, rolled back unless told to commit."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class UnitOfWork:
    """``async with UnitOfWork(engine) as uow: ...; await uow.commit()``.

    Repositories take ``uow.conn`` (SQLAlchemy Core on one connection). Leaving the block without
    ``commit()`` rolls everything back, so a failing command writes nothing.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work not started")
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._engine.connect()
        await self._conn.begin()
        return self

    async def commit(self) -> None:
        await self.conn.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
