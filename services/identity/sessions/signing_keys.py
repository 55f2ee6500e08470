"""The Ed25519 key that signs access tokens, shared by every replica, and its public JWKS."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.identity import tokens
from services.identity.sessions import queries

_SIGNING_KEYS: dict[str, tokens.SigningKey] = {}


def _engine_key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


async def signing_key(engine: AsyncEngine) -> tokens.SigningKey:
    """The active Ed25519 signing key, created by the first replica to start and shared by all
    (at most one key is active; a replica that loses the race uses the winner's)."""
    cached = _SIGNING_KEYS.get(_engine_key(engine))
    if cached is not None:
        return cached
    async with UnitOfWork(engine) as uow:
        row = await queries.active_signing_key(uow.conn)
        if row is None:
            fresh = tokens.SigningKey.generate()
            await queries.insert_signing_key(
                uow.conn,
                kid=fresh.kid,
                private_key_pem=fresh.private_pem(),
                public_jwk=fresh.public_jwk,
            )
            row = await queries.active_signing_key(uow.conn)
            assert row is not None
        await uow.commit()
    key = tokens.SigningKey.from_pem(row.kid, row.private_key_pem, row.public_jwk)
    _SIGNING_KEYS[_engine_key(engine)] = key
    return key


async def jwks(engine: AsyncEngine) -> dict[str, Any]:
    """The public keys that verify access tokens, as a JSON Web Key Set."""
    async with UnitOfWork(engine) as uow:
        keys = await queries.public_jwks(uow.conn)
    return tokens.jwks(keys)
