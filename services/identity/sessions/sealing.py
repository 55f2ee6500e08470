"""Identity's signing keys at rest, sealed by ``services.common.sealing`` under identity's own
key-encryption key (derived for this purpose alone)."""

from __future__ import annotations

from services.common import sealing
from services.common.sealing import KeyEncryptionError, seal, unseal

__all__ = ["KeyEncryptionError", "derive_kek", "seal", "unseal"]

PURPOSE = b"loyalty identity: signing keys at rest, AES-256-GCM, v1"


def derive_kek(secret: str) -> bytes:
    """Identity's key-encryption key, derived from ``secret`` (at least 32 bytes)."""
    return sealing.derive_kek(secret, PURPOSE)
