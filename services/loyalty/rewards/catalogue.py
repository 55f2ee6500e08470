"""The rewards catalogue as members see it: what is offered, and whether a member may have it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
    redeemed_by_member: int | None = None,
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
        per_member_limit=row.per_member_limit,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        retired_at=row.retired_at,
        texts=contract.RewardTexts(
            title_en=row.title_en,
            title_fr=row.title_fr,
            description_en=row.description_en,
            description_fr=row.description_fr,
        ),
        redeemed_by_member=redeemed_by_member,
    )


@dataclass(frozen=True, slots=True)
class Ineligible:
    """Why a member may not have a reward now: a stable code, and the reason in their words."""

    code: ProblemCode
    reason: str


def _tier_rank(rule_set: rules.RuleSet | None, key: str | None) -> int:
    if rule_set is None or key is None:
        return -1
    for n, tier in enumerate(rule_set.tiers):
        if tier.key == key:
            return n
    return len(rule_set.tiers)  # an unknown tier is out of reach


def _local_day(at: datetime, rule_set: rules.RuleSet | None) -> str:
    zone = ZoneInfo(rule_set.timezone) if rule_set is not None else ZoneInfo("UTC")
    return at.astimezone(zone).date().isoformat()


def ineligibility(
    row: queries.RewardRow,
    rule_set: rules.RuleSet | None,
    tier: str | None,
    redeemed: int,
    locale: Locale,
    now: datetime,
) -> Ineligible | None:
    """The first reason, in this order, that the member may not redeem the reward at ``now``:
    retired, not yet valid, no longer valid, out of stock, their limit reached, their tier."""
    en = locale is Locale.EN
    if not row.active:
        return Ineligible(
            ProblemCode.REWARD_NOT_FOUND, "no longer offered" if en else "n'est plus proposée"
        )
    if row.valid_from is not None and now < row.valid_from:
        day = _local_day(row.valid_from, rule_set)
        return Ineligible(
            ProblemCode.REWARD_NOT_YET_AVAILABLE,
            f"available from {day}" if en else f"disponible à partir du {day}",
        )
    if row.valid_until is not None and now >= row.valid_until:
        return Ineligible(
            ProblemCode.REWARD_NO_LONGER_AVAILABLE,
            "no longer available" if en else "n'est plus disponible",
        )
    if row.stock is not None and row.stock <= 0:
        return Ineligible(ProblemCode.OUT_OF_STOCK, "out of stock" if en else "épuisée")
    if row.per_member_limit is not None and redeemed >= row.per_member_limit:
        limit = row.per_member_limit
        return Ineligible(
            ProblemCode.REDEMPTION_LIMIT_REACHED,
            f"limited to {limit} per member" if en else f"limitée à {limit} par membre",
        )
    if row.min_tier and _tier_rank(rule_set, tier) < _tier_rank(rule_set, row.min_tier):
        return Ineligible(
            ProblemCode.NOT_ELIGIBLE,
            f"reserved for the {row.min_tier} tier and above"
            if en
            else f"réservée au niveau {row.min_tier} et au-delà",
        )
    return None


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
    """The rewards on offer; for a member, with whether they may redeem each now, and why not."""
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        rows = await queries.list_rewards(uow.conn, now=now)
        if member_id is None:
            return [reward_view(r, locale) for r in rows]
        member = await journal.survivor(uow.conn, member_id)
        rule_set, tier = await current_tier(uow.conn, book, member, now)
        redeemed = await queries.redemptions_by_reward(uow.conn, member)
    views = []
    for r in rows:
        times = redeemed.get(r.id, 0)
        found = ineligibility(r, rule_set, tier, times, locale, now)
        views.append(
            reward_view(
                r,
                locale,
                eligible=found is None,
                reason=found.reason if found else None,
                redeemed_by_member=times,
            )
        )
    return views
