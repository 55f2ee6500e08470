"""Door keys sealed at rest: the private key that signs door passes is stored encrypted under
loyalty's key-encryption key (AES-256-GCM, the key id as associated data), never as PEM.

Existing keys are sealed in place with the key-encryption secret the migration is given
(``loyalty migrate`` and ``serve`` pass it; else ``LOYALTY_KEY_ENCRYPTION_SECRET`` or
``LOYALTY_SERVICE_SECRET`` from the environment). Without one, a database that holds keys is
not migrated (nothing changes) and the error says what to set. Downgrading unseals them again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import base64
import os
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "loyalty"
TABLE = f"{SCHEMA}.door_keys"


# ---- frozen as this revision was written -------------------------------------------------------
# What the migration reads and writes does not depend on the application's code, which may
# change: the HKDF label, the sealed format and the key conversions are written out here (they
# are the sealed format, version 1, that the service reads).

KEK_LABEL = b"loyalty service: door pass keys at rest, AES-256-GCM, v1"  # HKDF's info
SEALED_VERSION = b"\x01"  # then a 12-byte nonce, then the ciphertext and its tag
NONCE_BYTES = 12
MIN_SECRET_BYTES = 32


def _configured_secret() -> str | None:
    """The secret the migration is given, else the one in the environment (names as the
    settings read them: ``LOYALTY_KEY_ENCRYPTION_SECRET``, else ``LOYALTY_SERVICE_SECRET``, in
    any case)."""
    given: str | None = context.config.attributes.get("key_encryption_secret")
    if given is not None:
        return given
    environ = {name.upper(): value for name, value in os.environ.items()}
    return (
        environ.get("LOYALTY_KEY_ENCRYPTION_SECRET")
        or environ.get("LOYALTY_SERVICE_SECRET")
        or None
    )


def _kek() -> bytes:
    secret = _configured_secret()
    if secret is None:
        raise RuntimeError(
            "loyalty's door keys are to be sealed at rest: set LOYALTY_KEY_ENCRYPTION_SECRET "
            "(or LOYALTY_SERVICE_SECRET) to the secret the loyalty service is given, then "
            "migrate again"
        )
    raw = secret.encode()
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the key-encryption secret must be at least {MIN_SECRET_BYTES} bytes "
            f"(it has {len(raw)})"
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEK_LABEL).derive(raw)


def _seal(kek: bytes, kid: str, pem: str) -> bytes:
    """The Ed25519 key stored as ``pem``, sealed under ``kek`` with ``kid`` as associated data."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the stored door key {kid} is not an Ed25519 key")
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(NONCE_BYTES)
    return SEALED_VERSION + nonce + AESGCM(kek).encrypt(nonce, raw, kid.encode())


def _unseal(kek: bytes, kid: str, sealed: bytes, public_jwk: Mapping[str, str]) -> str:
    """The key sealed for ``kid`` as PEM (PKCS #8), checked against its public key."""
    if sealed[:1] != SEALED_VERSION or len(sealed) <= 1 + NONCE_BYTES:
        raise RuntimeError(f"the door key {kid} is not sealed in a known format")
    nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        raw = AESGCM(kek).decrypt(nonce, ciphertext, kid.encode())
    except InvalidTag:
        raise RuntimeError(
            f"the door key {kid} does not open with the key-encryption secret given: give the "
            "secret it was sealed with"
        ) from None
    key = Ed25519PrivateKey.from_private_bytes(raw)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if base64.urlsafe_b64encode(public).rstrip(b"=").decode("ascii") != public_jwk.get("x"):
        raise ValueError(f"the private door key {kid} does not match its public key")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column(
        "door_keys", sa.Column("private_key_sealed", sa.LargeBinary, nullable=True), schema=SCHEMA
    )
    rows = bind.execute(sa.text(f"SELECT kid, private_key_pem, public_jwk FROM {TABLE}")).all()
    if rows:
        kek = _kek()
        for kid, pem, _ in rows:
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET private_key_sealed = :sealed WHERE kid = :kid"),
                {"sealed": _seal(kek, kid, pem), "kid": kid},
            )
    op.alter_column("door_keys", "private_key_sealed", nullable=False, schema=SCHEMA)
    op.drop_column("door_keys", "private_key_pem", schema=SCHEMA)


def downgrade() -> None:
    bind = op.get_bind()
    op.add_column("door_keys", sa.Column("private_key_pem", sa.Text, nullable=True), schema=SCHEMA)
    rows = bind.execute(sa.text(f"SELECT kid, private_key_sealed, public_jwk FROM {TABLE}")).all()
    if rows:
        kek = _kek()
        for kid, sealed, public_jwk in rows:
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET private_key_pem = :pem WHERE kid = :kid"),
                {"pem": _unseal(kek, kid, bytes(sealed), public_jwk), "kid": kid},
            )
    op.alter_column("door_keys", "private_key_pem", nullable=False, schema=SCHEMA)
    op.drop_column("door_keys", "private_key_sealed", schema=SCHEMA)
