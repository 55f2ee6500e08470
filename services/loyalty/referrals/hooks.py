"""Where other capabilities tell referrals what happened: an earn was recorded, identity's events
arrived. Each records the referral events in its own transaction (or the caller's), then
performs the effects they decided at once; what fails is left to the referrals job."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty.referrals import effects, queries, tracking, webhooks
from services.loyalty.referrals.use_cases import ensure_code
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rules.model import Trigger


async def settle(engine: AsyncEngine, book: RuleBook, touched: set[UUID]) -> None:
    """Perform the effects due on the referrals ``touched``, and wake the webhooks' sender."""
    if touched:
        await effects.perform_effects(engine, book, only=touched)
        webhooks.wake(engine)


async def after_earn(
    engine: AsyncEngine,
    book: RuleBook,
    member_id: UUID,
    trigger_name: str,
    at: datetime,
    entry_id: UUID,
) -> None:
    """An earn was recorded: it may be the first qualifying event of a referee who joined.
    One read when the member is nobody's referee waiting to qualify (almost always)."""
    trigger = Trigger(trigger_name)
    if trigger is Trigger.REFERRAL_CONVERTED:
        return
    async with engine.connect() as conn:
        waiting = await queries.joined_referrals_of(conn, await queries.survivor(conn, member_id))
    if not waiting:
        return
    async with UnitOfWork(engine) as uow:
        touched = await tracking.earned(uow.conn, member_id, trigger, at, entry_id)
        await uow.commit()
    await settle(engine, book, touched)


async def on_identity_event(
    conn: AsyncConnection, kind: str, payload: dict[str, Any], at: datetime
) -> set[UUID]:
    """One of identity's events, in the consumer's transaction: a new member gets their code; a
    registration, a link or a merge moves the referrals it concerns. Returns those referrals."""
    member = payload.get("member_id")
    if kind == "member.registered" and member:
        await ensure_code(conn, UUID(member))
        hashes = payload.get("identifier_hashes") or {}
        return await tracking.member_registered(conn, UUID(member), hashes, at)
    if kind == "identifier.linked" and member and payload.get("identifier_hash"):
        return await tracking.identifier_linked(
            conn, UUID(member), str(payload["kind"]), str(payload["identifier_hash"]), at
        )
    if kind == "members.merged":
        survivor, absorbed = UUID(payload["survivor_id"]), UUID(payload["absorbed_id"])
        return await tracking.members_merged(conn, survivor, absorbed, at)
    return set()
