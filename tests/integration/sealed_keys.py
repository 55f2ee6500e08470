"""What the tests of keys at rest share, for identity's signing keys and loyalty's door keys
alike: the key table's rows as stored, every form in which a private key could be stored in
clear, the checks that a sealed key holds none of them, and the database as it was before the
keys were sealed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Protocol

import asyncpg
import pytest
from alembic import command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common import sealing
from services.common.db import asyncpg_dsn
from services.common.migrate import alembic_config


class PrivateKey(Protocol):
    """A signing key as identity's ``SigningKey`` and loyalty's ``DoorKey`` both are."""

    @property
    def kid(self) -> str: ...
    @property
    def private_key(self) -> Ed25519PrivateKey: ...
    @property
    def public_jwk(self) -> dict[str, str]: ...
    def private_bytes(self) -> bytes: ...


def pem_of(key: PrivateKey) -> str:
    """The private half as PEM (PKCS #8), as keys were stored before they were sealed."""
    return key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


async def rows(url: str, table: str) -> list[dict[str, object]]:
    """The rows of ``table`` (schema-qualified), oldest first, each with the whole row as JSON
    under ``whole``."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        found = await conn.fetch(
            f"SELECT to_jsonb(k) AS whole, k.* FROM {table} k ORDER BY created_at"
        )
        return [dict(r) for r in found]
    finally:
        await conn.close()


def material(key: PrivateKey) -> list[bytes]:
    """Every form in which the private half could be stored in clear."""
    der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return [key.private_bytes(), der, pem_of(key).encode(), b"PRIVATE KEY"]


def assert_sealed(sealed: bytes, key: PrivateKey, kek: bytes) -> None:
    """``sealed`` holds none of ``key``'s private forms and opens to it under ``kek``."""
    assert all(m not in sealed for m in material(key))
    assert sealing.unseal(kek, key.kid, sealed) == key.private_bytes()


def assert_stored_sealed(row: Mapping[str, Any], key: PrivateKey, kek: bytes) -> None:
    """A key's row as first stored: its columns, no private form of the key anywhere in it (raw,
    or as the hexadecimal text of a bytea), a sealed key of the expected length that opens under
    ``kek`` with the key id as associated data, and under no other key id."""
    sealed = bytes(row["private_key_sealed"])
    whole = str(row["whole"]).encode()  # the row as JSON: bytea as hexadecimal text
    assert set(json.loads(whole)) == {
        "kid",
        "private_key_sealed",
        "public_jwk",
        "active",
        "created_at",
    }
    for form in material(key):
        assert form not in sealed
        assert form not in whole
        assert form.hex().encode() not in whole
    assert len(sealed) == 1 + 12 + 32 + 16  # version, nonce, the 32-byte key, the GCM tag
    assert sealing.unseal(kek, key.kid, sealed) == key.private_bytes()
    with pytest.raises(sealing.KeyEncryptionError):  # the key id is the associated data
        sealing.unseal(kek, key.kid[:-1] + ("A" if key.kid[-1] != "A" else "B"), sealed)


def assert_migrated(row: Mapping[str, Any], key: PrivateKey, kek: bytes) -> None:
    """A key stored as PEM before sealing, after the migration: sealed, active, its public key
    unchanged, and no PEM column left."""
    assert "private_key_pem" not in row
    assert_sealed(bytes(row["private_key_sealed"]), key, kek)
    assert (row["kid"], row["active"], json.loads(str(row["public_jwk"]))) == (
        key.kid,
        True,
        key.public_jwk,
    )


def back_to_clear_keys(
    url: str, *, service: str, table: str, revision: str, secret: str, key: PrivateKey
) -> None:
    """The database as it was before ``service``'s keys were sealed (``revision``), ``table``
    holding ``key`` alone, as PEM."""
    command.downgrade(alembic_config(service, url, f"{service}_owner", secret), revision)

    async def insert() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute(f"DELETE FROM {table}")
            await conn.execute(
                f"INSERT INTO {table} (kid, private_key_pem, public_jwk) "
                "VALUES ($1, $2, $3::jsonb)",
                key.kid,
                pem_of(key),
                json.dumps(key.public_jwk),
            )
        finally:
            await conn.close()

    asyncio.run(insert())
