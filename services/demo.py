"""The demo programme seeded by ``loyalty serve`` and ``loyalty seed-demo``: once per database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine


async def seed_demo(engine: AsyncEngine) -> dict[str, Any]:
    """Seed identity's demo organisations, accounts and members (and loyalty's programme), once.

    Returns the demo credentials. A repeat call creates nothing new but issues a fresh partner
    API key, since keys are stored hashed and cannot be shown again.
    """
    from services.identity.seed import seed_demo_identity

    return await seed_demo_identity(engine)
