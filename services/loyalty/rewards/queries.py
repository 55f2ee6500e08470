"""The SQL of rewards: the catalogue, stock, redemptions, and the status points that decide a
member's tier for eligibility."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
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
