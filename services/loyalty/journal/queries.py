"""The SQL of the ledger's shared parts: members' accounts, journal entries and lots."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import ledger
from services.loyalty.tables import accounts, award_lines, journal_entries, lots, members, postings

# ---- members and accounts --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Balances:
    available_id: int
    pending_id: int
    available: int
    pending: int


async def survivor(conn: AsyncConnection, member_id: UUID) -> UUID:
    """The member's id after merges (merges keep ``merged_into`` pointing at the final survivor)."""
    merged_into = await conn.scalar(
        sa.select(members.c.merged_into).where(members.c.member_id == member_id)
    )
    return merged_into or member_id


async def ensure_member(conn: AsyncConnection, member_id: UUID) -> None:
    await conn.execute(
        insert(members)
        .values(member_id=member_id)
        .on_conflict_do_nothing(index_elements=[members.c.member_id])
    )
    await conn.execute(
        insert(accounts)
        .values(
            [
                {"member_id": member_id, "kind": "available", "balance": 0},
                {"member_id": member_id, "kind": "pending", "balance": 0},
            ]
        )
        .on_conflict_do_nothing(index_elements=[accounts.c.member_id, accounts.c.kind])
    )


async def mark_erased(conn: AsyncConnection, member_id: UUID, at: datetime) -> None:
    """Identity erased the member: from now on nothing new is written for them (the version
    changes, so an earn that read the member before cannot write)."""
    await conn.execute(
        insert(members)
        .values(member_id=member_id, erased_at=at)
        .on_conflict_do_update(
            index_elements=[members.c.member_id],
            set_={
                "erased_at": sa.func.coalesce(members.c.erased_at, at),
                "version": members.c.version + 1,
            },
        )
    )


async def erased(conn: AsyncConnection, member_id: UUID) -> bool:
    """Whether the member (or the survivor they were merged into) was erased."""
    survivor_id = await survivor(conn, member_id)
    at = await conn.scalar(sa.select(members.c.erased_at).where(members.c.member_id == survivor_id))
    return at is not None


async def lock_accounts(conn: AsyncConnection, member_ids: Iterable[UUID]) -> dict[UUID, Balances]:
    """Lock the members' accounts (in one order, so that two lockers never deadlock)."""
    ids = sorted(set(member_ids))
    rows = (
        await conn.execute(
            sa.select(accounts.c.id, accounts.c.member_id, accounts.c.kind, accounts.c.balance)
            .where(accounts.c.member_id.in_(ids))
            .order_by(accounts.c.member_id, accounts.c.kind)
            .with_for_update()
        )
    ).all()
    return _balances(rows)


async def balances(conn: AsyncConnection, member_id: UUID) -> Balances | None:
    rows = (
        await conn.execute(
            sa.select(
                accounts.c.id, accounts.c.member_id, accounts.c.kind, accounts.c.balance
            ).where(accounts.c.member_id == member_id)
        )
    ).all()
    return _balances(rows).get(member_id)


def _balances(rows: Sequence[Any]) -> dict[UUID, Balances]:
    found: dict[UUID, dict[str, tuple[int, int]]] = {}
    for r in rows:
        found.setdefault(r.member_id, {})[r.kind] = (r.id, r.balance)
    return {
        m: Balances(k["available"][0], k["pending"][0], k["available"][1], k["pending"][1])
        for m, k in found.items()
    }


async def programme_account_ids(conn: AsyncConnection) -> dict[ledger.AccountKind, int]:
    rows = await conn.execute(
        sa.select(accounts.c.kind, accounts.c.id).where(accounts.c.member_id.is_(None))
    )
    return {ledger.AccountKind(r.kind): r.id for r in rows}


def of_member(column: sa.ColumnElement[Any], member: UUID) -> sa.ColumnElement[bool]:
    """``column`` names the member or a member merged into them: one history."""
    return sa.or_(
        column == member,
        column.in_(sa.select(members.c.member_id).where(members.c.merged_into == member)),
    )


