"""Every SQL statement of the loyalty service (SQLAlchemy Core, one connection per unit of work)."""

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

from services.loyalty import contract, ledger
from services.loyalty.tables import (
    accounts,
    award_lines,
    inbox,
    journal_entries,
    lots,
    members,
    postings,
    redemptions,
    rewards,
    rule_sets,
)

# ---- identity events -------------------------------------------------------------------------


async def record_event(conn: AsyncConnection, event: contract.IdentityEvent) -> bool:
    """Record an identity event once; ``False`` when it had already been received."""
    stmt = (
        insert(inbox)
        .values(
            event_id=event.event_id,
            type=event.type,
            payload=event.payload,
            occurred_at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.event_id])
        .returning(inbox.c.event_id)
    )
    return (await conn.execute(stmt)).first() is not None


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


# ---- rule sets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSetRow:
    version: int
    document: dict[str, Any]
    effective_at: datetime
    published_at: datetime
    published_by: str
    changes: list[dict[str, Any]]
    idempotency_key: str | None


async def latest_rule_set_version(conn: AsyncConnection) -> int:
    return int(
        await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(rule_sets.c.version), 0))) or 0
    )


async def rule_set_rows(conn: AsyncConnection) -> list[RuleSetRow]:
    rows = await conn.execute(sa.select(rule_sets).order_by(rule_sets.c.version))
    return [RuleSetRow(**r._mapping) for r in rows]


async def rule_set_by_key(conn: AsyncConnection, key: str) -> RuleSetRow | None:
    row = (
        await conn.execute(sa.select(rule_sets).where(rule_sets.c.idempotency_key == key))
    ).first()
    return RuleSetRow(**row._mapping) if row else None


async def lock_rule_sets(conn: AsyncConnection) -> None:
    """Serialise publishers: versions are consecutive, checked against the latest."""
    await conn.execute(sa.text("LOCK TABLE loyalty.rule_sets IN SHARE ROW EXCLUSIVE MODE"))


async def insert_rule_set(
    conn: AsyncConnection,
    *,
    version: int,
    document: dict[str, Any],
    effective_at: datetime,
    published_by: str,
    changes: list[dict[str, Any]],
    idempotency_key: str | None,
) -> RuleSetRow:
    row = (
        await conn.execute(
            insert(rule_sets)
            .values(
                version=version,
                document=document,
                effective_at=effective_at,
                published_by=published_by,
                changes=changes,
                idempotency_key=idempotency_key,
            )
            .returning(*rule_sets.c)
        )
    ).one()
    return RuleSetRow(**row._mapping)


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


async def member_ids(conn: AsyncConnection, member_id: UUID) -> list[UUID]:
    """The member and every member merged into them: their history is one history."""
    absorbed = await conn.scalars(
        sa.select(members.c.member_id).where(members.c.merged_into == member_id)
    )
    return [member_id, *absorbed]


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


async def programme_account_ids(conn: AsyncConnection) -> dict[ledger.AccountKind, int]:
    rows = await conn.execute(
        sa.select(accounts.c.kind, accounts.c.id).where(accounts.c.member_id.is_(None))
    )
    return {ledger.AccountKind(r.kind): r.id for r in rows}


