"""Password hashing with argon2id, off the event loop.

The cost defaults to OWASP's recommendation (19 MiB, two passes). ``LOYALTY_PASSWORD_HASH_COST=low``
lowers it for test runs; hashes made at either cost verify at both, since argon2 records its
parameters in the hash.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

COST_ENV = "LOYALTY_PASSWORD_HASH_COST"


@lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    if os.environ.get(COST_ENV, "").strip().lower() == "low":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _verify_dummy(password: str) -> bool:
    return _verify(_dummy_hash(), password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hasher().hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """``True`` when ``password`` matches. With no hash (an unknown user), a dummy hash is
    verified anyway, so a failure takes about as long whether or not the user exists."""
    if password_hash is None:
        await asyncio.to_thread(_verify_dummy, password)
        return False
    return await asyncio.to_thread(_verify, password_hash, password)
