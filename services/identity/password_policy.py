"""What makes a password acceptable, beyond its length (8 to 128 characters): the rules of NIST
SP 800-63B for memorised secrets. No I/O.

A password is refused when it is
- one of the 30,000 most common passwords (zxcvbn's list, drawn from public leaks), in any case:
  ``PASSWORD_TOO_COMMON``;
- repetitive or sequential: a unit of up to four characters repeated (``aaaaaaaa``,
  ``abababab``), or a run up or down the alphabet or the digits (``abcdefgh``, ``98765432``):
  ``PASSWORD_TOO_SIMPLE``;
- built on the account's own identifiers: a word of four characters or more from the email's
  local part or the display name, or the last six digits of the phone number:
  ``PASSWORD_CONTAINS_IDENTIFIER``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from services.common.problems import InvalidInput

TOO_COMMON = "PASSWORD_TOO_COMMON"
TOO_SIMPLE = "PASSWORD_TOO_SIMPLE"
CONTAINS_IDENTIFIER = "PASSWORD_CONTAINS_IDENTIFIER"

MIN_WORD = 4  # shorter words of a name or an email are too common to refuse
PHONE_DIGITS = 6


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def _folded(text: str) -> str:
    """Lower case, accents and every character but letters and digits removed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def _words(text: str | None) -> set[str]:
    if not text:
        return set()
    parts = [_folded(p) for p in re.split(r"[\W_]+", text)]
    return {w for w in [*parts, _folded(text)] if len(w) >= MIN_WORD}


def _repetitive(password: str) -> bool:
    for unit in range(1, 5):
        if (
            len(password) >= 2 * unit
            and password == (password[:unit] * len(password))[: len(password)]
        ):
            return True
    return False


def _sequential(password: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in pairwise(password)}
    return len(steps) == 1 and steps <= {1, -1}


def refusal(
    password: str,
    *,
    email: str | None = None,
    display_name: str | None = None,
    phone: str | None = None,
) -> Refusal | None:
    """Why ``password`` may not be used for this account, or None when it may."""
    if password.lower() in common_passwords():
        return Refusal(TOO_COMMON, "this password is among the most common ones: choose another")
    lowered = password.lower()
    if _repetitive(lowered) or _sequential(lowered):
        return Refusal(TOO_SIMPLE, "this password repeats or follows a sequence: choose another")
    folded = _folded(password)
    local_part = email.rsplit("@", 1)[0] if email else None
    if any(word in folded for word in _words(local_part) | _words(display_name)):
        return Refusal(CONTAINS_IDENTIFIER, "a password may not contain your email or your name")
    phone_digits = "".join(c for c in phone or "" if c.isdigit())
    password_digits = "".join(c for c in password if c.isdigit())
    if len(phone_digits) >= PHONE_DIGITS and phone_digits[-PHONE_DIGITS:] in password_digits:
        return Refusal(CONTAINS_IDENTIFIER, "a password may not contain your phone number")
    return None


def require_acceptable(
    password: str,
    *,
    email: str,
    display_name: str | None = None,
    phone: str | None = None,
) -> None:
    """``InvalidInput`` with the refusal's code when ``password`` may not be used."""
    refused = refusal(password, email=email, display_name=display_name, phone=phone)
    if refused is not None:
        raise InvalidInput(refused.message, code=refused.code)
