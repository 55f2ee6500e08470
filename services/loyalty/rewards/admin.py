"""Managing the catalogue (admins): create a reward, change it, retire it.

Creating is idempotent by the reward's key: the same request again gives back the same reward;
the same key with other content is refused. Changing sends only the fields that change. Retiring
takes the reward off the catalogue for good (vouchers already issued stay valid); retiring it
again answers the same. Every check that can fail has a stable code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, NotFound, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.journal.entries import now_or, request_hash
from services.loyalty.rewards import queries
from services.loyalty.rewards.catalogue import reward_view
from services.loyalty.rulebook.book import RuleBook


def _require_admin(actor: Actor) -> None:
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only admins manage the rewards catalogue")


def _check_window(
    valid_from: datetime | None, valid_until: datetime | None, *, until_set: bool, now: datetime
) -> None:
    """A window ends after it starts; a window being set now must end in the future."""
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise InvalidInput(
            "valid_until must be later than valid_from",
            code=ProblemCode.INVALID_VALIDITY_WINDOW,
            valid_from=valid_from.isoformat(),
            valid_until=valid_until.isoformat(),
        )
    if until_set and valid_until is not None and valid_until <= now:
        raise InvalidInput(
            "valid_until must be in the future",
            code=ProblemCode.INVALID_VALIDITY_WINDOW,
            valid_until=valid_until.isoformat(),
        )


async def _check_tier(conn: AsyncConnection, book: RuleBook, tier: str, now: datetime) -> None:
    """A reward's minimum tier is a tier of the rules in force, or of a version to come."""
    versions = await book.versions(conn)
    current = await book.in_force(conn, now)
    known = {
        t.key
        for p in versions
        if p.rule_set is current or p.rule_set.effective_at > now
        for t in p.rule_set.tiers
    }
    if tier not in known:
        raise InvalidInput(
            f"there is no tier {tier!r} in the rules in force or to come",
            code=ProblemCode.UNKNOWN_TIER,
            known=sorted(known),
        )


async def create_reward(
    engine: AsyncEngine,
    actor: Actor,
    body: contract.CreateReward,
    *,
    book: RuleBook | None = None,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> tuple[contract.Reward, bool]:
    """Add a reward to the catalogue, once per key; the reward, and whether it was created now."""
    _require_admin(actor)
    now = now_or(now)
    fingerprint = request_hash(body.model_dump(mode="json"))
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await queries.reward_by_key(conn, body.key)
        if row is None:
            _check_window(body.valid_from, body.valid_until, until_set=True, now=now)
            if body.min_tier is not None:
                await _check_tier(conn, book or RuleBook(), body.min_tier, now)
            row = await queries.insert_reward(conn, body, request_hash=fingerprint)
            if row is not None:
                await uow.commit()
                return reward_view(row, locale), True
            row = await queries.reward_by_key(conn, body.key)  # created meanwhile
            assert row is not None
    # Rewards created before requests were fingerprinted answer any request with their key.
    if row.request_hash is not None and row.request_hash != fingerprint:
        raise Problem(
            ProblemCode.REWARD_KEY_TAKEN,
            f"a reward with the key {body.key!r} already exists, with other content",
            reward_id=str(row.id),
        )
    return reward_view(row, locale), False


async def update_reward(
    engine: AsyncEngine,
    actor: Actor,
    reward_id: UUID,
    body: contract.UpdateReward,
    *,
    book: RuleBook | None = None,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Reward:
    """Change the fields sent; the rest stays as it is. A retired reward cannot be changed."""
    _require_admin(actor)
    now = now_or(now)
    changes = body.changes()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await queries.reward(conn, reward_id, for_update=True)
        if row is None:
            raise NotFound(ProblemCode.REWARD_NOT_FOUND, "no such reward")
        if row.retired_at is not None:
            raise Problem(
                ProblemCode.REWARD_RETIRED,
                "this reward is retired and can no longer be changed",
                retired_at=row.retired_at.isoformat(),
            )
        merged: dict[str, Any] = {
            "valid_from": row.valid_from,
            "valid_until": row.valid_until,
            **changes,
        }
        _check_window(
            merged["valid_from"],
            merged["valid_until"],
            until_set="valid_until" in changes,
            now=now,
        )
        if changes.get("min_tier") is not None:
            await _check_tier(conn, book or RuleBook(), changes["min_tier"], now)
        if changes:
            updated = await queries.update_reward(conn, reward_id, changes)
            assert updated is not None  # the row is locked, and was not retired
            row = updated
        await uow.commit()
    return reward_view(row, locale)


async def retire_reward(
    engine: AsyncEngine,
    actor: Actor,
    reward_id: UUID,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Reward:
    """Take the reward off the catalogue; retiring a retired reward answers the same."""
    _require_admin(actor)
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        row = await queries.retire_reward(uow.conn, reward_id, now)
        if row is None:
            row = await queries.reward(uow.conn, reward_id)
            if row is None:
                raise NotFound(ProblemCode.REWARD_NOT_FOUND, "no such reward")
        await uow.commit()
    return reward_view(row, locale)
