"""Revocations' SQL: record one in the revoking transaction, read them in the order committed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.tables import revocations

CHANNEL = "identity_revocations"
# Revoking transactions take this lock before their revocation gets its id, so ids become
# visible in the order they were given: a reader past id n never misses a later commit of n - 1.
_ORDER_LOCK = 0x7265766F6B65  # "revoke"


async def record(
    conn: AsyncConnection,
    kind: contract.RevocationKind,
    subjects: Iterable[str],
    *,
    revoked_at: datetime,
    expires_at: datetime,
) -> None:
    """Record revocations and notify the listening replicas (PostgreSQL delivers the notice
    when the transaction commits, and drops it if it rolls back)."""
    values = [
        {"kind": kind.value, "subject": s, "revoked_at": revoked_at, "expires_at": expires_at}
        for s in subjects
    ]
    if not values:
        return
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_ORDER_LOCK)))
    await conn.execute(revocations.insert().values(values))
    await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
    expired = (
        sa.select(revocations.c.id)
        .where(revocations.c.expires_at < revoked_at)
        .limit(100)
        .scalar_subquery()
    )
    await conn.execute(revocations.delete().where(revocations.c.id.in_(expired)))


async def after(conn: AsyncConnection, cursor: int, limit: int) -> list[contract.Revocation]:
    """Up to ``limit`` revocations after ``cursor``, in id order (expired ones included, so that
    the cursor moves past them)."""
    rows = await conn.execute(
        sa.select(revocations)
        .where(revocations.c.id > cursor)
        .order_by(revocations.c.id)
        .limit(limit)
    )
    return [
        contract.Revocation(
            id=r.id,
            kind=contract.RevocationKind(r.kind),
            subject=r.subject,
            revoked_at=r.revoked_at,
            expires_at=r.expires_at,
        )
        for r in rows
    ]
