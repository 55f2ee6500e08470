"""Use cases of the loyalty service: async functions, one unit of work each."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty import contract, repository


async def receive_identity_events(
    engine: AsyncEngine, batch: contract.EventBatch
) -> contract.EventReceipt:
    """The idempotent consumer of identity's outbox: an event delivered twice is recorded once."""
    received = duplicates = 0
    async with UnitOfWork(engine) as uow:
        for event in batch.events:
            if await repository.record_event(uow.conn, event):
                received += 1
            else:
                duplicates += 1
        await uow.commit()
    return contract.EventReceipt(received=received, duplicates=duplicates)


async def export_member(engine: AsyncEngine, member_id: UUID) -> contract.MemberExport:
    async with UnitOfWork(engine) as uow:
        events = await repository.events_about(uow.conn, member_id)
    return contract.MemberExport(member_id=member_id, events_received=events)
