"""The SQL of what experiences know of members: contact preferences as identity's events told
them (a projection kept in order), and each member's history (status points, performances
booked and attended, invitations), with the history of members merged into them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.experiences.tables import member_contacts
from services.loyalty.tables import members

Row = sa.Row[Any]
IDS = ARRAY(PG_UUID(as_uuid=True))  # a list bound as one array: any number of members

# ---- the projection of contact preferences ---------------------------------------------------


async def apply_preferences(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    event_id: UUID,
    as_of: datetime,
    consents: Sequence[str],
    invitation_cap: int | None,
    quiet_hours: tuple[time, time, str] | None,
    interests: Sequence[str],
    locale: str | None,
) -> bool:
    """Keep the member's preferences if this event is newer than the last one applied (by
    ``occurred_at``, then event id) and the member was not erased; ``False`` when ignored."""
    start, end, zone = quiet_hours or (None, None, None)
    values = {
        "member_id": member_id,
        "consents": list(consents),
        "invitation_cap": invitation_cap,
        "quiet_start": start,
        "quiet_end": end,
        "quiet_timezone": zone,
        "interests": list(interests),
        "locale": locale,
        "as_of": as_of,
        "event_id": event_id,
    }
    stmt = insert(member_contacts).values(**values)
    update: dict[str, Any] = {
        k: stmt.excluded[k] for k in values if k not in ("member_id", "locale")
    }
    update["locale"] = sa.func.coalesce(stmt.excluded.locale, member_contacts.c.locale)
    newer = sa.tuple_(member_contacts.c.as_of, member_contacts.c.event_id) < sa.tuple_(
        stmt.excluded.as_of, stmt.excluded.event_id
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[member_contacts.c.member_id],
        set_=update,
        where=sa.and_(newer, ~member_contacts.c.erased),
    ).returning(member_contacts.c.member_id)
    return (await conn.execute(upsert)).first() is not None


async def mark_erased(
    conn: AsyncConnection, *, member_id: UUID, event_id: UUID, at: datetime
) -> None:
    """An erased member is never contacted again, whatever arrives later."""
    values = {
        "member_id": member_id,
        "consents": [],
        "interests": [],
        "as_of": at,
        "event_id": event_id,
        "erased": True,
    }
    stmt = insert(member_contacts).values(**values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[member_contacts.c.member_id],
            set_={
                "consents": [],
                "interests": [],
                "quiet_start": None,
                "quiet_end": None,
                "quiet_timezone": None,
                "erased": True,
            },
        )
    )


async def mark_merged(
    conn: AsyncConnection, *, absorbed: UUID, survivor: UUID, event_id: UUID, at: datetime
) -> None:
    """An absorbed member is no longer contacted: the survivor is."""
    stmt = insert(member_contacts).values(
        member_id=absorbed,
        consents=[],
        interests=[],
        as_of=at,
        event_id=event_id,
        merged_into=survivor,
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[member_contacts.c.member_id], set_={"merged_into": survivor}
        )
    )


async def contacts(conn: AsyncConnection, member_ids: Sequence[UUID]) -> dict[UUID, Row]:
    rows = await conn.execute(
        sa.select(member_contacts).where(
            member_contacts.c.member_id == sa.any_(sa.bindparam("ids", list(member_ids), IDS))
        )
    )
    return {r.member_id: r for r in rows}


# ---- candidates and their history ------------------------------------------------------------

_CANDIDATES = sa.text(
    """
    SELECT c.member_id FROM loyalty.member_contacts c
     WHERE NOT c.erased AND c.merged_into IS NULL
       AND NOT EXISTS (SELECT 1 FROM loyalty.members m
                        WHERE m.member_id = c.member_id AND m.merged_into IS NOT NULL)
    UNION
    SELECT m.member_id FROM loyalty.members m
     WHERE m.merged_into IS NULL
       AND NOT EXISTS (SELECT 1 FROM loyalty.member_contacts c WHERE c.member_id = m.member_id)
    """
)


async def candidates(conn: AsyncConnection) -> list[UUID]:
    """Every member the programme may consider: known from identity's events (not erased, not
    merged away) or from the ledger; in no particular order."""
    return sorted(await conn.scalars(_CANDIDATES))


async def member_ids(conn: AsyncConnection, member_id: UUID) -> list[UUID]:
    """The member (as the survivor of any merge) and every member merged into them."""
    survivor = (
        await conn.scalar(sa.select(members.c.merged_into).where(members.c.member_id == member_id))
    ) or member_id
    absorbed = await conn.scalars(
        sa.select(members.c.member_id).where(members.c.merged_into == survivor)
    )
    return [survivor, *absorbed]


_SURVIVOR = (
    "coalesce((SELECT m.merged_into FROM loyalty.members m WHERE m.member_id = {col}), {col})"
)

_STATUS = sa.text(
    """
    SELECT coalesce((SELECT m.merged_into FROM loyalty.members m
                      WHERE m.member_id = l.member_id), l.member_id) AS member_id,
           max(l.occurred_at) AS at, sum(l.points) AS points
      FROM loyalty.award_lines l
     WHERE l.counts_for_status AND l.occurred_at > :since AND l.occurred_at <= :until
       AND (CAST(:every AS boolean) OR l.member_id = ANY(:ids))
     GROUP BY 1, l.local_day
    """
)


async def status_entries(
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    member_ids: Sequence[UUID] | None = None,
) -> dict[UUID, list[tuple[datetime, int]]]:
    """Status points per survivor and local day, in ``(since, until]``, of every member or of
    ``member_ids`` (a survivor and the members merged into them)."""
    found: dict[UUID, list[tuple[datetime, int]]] = {}
    params = {"since": since, "until": until, "every": member_ids is None, "ids": member_ids or []}
    for r in await conn.execute(_STATUS, params):
        found.setdefault(r.member_id, []).append((r.at, int(r.points)))
    return found


_PERFORMANCES = sa.text(
    """
    SELECT coalesce((SELECT m.merged_into FROM loyalty.members m
                      WHERE m.member_id = e.member_id), e.member_id) AS member_id,
           e.event ->> 'trigger' AS trigger, e.production_id, e.occurred_at
      FROM loyalty.journal_entries e
     WHERE e.kind = 'earn'
       AND (e.event ->> 'trigger' = 'attendance' OR e.production_id IS NOT NULL)
       AND e.occurred_at <= :until
    """
)


async def performances(
    conn: AsyncConnection, until: datetime
) -> dict[UUID, list[tuple[str, str | None, datetime]]]:
    """Per survivor: ``(trigger, production, occurred_at)`` of every attendance and of every
    earn naming a production (a purchase naming one is a booking)."""
    found: dict[UUID, list[tuple[str, str | None, datetime]]] = {}
    for r in await conn.execute(_PERFORMANCES, {"until": until}):
        found.setdefault(r.member_id, []).append((r.trigger, r.production_id, r.occurred_at))
    return found


_INVITATIONS = sa.text(
    """
    SELECT coalesce((SELECT m.merged_into FROM loyalty.members m
                      WHERE m.member_id = i.member_id), i.member_id) AS member_id,
           i.experience_id, i.offered_at, i.state
      FROM loyalty.invitations i
    """
)


async def invitation_history(
    conn: AsyncConnection,
) -> dict[UUID, list[tuple[UUID, datetime, str]]]:
    """Per survivor: ``(experience, offered_at, state)`` of every invitation received."""
    found: dict[UUID, list[tuple[UUID, datetime, str]]] = {}
    for r in await conn.execute(_INVITATIONS):
        found.setdefault(r.member_id, []).append((r.experience_id, r.offered_at, r.state))
    return found
