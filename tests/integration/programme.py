"""What the loyalty tests and the fault harness publish alike: the referral programme's rule set
(a point per euro of tickets, attendance, a referrer's reward and a referee's welcome), a rule
set in force since a year ago, and the coffee reward. Plain functions over an engine, no pytest
fixture, so that the fault harness, which runs the services as processes, uses them too."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import SYSTEM
from services.loyalty import contract
from services.loyalty.rewards.admin import create_reward
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rulebook.use_cases import publish_rule_set

#: What a converted referral earns the referrer, and what a referee's sign-up earns them.
REFERRAL_POINTS = 100
WELCOME_POINTS = 30
COFFEE_COST = 50


def referral_rules(
    effective_at: datetime, *, cap: int, qualifying_triggers: Sequence[str]
) -> dict[str, Any]:
    """A point per euro of tickets (rounded down), 25 for attendance, ``REFERRAL_POINTS`` for a
    converted referral and ``WELCOME_POINTS`` for a referee's sign-up; referrals attributed for
    30 days, at most ``cap`` rewarded per referrer in 30 days, converted by the first of
    ``qualifying_triggers``."""
    return {
        "effective_at": effective_at.isoformat(),
        "timezone": "Europe/Paris",
        "rules": [
            {
                "key": "tickets",
                "title_en": "Tickets",
                "title_fr": "Billets",
                "trigger": "purchase",
                "award": {"kind": "per_unit", "points": 1, "per": "1", "rounding": "down"},
            },
            {
                "key": "show",
                "title_en": "Attendance",
                "title_fr": "Présence",
                "trigger": "attendance",
                "award": {"kind": "fixed", "points": 25},
            },
            {
                "key": "bring-a-friend",
                "title_en": "Bring a friend",
                "title_fr": "Parrainer un proche",
                "trigger": "referral_converted",
                "award": {"kind": "fixed", "points": REFERRAL_POINTS},
            },
            {
                "key": "welcome-friend",
                "title_en": "Welcome, friend",
                "title_fr": "Bienvenue, ami",
                "trigger": "signup",
                "conditions": {"categories": ["referral"]},
                "award": {"kind": "fixed", "points": WELCOME_POINTS},
            },
        ],
        "referrals": {
            "attribution_window_days": 30,
            "cap": cap,
            "cap_period_days": 30,
            "consent_max_age_days": 365,
            "qualifying_triggers": list(qualifying_triggers),
        },
    }


async def publish_a_year_ago(
    engine: AsyncEngine, rules: Callable[[datetime], dict[str, Any]], *, idempotency_key: str
) -> contract.PublishedRuleSet:
    """Publish ``rules(effective_at)`` as the system, in force since a year ago (to the second),
    as if published then."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    return await publish_rule_set(
        engine,
        RuleBook(),
        SYSTEM,
        contract.PublishRuleSet(document=rules(start), idempotency_key=idempotency_key),
        now=start,
    )


async def create_coffee(engine: AsyncEngine, *, key: str, stock: int | None = None) -> uuid.UUID:
    """A coffee for ``COFFEE_COST`` points, ``stock`` of them (none: unlimited); its id."""
    reward, _ = await create_reward(
        engine,
        SYSTEM,
        contract.CreateReward(
            key=key,
            title_en="Coffee",
            title_fr="Café",
            description_en="A coffee.",
            description_fr="Un café.",
            cost=COFFEE_COST,
            stock=stock,
        ),
    )
    return reward.id
