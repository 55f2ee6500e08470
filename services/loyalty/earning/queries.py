"""The SQL of earning: the earn path (read without a lock, write in one guarded statement), and
what reversals and the points job read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import ledger
from services.loyalty.journal.queries import Balances, EntryRow, LineRow, entry_row, lot_of
from services.loyalty.tables import award_lines, journal_entries, lots

# ---- the earn path: read without a lock, write in one guarded statement -----------------------

_EARN_CONTEXT = sa.text(
    """
    SELECT m.merged_into, m.version, m.erased_at,
           (SELECT e.id FROM loyalty.journal_entries e
             WHERE e.source = :source AND e.external_id = :external_id) AS existing,
           (SELECT coalesce(max(r.version), 0) FROM loyalty.rule_sets r) AS latest,
           (SELECT json_object_agg(a.kind, json_build_array(a.id, a.balance))
              FROM loyalty.accounts a WHERE a.member_id = :member) AS accounts,
           CASE WHEN :need_status THEN (
               SELECT json_agg(json_build_array(s.at, s.points) ORDER BY s.at)
                 FROM (SELECT max(l.occurred_at) AS at, sum(l.points) AS points
                         FROM loyalty.award_lines l
                        WHERE l.member_id IN (SELECT CAST(:member AS uuid) UNION ALL
                                SELECT x.member_id FROM loyalty.members x WHERE x.merged_into = :member)
                          AND l.counts_for_status AND l.occurred_at > :since
                          AND l.occurred_at <= :until
                        GROUP BY l.local_day) AS s) END AS status,
           CASE WHEN :need_caps THEN (
               SELECT json_agg(json_build_array(c.rule_key, c.today, c.month))
                 FROM (SELECT l.rule_key,
                              coalesce(sum(l.points) FILTER (WHERE l.local_day = :day), 0) AS today,
                              sum(l.points) AS month
                         FROM loyalty.award_lines l
                        WHERE l.member_id IN (SELECT CAST(:member AS uuid) UNION ALL
                                SELECT x.member_id FROM loyalty.members x WHERE x.merged_into = :member)
                          AND l.rule_key = ANY(:keys)
                          AND l.local_day >= :month_start AND l.local_day < :month_end
                        GROUP BY l.rule_key) AS c) END AS caps,
           CASE WHEN :need_counts THEN (
               SELECT json_agg(json_build_array(p.trigger, p.category, p.n))
                 FROM (SELECT e.event ->> 'trigger' AS trigger, e.event ->> 'category' AS category,
                              count(*) AS n
                         FROM loyalty.journal_entries e
                        WHERE e.member_id IN (SELECT CAST(:member AS uuid) UNION ALL
                                SELECT x.member_id FROM loyalty.members x WHERE x.merged_into = :member)
                          AND e.kind = 'earn' AND e.occurred_at <= :until
                        GROUP BY 1, 2) AS p) END AS counts
      FROM loyalty.members m
     WHERE m.member_id = :member
    """
)


@dataclass(frozen=True, slots=True)
class EarnContext:
    """What an earn reads about a member, all from one snapshot."""

    merged_into: UUID | None
    version: int
    erased_at: datetime | None
    existing: UUID | None
    latest_rule_set: int
    balances: Balances | None  # None until the member's accounts exist
    status: list[tuple[datetime, int]]
    awarded_today: dict[str, int]
    awarded_this_month: dict[str, int]
    prior_counts: dict[str, int]


async def earn_context(
    conn: AsyncConnection,
    member: UUID,
    *,
    source: str,
    external_id: str,
    status_window: tuple[datetime, datetime] | None,
    capped: Sequence[str],
    day: date,
    month: tuple[date, date],
    counts_until: datetime | None,
) -> EarnContext | None:
    """The member's state for an earn, in one statement; ``None`` if loyalty has never seen them."""
    since, until = status_window or (counts_until, counts_until)
    row = (
        await conn.execute(
            _EARN_CONTEXT,
            {
                "member": member,
                "source": source,
                "external_id": external_id,
                "need_status": status_window is not None,
                "since": since,
                "until": until if status_window else counts_until,
                "need_caps": bool(capped),
                "keys": list(capped),
                "day": day,
                "month_start": month[0],
                "month_end": month[1],
                "need_counts": counts_until is not None,
            },
        )
    ).first()
    if row is None:
        return None
    accounts_json = row.accounts or {}
    balances = None
    if "available" in accounts_json and "pending" in accounts_json:
        (available_id, available), (pending_id, pending) = (
            accounts_json["available"],
            accounts_json["pending"],
        )
        balances = Balances(available_id, pending_id, available, pending)
    counts: dict[str, int] = {}
    for trigger, category, n in row.counts or []:
        counts[trigger] = counts.get(trigger, 0) + n
        if category is not None:
            counts[f"{trigger}:{category}"] = counts.get(f"{trigger}:{category}", 0) + n
    return EarnContext(
        merged_into=row.merged_into,
        version=row.version,
        erased_at=row.erased_at,
        existing=row.existing,
        latest_rule_set=int(row.latest),
        balances=balances,
        status=[(datetime.fromisoformat(at), int(points)) for at, points in row.status or []],
        awarded_today={key: int(today) for key, today, _ in row.caps or []},
        awarded_this_month={key: int(in_month) for key, _, in_month in row.caps or []},
        prior_counts=counts,
    )


