"""What referrals need while the loyalty app runs: the share links' base, the webhooks' HTTP
client and retry policy, and (with the app's jobs) the referrals job in the background."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from services.common.settings import Settings
from services.common.tasks import stop_task
from services.loyalty.referrals.backoff import RetryPolicy
from services.loyalty.referrals.effects import run_referral_jobs_every


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        first_delay=timedelta(seconds=settings.webhook_first_retry_seconds),
        max_delay=timedelta(seconds=settings.webhook_max_retry_seconds),
        give_up_after=timedelta(seconds=settings.webhook_give_up_after_seconds),
        max_attempts=settings.webhook_max_attempts,
    )


async def open_referrals(
    app: Starlette,
    stack: contextlib.AsyncExitStack,
    engine: AsyncEngine,
    settings: Settings,
    *,
    run_jobs: bool,
) -> None:
    """Put referrals' resources on ``app.state``; closed by ``stack`` when the app stops."""
    app.state.referral_link_base = settings.referral_link_base
    app.state.retry_policy = retry_policy(settings)
    client = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
    stack.push_async_callback(client.aclose)
    app.state.webhook_client = client
    if run_jobs:
        task = asyncio.create_task(
            run_referral_jobs_every(
                engine,
                app.state.rule_book,
                client,
                app.state.retry_policy,
                settings.referrals_job_interval_seconds,
            ),
            name="loyalty-referrals-jobs",
        )
        stack.push_async_callback(stop_task, task)