async def bump_version(conn: AsyncConnection, *members_: UUID) -> None:
    """Record that what the members earn may have changed (a reversal, a merge)."""
    await conn.execute(
        sa.update(members)
        .where(members.c.member_id.in_(members_))
        .values(version=members.c.version + 1)
    )


# ---- journal ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: UUID
    seq: int
    kind: str
    source: str
    external_id: str
    member_id: UUID
    points: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    rule_version: int | None
    reverses_entry_id: UUID | None
    event: dict[str, Any] | None
    explanation: dict[str, Any]
    request_hash: str | None
    production_id: str | None = None  # the production an earn booked or attended


def entry_row(row: sa.Row[Any]) -> EntryRow:
    return EntryRow(**row._mapping)


async def entry_by_key(conn: AsyncConnection, source: str, external_id: str) -> EntryRow | None:
    row = (
        await conn.execute(
            sa.select(journal_entries).where(
                journal_entries.c.source == source, journal_entries.c.external_id == external_id
            )
        )
    ).first()
    return entry_row(row) if row else None


@dataclass(frozen=True, slots=True)
class LineRow:
    rule_key: str
    rule_version: int
    points: int
    occurred_at: datetime
    local_day: date
    counts_for_status: bool


async def write_entry(
    conn: AsyncConnection,
    entry: ledger.Entry,
    *,
    account_ids: dict[ledger.Account, int],
    member_id: UUID,
    source: str,
    external_id: str,
    occurred_at: datetime,
    actor: str,
    explanation: dict[str, Any],
    rule_version: int | None = None,
    reverses_entry_id: UUID | None = None,
    event: dict[str, Any] | None = None,
    request_hash: str | None = None,
    lines: Sequence[LineRow] = (),
) -> EntryRow:
    """Write a journal entry with its postings and award lines; the member's balance follows
    from the postings (a trigger keeps it, and refuses to let it fall below zero)."""
    member_delta = sum(p.delta for p in entry.postings if p.account.member == member_id)
    row = (
        await conn.execute(
            insert(journal_entries)
            .values(
                id=uuid.uuid4(),
                kind=entry.kind.value,
                source=source,
                external_id=external_id,
                member_id=member_id,
                points=member_delta,
                occurred_at=occurred_at,
                actor=actor,
                rule_version=rule_version,
                reverses_entry_id=reverses_entry_id,
                event=event,
                explanation=explanation,
                request_hash=request_hash,
            )
            .returning(*journal_entries.c)
        )
    ).one()
    if entry.postings:
        await conn.execute(
            insert(postings),
            [
                {"entry_id": row.id, "account_id": account_ids[p.account], "delta": p.delta}
                for p in entry.postings
            ],
        )
    if lines:
        await conn.execute(
            insert(award_lines),
            [
                {
                    "entry_id": row.id,
                    "line_no": n,
                    "member_id": member_id,
                    "rule_key": line.rule_key,
                    "rule_version": line.rule_version,
                    "points": line.points,
                    "occurred_at": line.occurred_at,
                    "local_day": line.local_day,
                    "counts_for_status": line.counts_for_status,
                }
                for n, line in enumerate(lines)
            ],
        )
    return entry_row(row)


# ---- lots ------------------------------------------------------------------------------------


def lot_of(r: sa.Row[Any]) -> ledger.Lot:
    return ledger.Lot(r.id, r.remaining, r.earned_at, r.available_at, r.released, r.expires_at)


async def open_lots(conn: AsyncConnection, member_id: UUID) -> list[ledger.Lot]:
    """The member's lots with points left (the caller holds the member's account lock)."""
    rows = await conn.execute(
        sa.select(lots).where(lots.c.member_id == member_id, lots.c.remaining > 0)
    )
    return [lot_of(r) for r in rows]


async def draw(conn: AsyncConnection, takes: Iterable[ledger.Take]) -> None:
    for take in takes:
        await conn.execute(
            sa.update(lots)
            .where(lots.c.id == take.lot_id)
            .values(remaining=lots.c.remaining - take.points)
        )


async def mark_released(conn: AsyncConnection, lot_id: UUID) -> None:
    await conn.execute(sa.update(lots).where(lots.c.id == lot_id).values(released=True))
