"""The keyed hash of a normalised identifier (pure): HMAC-SHA256 under identity's secret key,
over ``kind:value`` (``email:ines@example.org``), in hex. Without the key nobody can tell which
identifier a hash stands for, nor test a guess."""

from __future__ import annotations

import hashlib
import hmac

HASHED_KINDS = ("email", "phone")


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    if kind not in HASHED_KINDS:
        raise ValueError(f"only emails and phones are hashed, not {kind!r}")
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
