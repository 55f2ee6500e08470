"""Sessions' SQL: refresh tokens and their families, and the signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.sessions.throttle import Count
from services.identity.tables import login_throttle, refresh_tokens, signing_keys


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    id: UUID
    family_id: UUID
    subject_kind: str
    subject_id: UUID
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SigningKeyRow:
    kid: str
    private_key_sealed: bytes
    public_jwk: dict[str, str]


# ---- refresh tokens --------------------------------------------------------------------------


async def insert_refresh_token(
    conn: AsyncConnection,
    *,
    token_id: UUID,
    family_id: UUID,
    subject_kind: str,
    subject_id: UUID,
    token_hash: str,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        refresh_tokens.insert().values(
            id=token_id,
            family_id=family_id,
            subject_kind=subject_kind,
            subject_id=subject_id,
            token_hash=token_hash,
            issued_at=issued_at,
            expires_at=expires_at,
        )
    )


async def refresh_token_for_update(conn: AsyncConnection, token_id: UUID) -> RefreshTokenRow | None:
    row = (
        await conn.execute(
            sa.select(refresh_tokens).where(refresh_tokens.c.id == token_id).with_for_update()
        )
    ).first()
    if row is None:
        return None
    return RefreshTokenRow(
        id=row.id,
        family_id=row.family_id,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        token_hash=row.token_hash,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


async def mark_refresh_token_used(
    conn: AsyncConnection, token_id: UUID, *, replaced_by: UUID, now: datetime
) -> None:
    await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.id == token_id)
        .values(used_at=now, replaced_by=replaced_by)
    )


async def revoke_family(conn: AsyncConnection, family_id: UUID, now: datetime) -> int:
    result = await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount


# ---- sign-in throttling ---------------------------------------------------------------------


async def lock_counts(conn: AsyncConnection, keys: list[str], now: datetime) -> dict[str, Count]:
    """The keys' counts, their rows locked until the transaction ends (in the keys' order, so
    that two attempts never wait for each other's rows)."""
    await conn.execute(
        insert(login_throttle)
        .values([{"key": k, "failures": 0, "since": now} for k in keys])
        .on_conflict_do_nothing()
    )
    rows = await conn.execute(
        sa.select(login_throttle)
        .where(login_throttle.c.key.in_(keys))
        .order_by(login_throttle.c.key)
        .with_for_update()
    )
    return {r.key: Count(r.failures, r.since) for r in rows}


async def save_counts(conn: AsyncConnection, counts: dict[str, Count]) -> None:
    for key, count in counts.items():
        await conn.execute(
            login_throttle.update()
            .where(login_throttle.c.key == key)
            .values(failures=count.failures, since=count.since)
        )


async def forgive(conn: AsyncConnection, *, account: str, address: str | None) -> None:
    """A successful attempt: the account's count is cleared, its reservation on the address
    given back."""
    await conn.execute(
        login_throttle.update().where(login_throttle.c.key == account).values(failures=0)
    )
    if address is not None:
        await conn.execute(
            login_throttle.update()
            .where(login_throttle.c.key == address)
            .values(failures=sa.func.greatest(login_throttle.c.failures - 1, 0))
        )


async def forget_old_counts(conn: AsyncConnection, before: datetime, limit: int = 100) -> None:
    """Drop counts whose window ended long ago (a few at a time, never waiting for a lock)."""
    old = (
        sa.select(login_throttle.c.key)
        .where(login_throttle.c.since < before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    await conn.execute(
        login_throttle.delete().where(login_throttle.c.key.in_(old.scalar_subquery()))
    )


# ---- signing keys ----------------------------------------------------------------------------


async def active_signing_key(conn: AsyncConnection) -> SigningKeyRow | None:
    row = (await conn.execute(sa.select(signing_keys).where(signing_keys.c.active))).first()
    if row is None:
        return None
    return SigningKeyRow(
        kid=row.kid,
        private_key_sealed=bytes(row.private_key_sealed),
        public_jwk=dict(row.public_jwk),
    )


async def insert_signing_key(
    conn: AsyncConnection, *, kid: str, private_key_sealed: bytes, public_jwk: dict[str, str]
) -> None:
    """Insert an active key unless another replica got there first (at most one is active)."""
    await conn.execute(
        insert(signing_keys)
        .values(kid=kid, private_key_sealed=private_key_sealed, public_jwk=public_jwk, active=True)
        .on_conflict_do_nothing()
    )


async def retire_signing_keys(conn: AsyncConnection) -> None:
    """No key is active any more (their public halves stay published)."""
    await conn.execute(signing_keys.update().where(signing_keys.c.active).values(active=False))


async def public_jwks(conn: AsyncConnection) -> list[dict[str, str]]:
    rows = await conn.execute(
        sa.select(signing_keys.c.public_jwk).order_by(
            signing_keys.c.active.desc(), signing_keys.c.created_at.desc()
        )
    )
    return [dict(r.public_jwk) for r in rows]
