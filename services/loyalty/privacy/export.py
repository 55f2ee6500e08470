"""Everything loyalty holds on a member, for their export."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.accounts import queries
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import entry_view
from services.loyalty.rewards import queries as rewards


async def export_member(engine: AsyncEngine, member_id: UUID) -> contract.MemberExport:
    async with UnitOfWork(engine) as uow:
        member = await journal.survivor(uow.conn, member_id)
        ids = await queries.member_ids(uow.conn, member)
        events = await queries.events_about(uow.conn, ids)
        rows = await queries.history(uow.conn, member, first=1_000_000, before_seq=None)
        redemptions = await rewards.redemptions_of(uow.conn, member)
    return contract.MemberExport(
        member_id=member,
        events_received=events,
        entries=[entry_view(r) for r in rows],
        redemptions=[
            {
                "id": str(r.id),
                "reward_id": str(r.reward_id),
                "voucher_code": r.voucher_code,
                "cost": r.cost,
                "created_at": r.created_at.isoformat(),
            }
            for r in redemptions
        ],
    )
