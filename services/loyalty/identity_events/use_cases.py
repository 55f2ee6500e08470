"""Receiving identity's events, idempotently."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.accounts.merges import merge_accounts
from services.loyalty.experiences import contact_events
from services.loyalty.identity_events import queries
from services.loyalty.journal import queries as journal
from services.loyalty.privacy import erasure
from services.loyalty.referrals import hooks as referrals
from services.loyalty.rulebook.book import RuleBook


async def receive_identity_events(
    engine: AsyncEngine, batch: contract.EventBatch, book: RuleBook | None = None
) -> contract.EventReceipt:
    """The idempotent consumer of identity's outbox: an event delivered twice is recorded once,
    a merge moves the accounts in the same transaction as its receipt, and contact preferences
    are kept for the invitations' guardrails; an erasure forgets what is personal. Referrals
    follow registrations, links and merges in the same transaction; the rewards they decide are
    given after it (with ``book``; else by the referrals job)."""
    received = duplicates = 0
    touched: set[UUID] = set()
    async with UnitOfWork(engine) as uow:
        for event in batch.events:
            if not await queries.record_event(uow.conn, event):
                duplicates += 1
                continue
            received += 1
            await contact_events.follow(uow.conn, event)
            if event.type == "member.erased":
                await journal.mark_erased(
                    uow.conn, UUID(event.payload["member_id"]), event.occurred_at
                )
            if event.type == "members.merged":
                await merge_accounts(
                    uow.conn,
                    absorbed=UUID(event.payload["absorbed_id"]),
                    survivor=UUID(event.payload["survivor_id"]),
                    merge_id=str(event.payload.get("merge_id") or event.event_id),
                    occurred_at=event.occurred_at,
                )
            touched |= await referrals.on_identity_event(
                uow.conn, event.type, event.payload, event.occurred_at
            )
            await erasure.follow(uow.conn, event)
        await uow.commit()
    if book is not None:
        await referrals.settle(engine, book, touched)
    return contract.EventReceipt(received=received, duplicates=duplicates)
