"""The loyalty side of the demo programme: the rule set, a rewards catalogue, some history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import SYSTEM
from services.loyalty import contract
from services.loyalty.demo_rules import demo_rule_set_document
from services.loyalty.earning.earn import earn_points
from services.loyalty.rewards.admin import create_reward
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rulebook.use_cases import publish_rule_set

PROGRAMME_START = timedelta(days=365)

REWARDS = (
    contract.CreateReward(
        key="coffee",
        title_en="A coffee at the café",
        title_fr="Un café au bar du théâtre",
        description_en="One hot drink of your choice at the venue's café.",
        description_fr="Une boisson chaude au choix au café du lieu.",
        cost=150,
    ),
    contract.CreateReward(
        key="programme-book",
        title_en="Season programme book",
        title_fr="Livre-programme de la saison",
        description_en="The illustrated programme book of the current season.",
        description_fr="Le livre-programme illustré de la saison en cours.",
        cost=400,
        stock=200,
    ),
    contract.CreateReward(
        key="ticket-upgrade",
        title_en="Seat upgrade",
        title_fr="Surclassement de place",
        description_en="An upgrade to the best available category for one performance.",
        description_fr="Un surclassement dans la meilleure catégorie disponible pour une représentation.",
        cost=1200,
        stock=50,
    ),
    contract.CreateReward(
        key="backstage-tour",
        title_en="Backstage tour for two",
        title_fr="Visite des coulisses pour deux",
        description_en="A guided backstage tour for you and a guest.",
        description_fr="Une visite guidée des coulisses pour vous et un invité.",
        cost=2500,
        stock=10,
        min_tier="gold",
    ),
)


def _history(venue: UUID, now: datetime) -> list[tuple[str, contract.EarnEvent]]:
    """A few months of a regular's visits, relative to ``now``."""

    def ago(days: int, hour: int) -> datetime:
        return (now - timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)

    return [
        (
            "sub-1",
            contract.EarnEvent(
                trigger=contract.Trigger.SUBSCRIPTION, occurred_at=ago(120, 11), venue_id=venue
            ),
        ),
        (
            "tix-1",
            contract.EarnEvent(
                trigger=contract.Trigger.PURCHASE,
                occurred_at=ago(90, 12),
                amount=Decimal("64.00"),
                currency="EUR",
                category="ticket",
                venue_id=venue,
            ),
        ),
        (
            "att-1",
            contract.EarnEvent(
                trigger=contract.Trigger.ATTENDANCE,
                occurred_at=ago(75, 19),
                category="theatre",
                venue_id=venue,
            ),
        ),
        (
            "tix-2",
            contract.EarnEvent(
                trigger=contract.Trigger.PURCHASE,
                occurred_at=ago(40, 10),
                amount=Decimal("38.50"),
                currency="EUR",
                category="ticket",
                venue_id=venue,
            ),
        ),
        (
            "att-2",
            contract.EarnEvent(
                trigger=contract.Trigger.ATTENDANCE,
                occurred_at=ago(30, 14),
                category="music",
                venue_id=venue,
            ),
        ),
        (
            "cafe-1",
            contract.EarnEvent(
                trigger=contract.Trigger.PURCHASE,
                occurred_at=ago(2, 18),
                amount=Decimal("12.40"),
                currency="EUR",
                category="cafe",
                venue_id=venue,
            ),
        ),
    ]


async def seed_demo_loyalty(
    engine: AsyncEngine, *, member_ids: list[UUID], venue_ids: list[UUID]
) -> None:
    """Publish the demo rule set, stock the catalogue, and give the first members a history.

    Safe to run again: every write is keyed, so a second run changes nothing."""
    now = datetime.now(UTC)
    book = RuleBook()
    start = now - PROGRAMME_START
    # The programme opened a year ago: its first rule set is published as of that date.
    await publish_rule_set(
        engine,
        book,
        SYSTEM,
        contract.PublishRuleSet(
            document=demo_rule_set_document(start), idempotency_key="demo-rule-set-1"
        ),
        now=start,
    )
    for reward in REWARDS:
        await create_reward(engine, SYSTEM, reward)
    if not venue_ids:
        return
    for n, member_id in enumerate(member_ids[:2]):
        for key, event in _history(venue_ids[n % len(venue_ids)], now):
            await earn_points(
                engine,
                book,
                SYSTEM,
                contract.RecordEarn(
                    member_id=member_id, external_id=f"demo:{member_id}:{key}", event=event
                ),
                now=now,
            )


def demo_ids(credentials: dict[str, Any]) -> tuple[list[UUID], list[UUID]]:
    return (
        [UUID(m["memberId"]) for m in credentials["members"]],
        [UUID(s["venueId"]) for s in credentials["staff"]],
    )
