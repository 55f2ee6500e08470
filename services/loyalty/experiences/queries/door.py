"""The SQL of the door: the key that signs door passes, the failed-guess throttle (counted in
the database, so it holds across replicas) and the append-only scan log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.experiences.tables import door_keys, door_scans, door_throttle

Row = sa.Row[Any]

# ---- signing keys ----------------------------------------------------------------------------


async def active_key(conn: AsyncConnection) -> Row | None:
    return (await conn.execute(sa.select(door_keys).where(door_keys.c.active))).first()


async def insert_key(
    conn: AsyncConnection, *, kid: str, private_key_sealed: bytes, public_jwk: dict[str, str]
) -> None:
    """Insert an active key, its private half sealed, unless another replica got there first
    (at most one is active)."""
    await conn.execute(
        insert(door_keys)
        .values(kid=kid, private_key_sealed=private_key_sealed, public_jwk=public_jwk, active=True)
        .on_conflict_do_nothing()
    )


async def public_keys(conn: AsyncConnection) -> list[dict[str, str]]:
    rows = await conn.execute(
        sa.select(door_keys.c.public_jwk).order_by(
            door_keys.c.active.desc(), door_keys.c.created_at.desc()
        )
    )
    return [dict(r.public_jwk) for r in rows]


# ---- throttle --------------------------------------------------------------------------------


async def lock_throttle(
    conn: AsyncConnection, staff_id: str, *, at: datetime, window: timedelta
) -> tuple[int, datetime]:
    """Lock the staff account's throttle until the transaction ends (a new window when the
    last one ended); ``(failures in the window, window start)``."""
    stmt = insert(door_throttle).values(staff_id=staff_id, window_started_at=at, failures=0)
    expired = door_throttle.c.window_started_at <= at - window
    upsert = stmt.on_conflict_do_update(
        index_elements=[door_throttle.c.staff_id],
        set_={
            "failures": sa.case((expired, 0), else_=door_throttle.c.failures),
            "window_started_at": sa.case((expired, at), else_=door_throttle.c.window_started_at),
        },
    ).returning(door_throttle.c.failures, door_throttle.c.window_started_at)
    row = (await conn.execute(upsert)).one()
    return int(row.failures), row.window_started_at


async def add_failure(conn: AsyncConnection, staff_id: str) -> None:
    await conn.execute(
        door_throttle.update()
        .where(door_throttle.c.staff_id == staff_id)
        .values(failures=door_throttle.c.failures + 1)
    )


# ---- scans -----------------------------------------------------------------------------------


async def log_scan(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Log a scan; ``False`` when the device already logged a scan with that id (nothing
    written)."""
    stmt = insert(door_scans).values(**values)
    if values.get("scan_id") is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[door_scans.c.device_id, door_scans.c.scan_id],
            index_where=door_scans.c.scan_id.is_not(None),
        )
    return (await conn.execute(stmt.returning(door_scans.c.id))).first() is not None


async def settled_scan(conn: AsyncConnection, device_id: str, scan_id: str) -> Row | None:
    stmt = sa.select(door_scans).where(
        door_scans.c.device_id == device_id, door_scans.c.scan_id == scan_id
    )
    return (await conn.execute(stmt)).first()


async def scans_of(conn: AsyncConnection, invitation_id: UUID) -> list[Row]:
    stmt = (
        sa.select(door_scans)
        .where(door_scans.c.invitation_id == invitation_id)
        .order_by(door_scans.c.id)
    )
    return list(await conn.execute(stmt))
