"""One-time verification codes, the pure part: making a code, keeping only its digest, checking
a guess against expiry and the attempts left, and throttling how often a code is sent.

A code is six digits, good for ``LIFETIME`` and for ``ATTEMPTS`` guesses; every guess counts,
right or wrong, before it is compared. A new code replaces the old one (and its attempts) no
sooner than ``RESEND_AFTER`` after it, and at most ``SENDS_PER_DAY`` codes are sent in a day
for one identifier of one member. So a guesser gets at most ``ATTEMPTS * SENDS_PER_DAY`` tries
a day out of a million codes.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DIGITS = 6
LIFETIME = timedelta(minutes=15)
ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
SENDS_PER_DAY = 5
SEND_WINDOW = timedelta(days=1)
#: Identifiers a member may be waiting to verify at once (each one sends a message to someone).
PENDING_PER_MEMBER = 5
#: Kinds proven by a code sent to them; the others are not sent anything.
CODE_KINDS = ("email", "phone")


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def new_salt() -> str:
    return secrets.token_hex(16)


def digest(salt: str, code: str) -> str:
    """HMAC-SHA256 of the code under the verification's own salt, in hex."""
    return hmac.new(bytes.fromhex(salt), code.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    """What is kept of a code sent: its salt and digest, when it expires, guesses made."""

    salt: str
    code_hash: str
    expires_at: datetime
    attempts: int


class Verdict(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"  # counted: ``attempts_left`` says how many remain
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"  # no guess left: a new code must be asked for


@dataclass(frozen=True, slots=True)
class Check:
    verdict: Verdict
    attempts: int  # guesses counted after this one
    attempts_left: int


def normal_code(guess: str) -> str | None:
    """The guess as digits (spaces and dashes people type are ignored), or None when it cannot
    be a code."""
    cleaned = guess.replace(" ", "").replace("-", "")
    if len(cleaned) != DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def check(pending: Pending, guess: str, now: datetime) -> Check:
    """Judge one guess. An exhausted or expired code is refused without counting; any other
    guess counts, whether it is right, wrong or not even a code."""
    if pending.attempts >= ATTEMPTS:
        return Check(Verdict.EXHAUSTED, pending.attempts, 0)
    if now >= pending.expires_at:
        return Check(Verdict.EXPIRED, pending.attempts, ATTEMPTS - pending.attempts)
    attempts = pending.attempts + 1
    code = normal_code(guess)
    if code is not None and hmac.compare_digest(digest(pending.salt, code), pending.code_hash):
        return Check(Verdict.VERIFIED, attempts, ATTEMPTS - attempts)
    return Check(Verdict.WRONG, attempts, ATTEMPTS - attempts)


@dataclass(frozen=True, slots=True)
class Sends:
    """Codes sent for one identifier of one member: the last one, and how many in the window."""

    last_sent_at: datetime | None = None
    count: int = 0
    since: datetime | None = None


def send(sends: Sends, now: datetime) -> tuple[Sends, timedelta | None]:
    """The sends with one more, and None; or the sends unchanged and how long to wait."""
    if sends.last_sent_at is not None and now < sends.last_sent_at + RESEND_AFTER:
        return sends, sends.last_sent_at + RESEND_AFTER - now
    if sends.since is None or now >= sends.since + SEND_WINDOW:
        sends = Sends(sends.last_sent_at, 0, now)
    assert sends.since is not None
    if sends.count >= SENDS_PER_DAY:
        return sends, sends.since + SEND_WINDOW - now
    return Sends(now, sends.count + 1, sends.since), None


def retry_after_seconds(wait: timedelta) -> int:
    """Whole seconds, rounded up (at least one)."""
    return max(1, math.ceil(wait.total_seconds()))
