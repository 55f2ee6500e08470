"""Private keys at rest: sealed with AES-256-GCM under a key-encryption key (KEK).

The KEK is derived with HKDF-SHA256 from a configured secret (``LOYALTY_KEY_ENCRYPTION_SECRET``,
else ``LOYALTY_SERVICE_SECRET``), so the database alone never yields a key that signs anything:
identity's access-token keys and loyalty's door-pass keys. Each use names its own ``purpose``
(HKDF's info), so one secret gives each service a different KEK. The key id is the associated
data: a sealed key moved to another row (another ``kid``) no longer opens. A sealed value is
``version byte || 12-byte nonce || ciphertext and tag``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE_BYTES = 12
MIN_SECRET_BYTES = 32


class KeyEncryptionError(Exception):
    """A sealed key that the configured key-encryption key does not open."""


def derive_kek(secret: str, purpose: bytes) -> bytes:
    """The 256-bit key-encryption key derived from ``secret`` (at least 32 bytes) for
    ``purpose``."""
    raw = secret.encode()
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the key-encryption secret must be at least {MIN_SECRET_BYTES} bytes "
            f"(it has {len(raw)})"
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)


def seal(kek: bytes, kid: str, private_key: bytes) -> bytes:
    """``private_key`` encrypted under ``kek``, bound to ``kid``."""
    nonce = os.urandom(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(kek).encrypt(nonce, private_key, kid.encode())


def unseal(kek: bytes, kid: str, sealed: bytes, *, what: str = "signing key") -> bytes:
    """The private key sealed for ``kid``; ``KeyEncryptionError`` when ``kek`` is not the one it
    was sealed with, or the value was altered or belongs to another key id (``what`` names the
    key in the message)."""
    if sealed[:1] != _VERSION or len(sealed) <= 1 + _NONCE_BYTES:
        raise KeyEncryptionError(f"the {what} {kid} is not sealed in a known format")
    nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        return AESGCM(kek).decrypt(nonce, ciphertext, kid.encode())
    except InvalidTag:
        raise KeyEncryptionError(
            f"the {what} {kid} does not open with the configured key-encryption secret "
            "(LOYALTY_KEY_ENCRYPTION_SECRET, else LOYALTY_SERVICE_SECRET): configure the secret "
            "it was sealed with"
        ) from None