async def lock_member_row(conn: AsyncConnection, member: UUID) -> None:
    """Hold the member's row until the transaction ends (the path for busy members)."""
    await conn.execute(
        sa.text("SELECT 1 FROM loyalty.members WHERE member_id = :member FOR UPDATE"),
        {"member": member},
    )


_WRITE_EARN = sa.text(
    """
    WITH guard AS (
        UPDATE loyalty.members SET version = version + 1
         WHERE member_id = :member AND version = :version AND merged_into IS NULL
        RETURNING member_id
    ), entry AS (
        INSERT INTO loyalty.journal_entries
            (id, kind, source, external_id, member_id, points, occurred_at, actor, rule_version,
             event, explanation, request_hash, production_id)
        SELECT :id, 'earn', :source, :external_id, :member, :points, :occurred_at, :actor,
               :rule_version, CAST(:event AS jsonb), CAST(:explanation AS jsonb), :request_hash,
               :production_id
          FROM guard
        ON CONFLICT (source, external_id) DO NOTHING
        RETURNING *
    ), moves AS (
        INSERT INTO loyalty.postings (entry_id, account_id, delta)
        SELECT entry.id, p.account_id, p.delta
          FROM entry,
               unnest(CAST(:accounts AS bigint[]), CAST(:deltas AS int[])) AS p(account_id, delta)
    ), lines AS (
        INSERT INTO loyalty.award_lines
            (entry_id, line_no, member_id, rule_key, rule_version, points, occurred_at, local_day,
             counts_for_status)
        SELECT entry.id, l.n - 1, :member, l.k, :rule_version, l.pts, :occurred_at, :local_day, l.st
          FROM entry,
               unnest(CAST(:line_keys AS text[]), CAST(:line_points AS int[]),
                      CAST(:line_status AS boolean[])) WITH ORDINALITY AS l(k, pts, st, n)
    ), new_lots AS (
        INSERT INTO loyalty.lots
            (id, member_id, entry_id, points, remaining, earned_at, available_at, released,
             expires_at)
        SELECT gen_random_uuid(), :member, entry.id, t.pts, t.pts, :occurred_at, t.av, t.rel,
               :expires_at
          FROM entry,
               unnest(CAST(:lot_points AS int[]), CAST(:lot_available AS timestamptz[]),
                      CAST(:lot_released AS boolean[])) AS t(pts, av, rel)
    )
    SELECT * FROM entry
    """
)


async def write_earn(
    conn: AsyncConnection,
    *,
    member: UUID,
    version: int,
    source: str,
    external_id: str,
    occurred_at: datetime,
    local_day: date,
    actor: str,
    rule_version: int,
    event: dict[str, Any],
    explanation: dict[str, Any],
    request_hash: str,
    postings: Sequence[tuple[int, int]],
    lines: Sequence[tuple[str, int, bool]],
    new_lots: Sequence[ledger.NewLot],
) -> EntryRow | None:
    """The whole earn in one statement (entry, postings, award lines, lots), written only if the
    member is still at ``version``; ``None`` if they changed meanwhile or the earn exists."""

    row = (
        await conn.execute(
            _WRITE_EARN,
            {
                "id": uuid.uuid4(),
                "version": version,
                "source": source,
                "external_id": external_id,
                "member": member,
                "points": sum(lot.points for lot in new_lots),
                "occurred_at": occurred_at,
                "actor": actor,
                "rule_version": rule_version,
                "event": json.dumps(event),
                "explanation": json.dumps(explanation),
                "request_hash": request_hash,
                "production_id": event.get("production_id"),
                "accounts": [a for a, _ in postings],
                "deltas": [d for _, d in postings],
                "line_keys": [k for k, _, _ in lines],
                "line_points": [p for _, p, _ in lines],
                "line_status": [s for _, _, s in lines],
                "local_day": local_day,
                "lot_points": [lot.points for lot in new_lots],
                "lot_available": [lot.available_at for lot in new_lots],
                "lot_released": [lot.released for lot in new_lots],
                "expires_at": new_lots[0].expires_at if new_lots else None,
            },
        )
    ).first()
    return entry_row(row) if row is not None else None


# ---- reversals -------------------------------------------------------------------------------


async def reversal_of(conn: AsyncConnection, entry_id: UUID) -> EntryRow | None:
    row = (
        await conn.execute(
            sa.select(journal_entries).where(journal_entries.c.reverses_entry_id == entry_id)
        )
    ).first()
    return entry_row(row) if row else None


async def lines_of(conn: AsyncConnection, entry_id: UUID) -> list[LineRow]:
    rows = await conn.execute(
        sa.select(award_lines)
        .where(award_lines.c.entry_id == entry_id)
        .order_by(award_lines.c.line_no)
    )
    return [
        LineRow(
            r.rule_key, r.rule_version, r.points, r.occurred_at, r.local_day, r.counts_for_status
        )
        for r in rows
    ]


async def lots_of_entry(conn: AsyncConnection, entry_id: UUID) -> list[ledger.Lot]:
    rows = await conn.execute(sa.select(lots).where(lots.c.entry_id == entry_id))
    return [lot_of(r) for r in rows]


# ---- the points job --------------------------------------------------------------------------


async def members_with_due_lots(conn: AsyncConnection, now: datetime, limit: int) -> list[UUID]:
    due = sa.or_(
        sa.and_(~lots.c.released, lots.c.remaining > 0, lots.c.available_at <= now),
        sa.and_(lots.c.remaining > 0, lots.c.expires_at <= now),
    )
    rows = await conn.scalars(sa.select(lots.c.member_id).where(due).distinct().limit(limit))
    return list(rows)
