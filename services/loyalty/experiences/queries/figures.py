"""The SQL behind the figures: invitations as they stand and suppressions by first reason, per
experience (the arithmetic is ``figures``')."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.experiences.tables import invitations, suppressions

Row = sa.Row[Any]


async def invitations_for(conn: AsyncConnection, experience_ids: Sequence[UUID]) -> list[Row]:
    stmt = sa.select(
        invitations.c.experience_id,
        invitations.c.state,
        invitations.c.accepted_at,
        invitations.c.guests,
        invitations.c.guests_checked_in,
        invitations.c.rating,
    ).where(invitations.c.experience_id.in_(list(experience_ids)))
    return list(await conn.execute(stmt))


async def suppressions_for(
    conn: AsyncConnection, experience_ids: Sequence[UUID]
) -> dict[UUID, dict[str, int]]:
    """Per experience, members spared counted by the first reason."""
    reason = suppressions.c.reasons[1]
    stmt = (
        sa.select(suppressions.c.experience_id, reason.label("reason"), sa.func.count())
        .where(suppressions.c.experience_id.in_(list(experience_ids)))
        .group_by(suppressions.c.experience_id, reason)
    )
    found: dict[UUID, dict[str, int]] = {}
    for experience_id, first, n in await conn.execute(stmt):
        found.setdefault(experience_id, {})[first] = int(n)
    return found
