"""Merging duplicate members: the absorbed member's points and lots move to the survivor."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.actor import SYSTEM
from services.loyalty import ledger
from services.loyalty.accounts import queries
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import both, ids_for, points_en, points_fr


async def merge_accounts(
    conn: AsyncConnection, *, absorbed: UUID, survivor: UUID, merge_id: str, occurred_at: datetime
) -> bool:
    """Move the absorbed member's points and lots to the survivor, exactly once per merge."""
    if await journal.entry_by_key(conn, "identity", f"merge:{merge_id}") is not None:
        return False
    final = await journal.survivor(conn, survivor)
    if final == absorbed or await queries.is_merged(conn, absorbed):
        return False
    for member in sorted({absorbed, final}):
        await journal.ensure_member(conn, member)
    locked = await journal.lock_accounts(conn, [absorbed, final])
    moving = locked[absorbed]
    entry = (
        ledger.merge_entry(
            absorbed, final, available_points=moving.available, pending_points=moving.pending
        )
        if moving.available or moving.pending
        else ledger.Entry(ledger.EntryKind.MERGE, ())
    )
    points = moving.available + moving.pending
    await journal.write_entry(
        conn,
        entry,
        account_ids=await ids_for(conn, locked),
        member_id=final,
        source="identity",
        external_id=f"merge:{merge_id}",
        occurred_at=occurred_at,
        actor=SYSTEM.label(),
        explanation={
            "summary": both(
                f"Duplicate account merged into this one: {points_en(points)}",
                f"Compte en double fusionné avec celui-ci : {points_fr(points)}",
            ),
            "lines": [],
            "absorbed_id": str(absorbed),
        },
    )
    await queries.record_merge(conn, absorbed=absorbed, survivor=final)
    await journal.bump_version(conn, absorbed, final)
    return True
