"""Everything loyalty holds on a member, for their export."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.accounts import queries
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import entry_view
from services.loyalty.privacy import queries as privacy
from services.loyalty.rewards import queries as rewards


def _entry(row: journal.EntryRow) -> contract.ExportedEntry:
    return contract.ExportedEntry(
        **entry_view(row).model_dump(), event=row.event, production_id=row.production_id
    )


async def export_member(engine: AsyncEngine, member_id: UUID) -> contract.MemberExport:
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member = await journal.survivor(conn, member_id)
        ids = await queries.member_ids(conn, member)
        events = await queries.events_about(conn, ids)
        rows = await queries.history(conn, member, first=1_000_000, before_seq=None)
        redemptions = await rewards.redemptions_of(conn, member)
        return contract.MemberExport(
            member_id=member,
            events_received=events,
            entries=[_entry(r) for r in rows],
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
            contact_preferences=await privacy.contacts_of(conn, ids),
            invitations=await privacy.invitations_of(conn, ids),
            suppressions=await privacy.suppressions_of(conn, ids),
            referral_code=await privacy.referral_code_of(conn, member),
            referrals_made=await privacy.referrals_made(conn, ids),
            referrals_received=await privacy.referrals_received(conn, ids),
        )
