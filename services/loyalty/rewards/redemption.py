"""Redeeming a reward: never below zero, never beyond stock, once per key; a voucher in return."""

from __future__ import annotations

import secrets
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, NotFound, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract, ledger
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import (
    both,
    entry_view,
    ids_for,
    member_erased,
    now_or,
    points_en,
    points_fr,
    prepare_member,
    request_hash,
)
from services.loyalty.journal.settle import settle
from services.loyalty.rewards import queries
from services.loyalty.rewards.catalogue import (
    Ineligible,
    current_tier,
    ineligibility,
    reward_view,
)
from services.loyalty.rulebook.book import RuleBook

VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def voucher_code() -> str:
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _refusal(refused: Ineligible, reward: queries.RewardRow, redeemed: int) -> Problem:
    """The problem a refused redemption answers with: its code, and what a caller can act on."""
    if refused.code is ProblemCode.REWARD_NOT_YET_AVAILABLE:
        assert reward.valid_from is not None
        return Problem(
            refused.code,
            f"this reward can be redeemed from {reward.valid_from.isoformat()}",
            valid_from=reward.valid_from.isoformat(),
        )
    if refused.code is ProblemCode.REWARD_NO_LONGER_AVAILABLE:
        assert reward.valid_until is not None
        return Problem(
            refused.code,
            f"this reward could be redeemed until {reward.valid_until.isoformat()}",
            valid_until=reward.valid_until.isoformat(),
        )
    if refused.code is ProblemCode.OUT_OF_STOCK:
        return Problem(refused.code, "this reward is out of stock")
    if refused.code is ProblemCode.REDEMPTION_LIMIT_REACHED:
        assert reward.per_member_limit is not None
        return Problem(
            refused.code,
            f"this reward is limited to {reward.per_member_limit} per member, and this member "
            f"has redeemed it {redeemed} time{'s' if redeemed != 1 else ''}",
            limit=reward.per_member_limit,
            redeemed=redeemed,
        )
    return Problem(ProblemCode.NOT_ELIGIBLE, f"this reward is {refused.reason}")


async def redeem_reward(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.RedeemReward,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Redemption:
    """Spend points on a reward: never below zero, never beyond stock, once per key."""
    now = now_or(now)
    if actor.kind is ActorKind.MEMBER and actor.id != str(body.member_id):
        raise Forbidden(ProblemCode.FORBIDDEN, "members redeem for themselves only")
    if actor.kind not in (ActorKind.MEMBER, ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only members redeem rewards")
    source = "member"
    fingerprint = request_hash({"reward_id": str(body.reward_id)})
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member, prepared = await prepare_member(conn, body.member_id)
        external_id = f"{member}:{body.idempotency_key}"
        existing = await journal.entry_by_key(conn, source, external_id)
        if existing is None and await journal.erased(conn, member):
            raise member_erased(member)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise Problem(
                    ProblemCode.IDEMPOTENCY_KEY_REUSED,
                    "this idempotency key was already used for another reward",
                )
            return await _replayed_redemption(conn, existing, member, locale)
        reward = await queries.reward(conn, body.reward_id)
        if reward is None or not reward.active:
            raise NotFound(ProblemCode.REWARD_NOT_FOUND, "no such reward")
        rule_set, tier = await current_tier(conn, book, member, now)
        redeemed = await queries.times_redeemed(conn, member, reward.id)  # under the member's lock
        refused = ineligibility(reward, rule_set, tier, redeemed, locale, now)
        if refused is not None:
            raise _refusal(refused, reward, redeemed)
        account_ids = await ids_for(conn, {member: prepared})
        await settle(conn, member, account_ids, actor, now)
        try:
            takes = ledger.spend(await journal.open_lots(conn, member), reward.cost, now)
        except ledger.NotEnoughPoints as short:
            raise Problem(
                ProblemCode.NOT_ENOUGH_POINTS,
                f"this reward costs {short.needed} points; {short.available} are available",
                needed=short.needed,
                available=short.available,
            ) from None
        if reward.stock is not None and not await queries.take_stock(conn, reward.id):
            raise Problem(ProblemCode.OUT_OF_STOCK, "this reward is out of stock")
        row = await journal.write_entry(
            conn,
            ledger.redeem_entry(member, takes),
            account_ids=account_ids,
            member_id=member,
            source=source,
            external_id=external_id,
            occurred_at=now,
            actor=actor.label(),
            request_hash=fingerprint,
            explanation={
                "summary": both(
                    f"Redeemed {reward.title_en}: {points_en(-reward.cost)}",
                    f"Échange contre {reward.title_fr} : {points_fr(-reward.cost)}",
                ),
                "lines": [],
                "reward_id": str(reward.id),
            },
        )
        await journal.draw(conn, takes)
        redemption = await queries.insert_redemption(
            conn,
            entry_id=row.id,
            member_id=member,
            reward_id=reward.id,
            voucher_code=voucher_code(),
            cost=reward.cost,
        )
        balances = await journal.balances(conn, member)
        reward_after = await queries.reward(conn, reward.id)
        await uow.commit()
    assert balances is not None and reward_after is not None
    return _redemption_view(redemption, reward_after, row, balances, locale, created=True)


def _redemption_view(
    redemption: queries.RedemptionRow,
    reward: queries.RewardRow,
    entry: journal.EntryRow,
    balances: journal.Balances,
    locale: Locale,
    *,
    created: bool,
) -> contract.Redemption:
    return contract.Redemption(
        id=redemption.id,
        reward=reward_view(reward, locale),
        voucher_code=redemption.voucher_code,
        cost=redemption.cost,
        created_at=redemption.created_at,
        entry=entry_view(entry, locale),
        created=created,
        balance=balances.available,
    )


async def _replayed_redemption(
    conn: AsyncConnection, existing: journal.EntryRow, member: UUID, locale: Locale
) -> contract.Redemption:
    redemption = await queries.redemption_of_entry(conn, existing.id)
    assert redemption is not None
    reward = await queries.reward(conn, redemption.reward_id)
    balances = await journal.balances(conn, member)
    assert reward is not None and balances is not None
    return _redemption_view(redemption, reward, existing, balances, locale, created=False)