def _of_member(column: sa.ColumnElement[Any], member: UUID) -> sa.ColumnElement[bool]:
    """``column`` names the member or a member merged into them: one history."""
    return sa.or_(
        column == member,
        column.in_(sa.select(members.c.member_id).where(members.c.merged_into == member)),
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


def _entry(row: sa.Row[Any]) -> EntryRow:
    return EntryRow(**row._mapping)


async def entry_by_key(conn: AsyncConnection, source: str, external_id: str) -> EntryRow | None:
    row = (
        await conn.execute(
            sa.select(journal_entries).where(
                journal_entries.c.source == source, journal_entries.c.external_id == external_id
            )
        )
    ).first()
    return _entry(row) if row else None


async def reversal_of(conn: AsyncConnection, entry_id: UUID) -> EntryRow | None:
    row = (
        await conn.execute(
            sa.select(journal_entries).where(journal_entries.c.reverses_entry_id == entry_id)
        )
    ).first()
    return _entry(row) if row else None


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
    return _entry(row)


async def history(
    conn: AsyncConnection, member: UUID, *, first: int, before_seq: int | None
) -> list[EntryRow]:
    stmt = (
        sa.select(journal_entries)
        .where(_of_member(journal_entries.c.member_id, member))
        .order_by(journal_entries.c.seq.desc())
        .limit(first)
    )
    if before_seq is not None:
        stmt = stmt.where(journal_entries.c.seq < before_seq)
    return [_entry(r) for r in await conn.execute(stmt)]


_STATUS_BY_DAY = sa.text(
    """
    SELECT max(l.occurred_at) AS at, sum(l.points) AS points
      FROM loyalty.award_lines l
     WHERE l.member_id IN
           (SELECT CAST(:member AS uuid) UNION ALL SELECT m.member_id FROM loyalty.members m WHERE m.merged_into = :member) AND l.counts_for_status
       AND l.occurred_at > :since AND l.occurred_at <= :until
     GROUP BY l.local_day
     ORDER BY 1
    """
)


async def status_lines(
    conn: AsyncConnection, member: UUID, since: datetime, until: datetime
) -> list[tuple[datetime, int]]:
    """Status points by day: each day's points count from that day's last earn, so they leave
    the rolling window together, never before any of them would."""
    rows = await conn.execute(_STATUS_BY_DAY, {"member": member, "since": since, "until": until})
    return [(at, int(points)) for at, points in rows]


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


# ---- lots ------------------------------------------------------------------------------------


def _lot(r: sa.Row[Any]) -> ledger.Lot:
    return ledger.Lot(r.id, r.remaining, r.earned_at, r.available_at, r.released, r.expires_at)


async def insert_lots(
    conn: AsyncConnection,
    member_id: UUID,
    entry_id: UUID,
    earned_at: datetime,
    new: Sequence[ledger.NewLot],
) -> None:
    if new:
        await conn.execute(
            insert(lots),
            [
                {
                    "id": uuid.uuid4(),
                    "member_id": member_id,
                    "entry_id": entry_id,
                    "points": lot.points,
                    "remaining": lot.points,
                    "earned_at": earned_at,
                    "available_at": lot.available_at,
                    "released": lot.released,
                    "expires_at": lot.expires_at,
                }
                for lot in new
            ],
        )


async def open_lots(conn: AsyncConnection, member_id: UUID) -> list[ledger.Lot]:
    """The member's lots with points left (the caller holds the member's account lock)."""
    rows = await conn.execute(
        sa.select(lots).where(lots.c.member_id == member_id, lots.c.remaining > 0)
    )
    return [_lot(r) for r in rows]


async def lots_of_entry(conn: AsyncConnection, entry_id: UUID) -> list[ledger.Lot]:
    rows = await conn.execute(sa.select(lots).where(lots.c.entry_id == entry_id))
    return [_lot(r) for r in rows]


async def draw(conn: AsyncConnection, takes: Iterable[ledger.Take]) -> None:
    for take in takes:
        await conn.execute(
            sa.update(lots)
            .where(lots.c.id == take.lot_id)
            .values(remaining=lots.c.remaining - take.points)
        )


async def mark_released(conn: AsyncConnection, lot_id: UUID) -> None:
    await conn.execute(sa.update(lots).where(lots.c.id == lot_id).values(released=True))


async def members_with_due_lots(conn: AsyncConnection, now: datetime, limit: int) -> list[UUID]:
    due = sa.or_(
        sa.and_(~lots.c.released, lots.c.remaining > 0, lots.c.available_at <= now),
        sa.and_(lots.c.remaining > 0, lots.c.expires_at <= now),
    )
    rows = await conn.scalars(sa.select(lots.c.member_id).where(due).distinct().limit(limit))
    return list(rows)


# ---- rewards and redemptions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RewardRow:
    id: UUID
    key: str
    title_en: str
    title_fr: str
    description_en: str
    description_fr: str
    cost: int
    stock: int | None
    min_tier: str | None
    active: bool
    created_at: datetime


async def list_rewards(conn: AsyncConnection, *, active_only: bool = True) -> list[RewardRow]:
    stmt = sa.select(rewards).order_by(rewards.c.cost, rewards.c.key)
    if active_only:
        stmt = stmt.where(rewards.c.active)
    return [RewardRow(**r._mapping) for r in await conn.execute(stmt)]


async def reward(conn: AsyncConnection, reward_id: UUID) -> RewardRow | None:
    row = (await conn.execute(sa.select(rewards).where(rewards.c.id == reward_id))).first()
    return RewardRow(**row._mapping) if row else None


async def upsert_reward(
    conn: AsyncConnection, body: contract.CreateReward
) -> tuple[RewardRow, bool]:
    values = body.model_dump()
    row = (
        await conn.execute(
            insert(rewards)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=[rewards.c.key])
            .returning(*rewards.c)
        )
    ).first()
    if row is not None:
        return RewardRow(**row._mapping), True
    existing = (await conn.execute(sa.select(rewards).where(rewards.c.key == body.key))).one()
    return RewardRow(**existing._mapping), False


