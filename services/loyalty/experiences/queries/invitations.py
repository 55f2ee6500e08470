"""The SQL of experiences and invitations. Every change to seats happens under the experience's
row lock (``experience(..., lock=True)``), and moves the experience's counters in step."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.db import batches
from services.loyalty.experiences.tables import experiences, invitation_guests, invitations

Row = sa.Row[Any]
LIVE = ("offered", "waitlisted", "accepted")

# ---- experiences -----------------------------------------------------------------------------


async def insert_experience(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert unless the key is taken; ``False`` when it was."""
    stmt = (
        insert(experiences)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[experiences.c.key])
        .returning(experiences.c.id)
    )
    return (await conn.execute(stmt)).first() is not None


async def experience(
    conn: AsyncConnection, experience_id: UUID, *, lock: bool = False
) -> Row | None:
    stmt = sa.select(experiences).where(experiences.c.id == experience_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def experience_by_key(conn: AsyncConnection, key: str) -> Row | None:
    return (await conn.execute(sa.select(experiences).where(experiences.c.key == key))).first()


async def list_experiences(
    conn: AsyncConnection, *, venue_ids: Iterable[UUID] | None, ending_after: datetime | None
) -> list[Row]:
    """Experiences, soonest first; ``venue_ids`` None: every venue."""
    stmt = sa.select(experiences).order_by(experiences.c.starts_at, experiences.c.id)
    if venue_ids is not None:
        stmt = stmt.where(experiences.c.venue_id.in_(list(venue_ids)))
    if ending_after is not None:
        stmt = stmt.where(experiences.c.ends_at > ending_after)
    return list(await conn.execute(stmt))


async def update_experience(
    conn: AsyncConnection, experience_id: UUID, values: dict[str, Any]
) -> None:
    await conn.execute(
        experiences.update()
        .where(experiences.c.id == experience_id)
        .values(**values, updated_at=sa.func.now())
    )


async def move_counters(
    conn: AsyncConnection, experience_id: UUID, *, taken: int, waiting: int
) -> None:
    """Move the seats taken and the waitlist's length (the database refuses more than seats)."""
    if taken or waiting:
        await conn.execute(
            experiences.update()
            .where(experiences.c.id == experience_id)
            .values(
                seats_taken=experiences.c.seats_taken + taken,
                waitlisted=experiences.c.waitlisted + waiting,
            )
        )


# ---- invitations -----------------------------------------------------------------------------


async def insert_invitations(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert invitations; the codes that were already taken (a collision of random codes) come
    back, and those rows are not inserted."""
    written: set[str] = set()
    for batch in batches(rows, len(invitations.c)):
        stmt = (
            insert(invitations)
            .values(list(batch))
            .on_conflict_do_nothing(index_elements=[invitations.c.code])
            .returning(invitations.c.code)
        )
        written.update((await conn.scalars(stmt)).all())
    return {r["code"] for r in rows} - written


async def invitation(
    conn: AsyncConnection, invitation_id: UUID, *, lock: bool = False
) -> Row | None:
    stmt = sa.select(invitations).where(invitations.c.id == invitation_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def invitation_by_code(conn: AsyncConnection, code: str, *, lock: bool = False) -> Row | None:
    stmt = sa.select(invitations).where(invitations.c.code == code)
    if lock:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()


async def invitations_of(conn: AsyncConnection, member_ids: Sequence[UUID]) -> list[Row]:
    """A member's invitations (and those of members merged into them), newest offer first."""
    stmt = (
        sa.select(invitations)
        .where(invitations.c.member_id.in_(list(member_ids)))
        .order_by(invitations.c.offered_at.desc(), invitations.c.id)
    )
    return list(await conn.execute(stmt))


async def experiences_by_id(conn: AsyncConnection, ids: Iterable[UUID]) -> dict[UUID, Row]:
    rows = await conn.execute(sa.select(experiences).where(experiences.c.id.in_(list(set(ids)))))
    return {r.id: r for r in rows}


async def live_invitations(conn: AsyncConnection, experience_id: UUID) -> list[Row]:
    stmt = (
        sa.select(invitations)
        .where(invitations.c.experience_id == experience_id, invitations.c.state.in_(LIVE))
        .order_by(invitations.c.offered_at, invitations.c.id)
    )
    return list(await conn.execute(stmt))


async def waitlist(conn: AsyncConnection, experience_id: UUID) -> list[Row]:
    stmt = (
        sa.select(invitations)
        .where(invitations.c.experience_id == experience_id, invitations.c.state == "waitlisted")
        .order_by(invitations.c.queued_at, invitations.c.id)
    )
    return list(await conn.execute(stmt))


async def last_queued_at(conn: AsyncConnection, experience_id: UUID) -> datetime | None:
    """When the last member still waiting joined the waitlist."""
    last: datetime | None = await conn.scalar(
        sa.select(sa.func.max(invitations.c.queued_at)).where(
            invitations.c.experience_id == experience_id, invitations.c.state == "waitlisted"
        )
    )
    return last


async def waitlist_positions(conn: AsyncConnection, ids: Sequence[UUID]) -> dict[UUID, int]:
    """Each waitlisted invitation's place in its experience's line, 1 for the first."""
    if not ids:
        return {}
    ranked = (
        sa.select(
            invitations.c.id,
            sa.func.row_number()
            .over(
                partition_by=invitations.c.experience_id,
                order_by=(invitations.c.queued_at, invitations.c.id),
            )
            .label("place"),
        )
        .where(
            invitations.c.state == "waitlisted",
            invitations.c.experience_id.in_(
                sa.select(invitations.c.experience_id).where(invitations.c.id.in_(list(ids)))
            ),
        )
        .subquery()
    )
    rows = await conn.execute(sa.select(ranked).where(ranked.c.id.in_(list(ids))))
    return {r.id: int(r.place) for r in rows}


async def save_invitation(
    conn: AsyncConnection, invitation_id: UUID, expected_state: str, values: dict[str, Any]
) -> bool:
    """Write an invitation's new state if it is still in ``expected_state``."""
    result = await conn.execute(
        invitations.update()
        .where(invitations.c.id == invitation_id, invitations.c.state == expected_state)
        .values(**values)
    )
    return bool(result.rowcount)


async def rate(
    conn: AsyncConnection, invitation_id: UUID, *, score: int, comment: str | None, at: datetime
) -> bool:
    """Record the rating once: ``False`` if it was rated meanwhile or not checked in."""
    result = await conn.execute(
        invitations.update()
        .where(
            invitations.c.id == invitation_id,
            invitations.c.state == "checked_in",
            invitations.c.rating.is_(None),
        )
        .values(rating=score, comment=comment, rated_at=at)
    )
    return bool(result.rowcount)


async def record_attendance_earn(
    conn: AsyncConnection, invitation_id: UUID, *, entry_id: UUID, points: int
) -> None:
    await conn.execute(
        invitations.update()
        .where(invitations.c.id == invitation_id)
        .values(earn_entry_id=entry_id, earn_points=points)
    )


# ---- guests ----------------------------------------------------------------------------------


async def replace_guests(
    conn: AsyncConnection, invitation_id: UUID, guests: Sequence[tuple[str, str | None, str | None]]
) -> None:
    await conn.execute(
        invitation_guests.delete().where(invitation_guests.c.invitation_id == invitation_id)
    )
    if guests:
        await conn.execute(
            invitation_guests.insert(),
            [
                {
                    "invitation_id": invitation_id,
                    "position": n,
                    "name": name,
                    "email": email,
                    "phone": phone,
                }
                for n, (name, email, phone) in enumerate(guests)
            ],
        )


async def guests_of(conn: AsyncConnection, ids: Sequence[UUID]) -> dict[UUID, list[Row]]:
    found: dict[UUID, list[Row]] = {i: [] for i in ids}
    if ids:
        rows = await conn.execute(
            sa.select(invitation_guests)
            .where(invitation_guests.c.invitation_id.in_(list(ids)))
            .order_by(invitation_guests.c.invitation_id, invitation_guests.c.position)
        )
        for r in rows:
            found[r.invitation_id].append(r)
    return found


# ---- what the jobs find ----------------------------------------------------------------------

_DUE = sa.text(
    """
    SELECT DISTINCT i.experience_id
      FROM loyalty.invitations i JOIN loyalty.experiences e ON e.id = i.experience_id
     WHERE (i.state = 'offered' AND e.invitations_close_at <= :now)
        OR (i.state = 'waitlisted' AND e.starts_at <= :now)
        OR (i.state = 'accepted'
            AND e.starts_at + make_interval(secs => e.door_closes_after_s) <= :now)
     LIMIT :limit
    """
)


async def experiences_with_due_invitations(
    conn: AsyncConnection, now: datetime, limit: int
) -> list[UUID]:
    """Experiences with offers past the window, waitlist places past the start, or seats not
    taken by the time the door closed."""
    return list(await conn.scalars(_DUE, {"now": now, "limit": limit}))


async def invitations_of_experience(conn: AsyncConnection, experience_id: UUID) -> list[Row]:
    stmt = (
        sa.select(invitations)
        .where(invitations.c.experience_id == experience_id)
        .order_by(invitations.c.offered_at, invitations.c.id)
    )
    return list(await conn.execute(stmt))


async def check_ins_without_earn(conn: AsyncConnection, before: datetime, limit: int) -> list[UUID]:
    stmt = (
        sa.select(invitations.c.id)
        .where(
            invitations.c.state == "checked_in",
            invitations.c.earn_entry_id.is_(None),
            invitations.c.checked_in_at <= before,
        )
        .order_by(invitations.c.checked_in_at)
        .limit(limit)
    )
    return list(await conn.scalars(stmt))
