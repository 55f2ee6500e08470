"""The keyed hash of a referee's identifier: HMAC-SHA256 over ``kind:value``, in hex."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.identity.referees.hashing import keyed_hash

KEY = bytes(range(32))


def test_the_hash_is_the_hmac_of_kind_and_value_under_the_key() -> None:
    expected = hmac.new(KEY, b"email:ines@example.org", hashlib.sha256).hexdigest()
    assert keyed_hash(KEY, "email", "ines@example.org") == expected
    assert (
        keyed_hash(KEY, "phone", "+33612345678")
        == hmac.new(KEY, b"phone:+33612345678", hashlib.sha256).hexdigest()
    )


def test_another_key_kind_or_value_gives_another_hash() -> None:
    base = keyed_hash(KEY, "email", "a@example.org")
    assert keyed_hash(bytes(32), "email", "a@example.org") != base
    assert keyed_hash(KEY, "phone", "a@example.org") != base
    assert keyed_hash(KEY, "email", "b@example.org") != base


@pytest.mark.parametrize("kind", ["membership_card", "ticketing_id", "device", "Email"])
def test_only_emails_and_phones_are_hashed(kind: str) -> None:
    with pytest.raises(ValueError) as refused:
        keyed_hash(KEY, kind, "X1234")
    assert str(refused.value) == f"only emails and phones are hashed, not {kind!r}"
