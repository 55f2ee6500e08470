"""Performing what conversions decide, through the ledger, exactly once; and the referrals job.

Effects are queued by ``tracking`` in the transaction that decided them, then performed here:
right after that transaction by the request that caused it, and otherwise by the referrals job
(a crash in between loses nothing). A referral's effects are performed one after the other, and
each is idempotent on its own: the reward and the welcome are earns under external ids named
after the referral (``referral:<id>:referrer``, ``referral:<id>:referee``), and a reversal
takes back each of them at most once.

- the referrer's reward: an event of trigger ``referral_converted`` through the rules engine;
- the referee's welcome: an event of trigger ``signup`` in the category ``referral``, written
  only when the rule set in force awards something for it;
- a self-referral found out: both taken back through the ledger, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import random as random_module
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract
from services.loyalty.earning.award import simulate_earn
from services.loyalty.earning.earn import earn_points, source_of
from services.loyalty.earning.reversal import reverse_earn
from services.loyalty.journal import queries as journal
from services.loyalty.referrals import queries, webhooks
from services.loyalty.referrals.backoff import RetryPolicy
from services.loyalty.referrals.contract import JobReport
from services.loyalty.rulebook.book import RuleBook

log = structlog.get_logger(__name__)

REFERRALS = Actor(ActorKind.SYSTEM, "referrals")
LEASE = timedelta(minutes=1)
WELCOME_CATEGORY = "referral"
REVERSAL_REASON = "self-referral / auto-parrainage"
MAX_BATCH = 200


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


async def _earn(
    engine: AsyncEngine, book: RuleBook, payload: dict[str, Any], event: contract.EarnEvent
) -> None:
    body = contract.RecordEarn(
        member_id=UUID(payload["member_id"]), external_id=payload["external_id"], event=event
    )
    await earn_points(engine, book, REFERRALS, body)


async def _perform(engine: AsyncEngine, book: RuleBook, effect: queries.EffectRow) -> None:
    p = effect.payload
    if effect.kind == "reward_referrer":
        at = datetime.fromisoformat(p["at"])
        event = contract.EarnEvent(trigger=contract.Trigger.REFERRAL_CONVERTED, occurred_at=at)
        await _earn(engine, book, p, event)
    elif effect.kind == "welcome_referee":
        at = datetime.fromisoformat(p["at"])
        event = contract.EarnEvent(
            trigger=contract.Trigger.SIGNUP, occurred_at=at, category=WELCOME_CATEGORY
        )
        preview = await simulate_earn(
            engine, book, contract.SimulateEarn(member_id=UUID(p["member_id"]), event=event)
        )
        if preview.total > 0:
            await _earn(engine, book, p, event)
    else:
        await _reverse(engine, book, p["conversion"])


async def _reverse(engine: AsyncEngine, book: RuleBook, conversion: str) -> None:
    source = source_of(REFERRALS, None)
    for side in ("referrer", "referee"):
        external_id = f"{conversion}:{side}"
        async with UnitOfWork(engine) as uow:
            entry = await journal.entry_by_key(uow.conn, source, external_id)
        if entry is None:
            continue  # nothing was given (no welcome rule, say)
        body = contract.ReverseEarn(external_id=external_id, reason=REVERSAL_REASON)
        await reverse_earn(engine, book, REFERRALS, body)


async def perform_effects(
    engine: AsyncEngine,
    book: RuleBook,
    *,
    only: set[UUID] | None = None,
    now: datetime | None = None,
) -> int:
    """Perform the effects due (of the referrals ``only``, if given); how many were done."""
    done = 0
    for _ in range(MAX_BATCH):
        at = now or datetime.now(UTC)
        async with UnitOfWork(engine) as uow:
            effect = await queries.claim_effect(
                uow.conn, at, LEASE, None if only is None else sorted(only)
            )
            await uow.commit()
        if effect is None:
            break
        try:
            await _perform(engine, book, effect)
        except (Problem, LookupError) as exc:
            log.warning("referral effect failed", effect=effect.id, error=str(exc))
            async with UnitOfWork(engine) as uow:
                retry_at = at + _retry_delay(effect.attempts)
                await queries.fail_effect(uow.conn, effect.id, f"{exc}", retry_at)
                await uow.commit()
            continue
        async with UnitOfWork(engine) as uow:
            await queries.finish_effect(uow.conn, effect.id, datetime.now(UTC))
            await uow.commit()
        done += 1
    return done


async def run_referral_jobs(
    engine: AsyncEngine,
    book: RuleBook,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    *,
    random: webhooks.Random | None = None,
) -> JobReport:
    """One round: the effects left over, and the webhook deliveries due."""
    effects = await perform_effects(engine, book)
    sent = await webhooks.deliver_due(
        engine, client, policy, random=random or random_module.SystemRandom().random
    )
    return JobReport(effects=effects, deliveries=sent)


async def run_referral_jobs_every(
    engine: AsyncEngine,
    book: RuleBook,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    interval: float,
) -> None:
    """Every ``interval`` seconds, or at once when a delivery was queued on this engine."""
    signal = webhooks.wake_signal(engine)
    try:
        while True:
            signal.clear()
            try:
                report = await run_referral_jobs(engine, book, client, policy)
            except Exception:  # the job reports and carries on; it never takes the app down
                log.exception("referrals job failed")
                report = JobReport(effects=0, deliveries=0)
            if report.deliveries == webhooks.BATCH:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=interval)
    finally:
        webhooks.forget_signal(engine, signal)
