"""Idempotency claims: a key claimed by the first request, whose response a replay finds again.

A claim keeps only what telling a replay from another request needs: a keyed hash of the
request (HMAC under identity's secret, so that nothing in it can be read back, nor a guess
tested, without the key) and what came of it (ids, never the personal data of the request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.referees.queries import identifier_key
from services.identity.tables import idempotency


@dataclass(frozen=True, slots=True)
class IdempotencyRow:
    request_hash: str
    response: dict[str, Any] | None


def keyed_request_hash(key: bytes, fields: dict[str, Any]) -> str:
    """A keyed digest of a request's meaningful fields, to tell a replay from a different
    request."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


async def request_hash(conn: AsyncConnection, fields: dict[str, Any]) -> str:
    return keyed_request_hash(await identifier_key(conn), fields)


async def claim(
    conn: AsyncConnection, scope: str, key: str, request_hash: str
) -> IdempotencyRow | None:
    """Claim a key for this transaction: ``None`` when claimed now, else the earlier request.

    A concurrent claim of the same key waits until the first transaction ends.
    """
    claimed = (
        await conn.execute(
            insert(idempotency)
            .values(scope=scope, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(idempotency.c.key)
        )
    ).first()
    if claimed is not None:
        return None
    row = (
        await conn.execute(
            sa.select(idempotency.c.request_hash, idempotency.c.response).where(
                idempotency.c.scope == scope, idempotency.c.key == key
            )
        )
    ).one()
    return IdempotencyRow(request_hash=row.request_hash, response=row.response)


async def record_response(
    conn: AsyncConnection, scope: str, key: str, response: dict[str, Any]
) -> None:
    await conn.execute(
        idempotency.update()
        .where(idempotency.c.scope == scope, idempotency.c.key == key)
        .values(response=response)
    )


async def forget_member_responses(conn: AsyncConnection, member_ids: Iterable[UUID]) -> None:
    """Drop the claims whose outcome names these members: the member a request made, or the
    member whose identifier a request tried to take (erasure keeps no trace of them)."""
    ids = [str(m) for m in member_ids]
    await conn.execute(
        idempotency.delete().where(
            sa.or_(
                idempotency.c.response["member_id"].astext.in_(ids),
                idempotency.c.response["owner_id"].astext.in_(ids),
            )
        )
    )
