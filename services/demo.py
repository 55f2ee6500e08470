"""The demo programme seeded by ``loyalty serve`` and ``loyalty seed-demo``: once per database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine


async def seed_demo(engine: AsyncEngine) -> dict[str, Any]:
    """Seed identity's demo organisations, accounts and members, then loyalty's programme.

    Returns the demo credentials. A repeat call creates nothing new but issues a fresh partner
    API key, since keys are stored hashed and cannot be shown again.
    """
    from services.identity.seed import seed_demo_identity
    from services.loyalty.seed import demo_ids, seed_demo_loyalty

    credentials = await seed_demo_identity(engine)
    member_ids, venue_ids = demo_ids(credentials)
    await seed_demo_loyalty(engine, member_ids=member_ids, venue_ids=venue_ids)
    return credentials
