"""Receiving identity's events, idempotently."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.accounts.merges import merge_accounts
from services.loyalty.identity_events import queries


async def receive_identity_events(
    engine: AsyncEngine, batch: contract.EventBatch
) -> contract.EventReceipt:
    """The idempotent consumer of identity's outbox: an event delivered twice is recorded once,
    and a merge moves the accounts in the same transaction as its receipt."""
    received = duplicates = 0
    async with UnitOfWork(engine) as uow:
        for event in batch.events:
            if not await queries.record_event(uow.conn, event):
                duplicates += 1
                continue
            received += 1
            if event.type == "members.merged":
                await merge_accounts(
                    uow.conn,
                    absorbed=UUID(event.payload["absorbed_id"]),
                    survivor=UUID(event.payload["survivor_id"]),
                    merge_id=str(event.payload.get("merge_id") or event.event_id),
                    occurred_at=event.occurred_at,
                )
        await uow.commit()
    return contract.EventReceipt(received=received, duplicates=duplicates)
