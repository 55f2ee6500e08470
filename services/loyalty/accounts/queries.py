"""The SQL of accounts: the member's account in one read, their whole history, the programme's
figures, the export's reads, and merges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import contract
from services.loyalty.journal.queries import EntryRow, entry_row, of_member
from services.loyalty.tables import accounts, inbox, journal_entries, lots, members, postings

# ---- the member's account, in one read ---------------------------------------------------------

_ACCOUNT_SNAPSHOT = sa.text(
    """
    WITH m AS (
        SELECT coalesce((SELECT x.merged_into FROM loyalty.members x WHERE x.member_id = :member),
                        CAST(:member AS uuid)) AS id
    ), ids AS (
        SELECT m.id AS member_id FROM m
        UNION ALL
        SELECT x.member_id FROM loyalty.members x, m WHERE x.merged_into = m.id
    )
    SELECT m.id AS member,
           (SELECT coalesce(max(r.version), 0) FROM loyalty.rule_sets r) AS latest,
           (SELECT json_object_agg(a.kind, a.balance)
              FROM loyalty.accounts a WHERE a.member_id = m.id) AS balances,
           (SELECT json_agg(json_build_array(p.at, p.points) ORDER BY p.at)
              FROM (SELECT l.available_at AS at, sum(l.remaining) AS points
                      FROM loyalty.lots l
                     WHERE l.member_id = m.id AND l.remaining > 0 AND NOT l.released
                     GROUP BY l.available_at) AS p) AS pending,
           (SELECT json_build_array(l.expires_at, sum(l.remaining))
              FROM loyalty.lots l
             WHERE l.member_id = m.id AND l.released AND l.remaining > 0
               AND l.expires_at = (SELECT min(y.expires_at) FROM loyalty.lots y
                                    WHERE y.member_id = m.id AND y.released AND y.remaining > 0)
             GROUP BY l.expires_at) AS next_expiry,
           (SELECT json_agg(json_build_array(s.at, s.points) ORDER BY s.at)
              FROM (SELECT max(l.occurred_at) AS at, sum(l.points) AS points
                      FROM loyalty.award_lines l
                     WHERE l.member_id IN (SELECT member_id FROM ids) AND l.counts_for_status
                       AND l.occurred_at > :since AND l.occurred_at <= :until
                     GROUP BY l.local_day) AS s) AS status,
           (SELECT json_agg(h ORDER BY h.seq DESC)
              FROM (SELECT e.* FROM loyalty.journal_entries e
                     WHERE e.member_id IN (SELECT member_id FROM ids)
                       AND e.seq < coalesce(CAST(:before_seq AS bigint), 9223372036854775807)
                     ORDER BY e.seq DESC LIMIT :limit) AS h) AS history
      FROM m
    """
)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    member: UUID
    latest_rule_set: int
    available: int
    pending: int
    pending_releases: list[tuple[datetime, int]]
    next_expiry: tuple[datetime, int] | None
    status: list[tuple[datetime, int]]
    history: list[EntryRow]


def entry_from_json(raw: dict[str, Any]) -> EntryRow:
    def moment(value: str) -> datetime:
        return datetime.fromisoformat(value)

    return EntryRow(
        id=UUID(raw["id"]),
        seq=int(raw["seq"]),
        kind=raw["kind"],
        source=raw["source"],
        external_id=raw["external_id"],
        member_id=UUID(raw["member_id"]),
        points=int(raw["points"]),
        occurred_at=moment(raw["occurred_at"]),
        recorded_at=moment(raw["recorded_at"]),
        actor=raw["actor"],
        rule_version=raw["rule_version"],
        reverses_entry_id=UUID(raw["reverses_entry_id"]) if raw["reverses_entry_id"] else None,
        event=raw["event"],
        explanation=raw["explanation"],
        request_hash=raw["request_hash"],
    )


async def account_snapshot(
    conn: AsyncConnection,
    member_id: UUID,
    *,
    since: datetime,
    until: datetime,
    limit: int,
    before_seq: int | None,
) -> AccountSnapshot:
    """Balances, pending and expiring points, status points by day and a page of history, from
    one statement (one snapshot, one round trip)."""
    row = (
        await conn.execute(
            _ACCOUNT_SNAPSHOT,
            {
                "member": member_id,
                "since": since,
                "until": until,
                "limit": limit,
                "before_seq": before_seq,
            },
        )
    ).one()
    balances = row.balances or {}
    expiry = row.next_expiry
    return AccountSnapshot(
        member=row.member,
        latest_rule_set=int(row.latest),
        available=int(balances.get("available", 0)),
        pending=int(balances.get("pending", 0)),
        pending_releases=[(datetime.fromisoformat(at), int(p)) for at, p in row.pending or []],
        next_expiry=(datetime.fromisoformat(expiry[0]), int(expiry[1])) if expiry else None,
        status=[(datetime.fromisoformat(at), int(p)) for at, p in row.status or []],
        history=[entry_from_json(raw) for raw in row.history or []],
    )


# ---- history and the export ------------------------------------------------------------------


async def history(
    conn: AsyncConnection, member: UUID, *, first: int, before_seq: int | None
) -> list[EntryRow]:
    stmt = (
        sa.select(journal_entries)
        .where(of_member(journal_entries.c.member_id, member))
        .order_by(journal_entries.c.seq.desc())
        .limit(first)
    )
    if before_seq is not None:
        stmt = stmt.where(journal_entries.c.seq < before_seq)
    return [entry_row(r) for r in await conn.execute(stmt)]


async def events_about(
    conn: AsyncConnection, member_ids: Sequence[UUID]
) -> list[contract.IdentityEvent]:
    keys = [str(m) for m in member_ids]
    rows = await conn.execute(
        sa.select(inbox)
        .where(
            sa.or_(
                inbox.c.payload["member_id"].astext.in_(keys),
                inbox.c.payload["absorbed_id"].astext.in_(keys),
                inbox.c.payload["survivor_id"].astext.in_(keys),
            )
        )
        .order_by(inbox.c.occurred_at)
    )
    return [
        contract.IdentityEvent(
            event_id=r.event_id, type=r.type, occurred_at=r.occurred_at, payload=r.payload
        )
        for r in rows
    ]


async def member_ids(conn: AsyncConnection, member_id: UUID) -> list[UUID]:
    """The member and every member merged into them: their history is one history."""
    absorbed = await conn.scalars(
        sa.select(members.c.member_id).where(members.c.merged_into == member_id)
    )
    return [member_id, *absorbed]


# ---- programme figures -----------------------------------------------------------------------


async def programme_movements(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """Sums of the postings on programme accounts by (account kind, entry kind)."""
    rows = await conn.execute(
        sa.select(accounts.c.kind, journal_entries.c.kind, sa.func.sum(postings.c.delta))
        .select_from(
            postings.join(accounts, accounts.c.id == postings.c.account_id).join(
                journal_entries, journal_entries.c.id == postings.c.entry_id
            )
        )
        .where(accounts.c.member_id.is_(None))
        .group_by(accounts.c.kind, journal_entries.c.kind)
    )
    return {(a, e): int(s) for a, e, s in rows}


# ---- merges ----------------------------------------------------------------------------------


async def record_merge(conn: AsyncConnection, *, absorbed: UUID, survivor: UUID) -> None:
    await conn.execute(
        sa.update(members).where(members.c.merged_into == absorbed).values(merged_into=survivor)
    )
    await conn.execute(
        sa.update(members).where(members.c.member_id == absorbed).values(merged_into=survivor)
    )
    await conn.execute(
        sa.update(lots).where(lots.c.member_id == absorbed).values(member_id=survivor)
    )


async def is_merged(conn: AsyncConnection, member_id: UUID) -> bool:
    return (
        await conn.scalar(sa.select(members.c.merged_into).where(members.c.member_id == member_id))
    ) is not None
