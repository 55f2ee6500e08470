"""The rewards catalogue: what is offered, and whether a member may have it."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden
from services.common.uow import UnitOfWork
from services.loyalty import contract, rules, tiers
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import now_or
from services.loyalty.rewards import queries
from services.loyalty.rulebook.book import RuleBook


def reward_view(
    row: queries.RewardRow,
    locale: Locale,
    *,
    eligible: bool | None = None,
    reason: str | None = None,
) -> contract.Reward:
    fr = locale is Locale.FR
    return contract.Reward(
        id=row.id,
        key=row.key,
        title=row.title_fr if fr else row.title_en,
        description=row.description_fr if fr else row.description_en,
        cost=row.cost,
        stock=row.stock,
        min_tier=row.min_tier,
        active=row.active,
        eligible=eligible,
        ineligible_reason=reason,
    )


def _tier_rank(rule_set: rules.RuleSet | None, key: str | None) -> int:
    if rule_set is None or key is None:
        return -1
    for n, tier in enumerate(rule_set.tiers):
        if tier.key == key:
            return n
    return len(rule_set.tiers)  # an unknown tier is out of reach


def eligibility(
    row: queries.RewardRow, rule_set: rules.RuleSet | None, tier: str | None, locale: Locale
) -> tuple[bool, str | None]:
    if not row.active:
        return False, "no longer offered" if locale is Locale.EN else "n'est plus proposée"
    if row.stock is not None and row.stock <= 0:
        return False, "out of stock" if locale is Locale.EN else "épuisée"
    if row.min_tier and _tier_rank(rule_set, tier) < _tier_rank(rule_set, row.min_tier):
        return False, (
            f"reserved for the {row.min_tier} tier and above"
            if locale is Locale.EN
            else f"réservée au niveau {row.min_tier} et au-delà"
        )
    return True, None


async def _status_entries(
    conn: AsyncConnection, member: UUID, rule_set: rules.RuleSet, at: datetime
) -> list[tiers.StatusEntry]:
    horizon = timedelta(days=rule_set.tier_window_days + rule_set.tier_grace_days)
    return [
        tiers.StatusEntry(when, points)
        for when, points in await queries.status_lines(conn, member, at - horizon, at)
    ]


async def current_tier(
    conn: AsyncConnection, book: RuleBook, member: UUID, now: datetime
) -> tuple[rules.RuleSet | None, str | None]:
    rule_set = await book.in_force(conn, now)
    if rule_set is None or not rule_set.tiers:
        return rule_set, None
    held = tiers.current_tier(rule_set, await _status_entries(conn, member, rule_set, now), now)
    return rule_set, held.key if held else None


async def list_rewards(
    engine: AsyncEngine,
    book: RuleBook,
    *,
    member_id: UUID | None,
    locale: Locale,
    now: datetime | None = None,
) -> list[contract.Reward]:
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        rows = await queries.list_rewards(uow.conn)
        if member_id is None:
            return [reward_view(r, locale) for r in rows]
        member = await journal.survivor(uow.conn, member_id)
        rule_set, tier = await current_tier(uow.conn, book, member, now)
    views = []
    for r in rows:
        eligible, reason = eligibility(r, rule_set, tier, locale)
        views.append(reward_view(r, locale, eligible=eligible, reason=reason))
    return views


async def create_reward(
    engine: AsyncEngine, actor: Actor, body: contract.CreateReward
) -> tuple[contract.Reward, bool]:
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only admins manage the rewards catalogue")
    async with UnitOfWork(engine) as uow:
        row, created = await queries.upsert_reward(uow.conn, body)
        await uow.commit()
    return reward_view(row, Locale.EN), created
