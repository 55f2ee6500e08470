"""Passwords are hashed with argon2 off the event loop, and an unknown user costs a verification
too."""

from __future__ import annotations

import os

from services.identity import passwords

os.environ.setdefault(passwords.COST_ENV, "low")


async def test_a_password_verifies_against_its_hash_and_nothing_else() -> None:
    password_hash = await passwords.hash_password("correct horse battery")

    assert password_hash.startswith("$argon2id$")
    assert await passwords.verify_password(password_hash, "correct horse battery")
    assert not await passwords.verify_password(password_hash, "Correct horse battery")
    assert not await passwords.verify_password("not a hash", "correct horse battery")


async def test_no_hash_never_verifies() -> None:
    assert not await passwords.verify_password(None, "anything at all")


async def test_two_hashes_of_one_password_differ() -> None:
    assert await passwords.hash_password("same password") != await passwords.hash_password(
        "same password"
    )
