"""One-time codes, the pure part: digests, guesses at the edges of expiry and of the attempts
allowed, and how often a code may be sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.identity.verification import codes
from services.identity.verification.codes import Check, Pending, Sends, Verdict

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "042917")  # digits, but not ASCII ones


def _pending(code: str = "042917", attempts: int = 0, expires_at: datetime | None = None):
    salt = "00112233445566778899aabbccddeeff"
    return Pending(salt, codes.digest(salt, code), expires_at or NOW + codes.LIFETIME, attempts)


def test_a_code_is_six_digits_and_only_its_salted_digest_is_kept() -> None:
    made = {codes.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in made)
    assert len(made) > 150  # random, not a counter
    salt_a, salt_b = codes.new_salt(), codes.new_salt()
    assert salt_a != salt_b and len(salt_a) == 32
    assert codes.digest(salt_a, "123456") != codes.digest(salt_b, "123456")
    assert "123456" not in codes.digest(salt_a, "123456")
    assert len(codes.digest(salt_a, "123456")) == 64


def test_the_right_code_verifies_and_counts_as_an_attempt() -> None:
    assert codes.check(_pending(), "042917", NOW) == Check(Verdict.VERIFIED, 1, 4)


@pytest.mark.parametrize("typed", ["042 917", "042-917", " 042917 "])
def test_spaces_and_dashes_people_type_are_ignored(typed: str) -> None:
    assert codes.check(_pending(), typed, NOW).verdict is Verdict.VERIFIED


@pytest.mark.parametrize("guess", ["042918", "42917", "0429170", FULL_WIDTH, "abcdef", ""])
def test_a_wrong_guess_counts_and_says_how_many_are_left(guess: str) -> None:
    assert codes.check(_pending(attempts=2), guess, NOW) == Check(Verdict.WRONG, 3, 2)


def test_a_code_works_until_the_last_instant_before_it_expires() -> None:
    expires = NOW + codes.LIFETIME
    pending = _pending(expires_at=expires)
    assert codes.check(pending, "042917", expires - TICK).verdict is Verdict.VERIFIED
    assert codes.check(pending, "042917", expires) == Check(Verdict.EXPIRED, 0, 5)
    assert timedelta(minutes=15) == codes.LIFETIME


def test_the_fifth_guess_is_compared_and_the_sixth_is_not() -> None:
    assert codes.ATTEMPTS == 5
    assert codes.check(_pending(attempts=4), "042917", NOW) == Check(Verdict.VERIFIED, 5, 0)
    assert codes.check(_pending(attempts=4), "000000", NOW) == Check(Verdict.WRONG, 5, 0)
    assert codes.check(_pending(attempts=5), "042917", NOW) == Check(Verdict.EXHAUSTED, 5, 0)


def test_an_exhausted_code_says_so_even_once_expired() -> None:
    late = NOW + codes.LIFETIME + timedelta(hours=1)
    assert codes.check(_pending(attempts=5), "042917", late).verdict is Verdict.EXHAUSTED


def test_a_new_code_waits_a_minute_after_the_last_one() -> None:
    first, wait = codes.send(Sends(), NOW)
    assert (first, wait) == (Sends(NOW, 1, NOW), None)
    assert codes.send(first, NOW + codes.RESEND_AFTER - TICK) == (first, TICK)
    assert codes.send(first, NOW + codes.RESEND_AFTER) == (
        Sends(NOW + codes.RESEND_AFTER, 2, NOW),
        None,
    )


def test_five_codes_a_day_then_the_wait_is_until_the_day_is_over() -> None:
    sends, at = Sends(), NOW
    for n in range(1, 6):
        sends, wait = codes.send(sends, at)
        assert (sends.count, wait) == (n, None)
        at += codes.RESEND_AFTER
    refused, wait = codes.send(sends, at)
    assert refused == sends
    assert wait == NOW + codes.SEND_WINDOW - at
    # the day over, the count starts again
    again, wait = codes.send(sends, NOW + codes.SEND_WINDOW)
    assert (again, wait) == (Sends(NOW + codes.SEND_WINDOW, 1, NOW + codes.SEND_WINDOW), None)
    assert codes.send(sends, NOW + codes.SEND_WINDOW - TICK)[1] == TICK


def test_the_wait_is_told_in_whole_seconds_rounded_up() -> None:
    assert codes.retry_after_seconds(TICK) == 1
    assert codes.retry_after_seconds(timedelta(seconds=59, microseconds=1)) == 60
    assert codes.retry_after_seconds(timedelta(seconds=60)) == 60
