"""The SQL of referees: the hashing key (read once per process), the members of identifiers."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.tables import identifier_keys, identifiers, members

_KEYS: dict[str, bytes] = {}


async def identifier_key(conn: AsyncConnection) -> bytes:
    """The secret of the identifiers' keyed hashes (made by the migration; it never changes)."""
    where = conn.engine.url.render_as_string(hide_password=True)
    cached = _KEYS.get(where)
    if cached is None:
        found = await conn.scalar(sa.select(identifier_keys.c.key).where(identifier_keys.c.id == 1))
        if found is None:  # pragma: no cover - the migration makes it
            raise RuntimeError("identity has no identifier key: run the migrations")
        cached = _KEYS[where] = bytes(found)
    return cached


async def members_of(conn: AsyncConnection, wanted: Sequence[tuple[str, str]]) -> list[UUID]:
    """The members (survivors of merges) holding any of these ``(kind, value)`` identifiers."""
    if not wanted:
        return []
    owner = sa.func.coalesce(members.c.merged_into, members.c.id)
    rows = await conn.execute(
        sa.select(owner.label("member_id"))
        .select_from(identifiers.join(members, members.c.id == identifiers.c.member_id))
        .where(sa.tuple_(identifiers.c.kind, identifiers.c.value).in_(list(wanted)))
        .distinct()
        .order_by("member_id")
    )
    return [r.member_id for r in rows]
