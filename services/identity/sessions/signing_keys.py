"""The Ed25519 key that signs access tokens, shared by every replica, and its public JWKS.

Private keys are stored sealed (``sealing``) under the key-encryption key each replica is given
at start (``open_signing_key``); a replica with the wrong one refuses to start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.identity import tokens
from services.identity.sessions import queries, sealing

_SIGNING_KEYS: dict[str, tokens.SigningKey] = {}
_KEKS: dict[str, bytes] = {}


def _engine_key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


async def open_signing_key(engine: AsyncEngine, kek: bytes) -> tokens.SigningKey:
    """At start: remember ``kek`` for ``engine`` and load the active key with it (creating it
    if there is none), so that a wrong key-encryption key fails now, not at the first login."""
    _KEKS[_engine_key(engine)] = kek
    _SIGNING_KEYS.pop(_engine_key(engine), None)
    return await signing_key(engine)


async def signing_key(engine: AsyncEngine, kek: bytes | None = None) -> tokens.SigningKey:
    """The active Ed25519 signing key, created by the first replica to start and shared by all
    (at most one key is active; a replica that loses the race uses the winner's)."""
    cached = _SIGNING_KEYS.get(_engine_key(engine))
    if cached is not None:
        return cached
    kek = kek or _KEKS.get(_engine_key(engine))
    if kek is None:
        raise sealing.KeyEncryptionError("no key-encryption key was given for the signing keys")
    async with UnitOfWork(engine) as uow:
        row = await queries.active_signing_key(uow.conn)
        if row is None:
            fresh = tokens.SigningKey.generate()
            await queries.insert_signing_key(
                uow.conn,
                kid=fresh.kid,
                private_key_sealed=sealing.seal(kek, fresh.kid, fresh.private_bytes()),
                public_jwk=fresh.public_jwk,
            )
            row = await queries.active_signing_key(uow.conn)
            assert row is not None
        await uow.commit()
    key = _unsealed(kek, row)
    _SIGNING_KEYS[_engine_key(engine)] = key
    return key


async def rotate_signing_key(engine: AsyncEngine, kek: bytes) -> tokens.SigningKey:
    """Retire the active key and make a new one active, sealed under ``kek``. The retired key's
    public half stays in the JWKS, so the tokens it signed stay valid until they expire; other
    replicas sign with the new key once they restart."""
    fresh = tokens.SigningKey.generate()
    async with UnitOfWork(engine) as uow:
        await queries.retire_signing_keys(uow.conn)
        await queries.insert_signing_key(
            uow.conn,
            kid=fresh.kid,
            private_key_sealed=sealing.seal(kek, fresh.kid, fresh.private_bytes()),
            public_jwk=fresh.public_jwk,
        )
        await uow.commit()
    _SIGNING_KEYS[_engine_key(engine)] = fresh
    return fresh


def _unsealed(kek: bytes, row: queries.SigningKeyRow) -> tokens.SigningKey:
    raw = sealing.unseal(kek, row.kid, row.private_key_sealed)
    return tokens.SigningKey.from_private_bytes(row.kid, raw, row.public_jwk)


async def jwks(engine: AsyncEngine) -> dict[str, Any]:
    """The public keys that verify access tokens, as a JSON Web Key Set."""
    async with UnitOfWork(engine) as uow:
        keys = await queries.public_jwks(uow.conn)
    return tokens.jwks(keys)
