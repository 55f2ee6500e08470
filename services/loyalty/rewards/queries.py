"""The SQL of rewards: the catalogue, stock, redemptions, and the status points that decide a
member's tier for eligibility."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty import contract
from services.loyalty.journal.queries import of_member
from services.loyalty.tables import redemptions, rewards

# ---- the catalogue ---------------------------------------------------------------------------


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
    per_member_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    retired_at: datetime | None
    request_hash: str | None


def _reward(row: sa.Row[Any]) -> RewardRow:
    return RewardRow(**row._mapping)


async def list_rewards(conn: AsyncConnection, *, now: datetime) -> list[RewardRow]:
    """The rewards on offer: not retired, and not past the end of their validity."""
    stmt = (
        sa.select(rewards)
        .where(
            rewards.c.active,
            sa.or_(rewards.c.valid_until.is_(None), rewards.c.valid_until > now),
        )
        .order_by(rewards.c.cost, rewards.c.key)
    )
    return [_reward(r) for r in await conn.execute(stmt)]


async def reward(
    conn: AsyncConnection, reward_id: UUID, *, for_update: bool = False
) -> RewardRow | None:
    stmt = sa.select(rewards).where(rewards.c.id == reward_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return _reward(row) if row else None


async def reward_by_key(conn: AsyncConnection, key: str) -> RewardRow | None:
    row = (await conn.execute(sa.select(rewards).where(rewards.c.key == key))).first()
    return _reward(row) if row else None


async def insert_reward(
    conn: AsyncConnection, body: contract.CreateReward, *, request_hash: str
) -> RewardRow | None:
    """Add the reward; ``None`` if its key was taken meanwhile."""
    row = (
        await conn.execute(
            insert(rewards)
            .values(id=uuid.uuid4(), request_hash=request_hash, **body.model_dump())
            .on_conflict_do_nothing(index_elements=[rewards.c.key])
            .returning(*rewards.c)
        )
    ).first()
    return _reward(row) if row is not None else None


async def update_reward(
    conn: AsyncConnection, reward_id: UUID, changes: dict[str, Any]
) -> RewardRow | None:
    """Change the fields given, unless the reward is retired; ``None`` if it is not there to
    change (unknown or retired)."""
    stmt = sa.update(rewards).where(rewards.c.id == reward_id, rewards.c.retired_at.is_(None))
    row = (await conn.execute(stmt.values(**changes).returning(*rewards.c))).first()
    return _reward(row) if row is not None else None


async def retire_reward(conn: AsyncConnection, reward_id: UUID, now: datetime) -> RewardRow | None:
    """Take the reward off the catalogue; ``None`` if it is unknown or already retired."""
    row = (
        await conn.execute(
            sa.update(rewards)
            .where(rewards.c.id == reward_id, rewards.c.retired_at.is_(None))
            .values(active=False, retired_at=now)
            .returning(*rewards.c)
        )
    ).first()
    return _reward(row) if row is not None else None


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


# ---- redemptions -----------------------------------------------------------------------------


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
        .where(of_member(redemptions.c.member_id, member))
        .order_by(redemptions.c.created_at)
    )
    return [RedemptionRow(**r._mapping) for r in rows]


async def times_redeemed(conn: AsyncConnection, member: UUID, reward_id: UUID) -> int:
    """How many times the member (and any member merged into them) redeemed the reward."""
    count = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(redemptions)
        .where(redemptions.c.reward_id == reward_id, of_member(redemptions.c.member_id, member))
    )
    return int(count or 0)


async def redemptions_by_reward(conn: AsyncConnection, member: UUID) -> dict[UUID, int]:
    """How many times the member (and any member merged into them) redeemed each reward."""
    rows = await conn.execute(
        sa.select(redemptions.c.reward_id, sa.func.count())
        .where(of_member(redemptions.c.member_id, member))
        .group_by(redemptions.c.reward_id)
    )
    return {reward_id: int(n) for reward_id, n in rows}


# ---- eligibility -----------------------------------------------------------------------------

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
