"""Sessions' SQL: refresh tokens and their families, and the signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.tables import refresh_tokens, signing_keys


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
    private_key_pem: str
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


# ---- signing keys ----------------------------------------------------------------------------


async def active_signing_key(conn: AsyncConnection) -> SigningKeyRow | None:
    row = (await conn.execute(sa.select(signing_keys).where(signing_keys.c.active))).first()
    if row is None:
        return None
    return SigningKeyRow(
        kid=row.kid, private_key_pem=row.private_key_pem, public_jwk=dict(row.public_jwk)
    )


async def insert_signing_key(
    conn: AsyncConnection, *, kid: str, private_key_pem: str, public_jwk: dict[str, str]
) -> None:
    """Insert an active key unless another replica got there first (at most one is active)."""
    await conn.execute(
        insert(signing_keys)
        .values(kid=kid, private_key_pem=private_key_pem, public_jwk=public_jwk, active=True)
        .on_conflict_do_nothing()
    )


async def public_jwks(conn: AsyncConnection) -> list[dict[str, str]]:
    rows = await conn.execute(
        sa.select(signing_keys.c.public_jwk).order_by(
            signing_keys.c.active.desc(), signing_keys.c.created_at.desc()
        )
    )
    return [dict(r.public_jwk) for r in rows]