async def take_stock(conn: AsyncConnection, reward_id: UUID) -> bool:
    """Take one item of a limited reward; ``False`` when none is left."""
    row = (
        await conn.execute(
            sa.update(rewards)
            .where(rewards.c.id == reward_id, rewards.c.stock > 0)
            .values(stock=rewards.c.stock - 1)
            .returning(rewards.c.id)
        )
    ).first()
    return row is not None


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    id: UUID
    entry_id: UUID
    member_id: UUID
    reward_id: UUID
    voucher_code: str
    cost: int
    created_at: datetime


async def insert_redemption(
    conn: AsyncConnection,
    *,
    entry_id: UUID,
    member_id: UUID,
    reward_id: UUID,
    voucher_code: str,
    cost: int,
) -> RedemptionRow:
    row = (
        await conn.execute(
            insert(redemptions)
            .values(
                id=uuid.uuid4(),
                entry_id=entry_id,
                member_id=member_id,
                reward_id=reward_id,
                voucher_code=voucher_code,
                cost=cost,
            )
            .returning(*redemptions.c)
        )
    ).one()
    return RedemptionRow(**row._mapping)


async def redemption_of_entry(conn: AsyncConnection, entry_id: UUID) -> RedemptionRow | None:
    row = (
        await conn.execute(sa.select(redemptions).where(redemptions.c.entry_id == entry_id))
    ).first()
    return RedemptionRow(**row._mapping) if row else None


async def redemptions_of(conn: AsyncConnection, member: UUID) -> list[RedemptionRow]:
    rows = await conn.execute(
        sa.select(redemptions)
        .where(_of_member(redemptions.c.member_id, member))
        .order_by(redemptions.c.created_at)
    )
    return [RedemptionRow(**r._mapping) for r in rows]


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


# ---- the earn path: read without a lock, write in one guarded statement -----------------------

_EARN_CONTEXT = sa.text(
    """
    SELECT m.merged_into, m.version,
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


async def bump_version(conn: AsyncConnection, *members_: UUID) -> None:
    """Record that what the members earn may have changed (a reversal, a merge)."""
    await conn.execute(
        sa.update(members)
        .where(members.c.member_id.in_(members_))
        .values(version=members.c.version + 1)
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
             event, explanation, request_hash)
        SELECT :id, 'earn', :source, :external_id, :member, :points, :occurred_at, :actor,
               :rule_version, CAST(:event AS jsonb), CAST(:explanation AS jsonb), :request_hash
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
    import json

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
    return _entry(row) if row is not None else None


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


def _entry_from_json(raw: dict[str, Any]) -> EntryRow:
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
        history=[_entry_from_json(raw) for raw in row.history or []],
    )
