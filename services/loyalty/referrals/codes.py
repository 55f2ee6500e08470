"""Referral codes people can read aloud and type: ``K7QM-4XRF`` (pure, no I/O).

A code is eight characters from an alphabet of 31 that leaves out the look-alikes ``0 O 1 I L``:
seven carry a random value, the eighth is a check character. Each character is weighted by its
position (2 to 8, and 1 for the check) and the weighted sum is a multiple of 31, a prime: so
every single mistyped character and every swap of two different characters is detected, and a
typo is reported as such instead of reaching another member's code.

The random value comes from the caller (``secrets.randbelow(CODE_SPACE)``); uniqueness is the
store's business (a unique index, and a new value on the rare collision).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE = len(ALPHABET)  # 31, a prime
PAYLOAD_LENGTH = 7
LENGTH = PAYLOAD_LENGTH + 1
CODE_SPACE = BASE**PAYLOAD_LENGTH  # 27,512,614,111 distinct codes
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 1)  # distinct and non-zero modulo 31
_VALUE = {c: n for n, c in enumerate(ALPHABET)}
GROUP = 4
SHARE_PARAMETER = "ref"
_SEPARATORS = frozenset(" \t\r\n-_.\u2010\u2011\u2012\u2013\u2014\u2212\u00a0\u202f")


class CodeProblem(StrEnum):
    """Why typed text is not a referral code; the values are stable."""

    WRONG_LENGTH = "CODE_WRONG_LENGTH"
    UNKNOWN_CHARACTER = "CODE_UNKNOWN_CHARACTER"
    CHECK_FAILED = "CODE_CHECK_FAILED"


@dataclass(frozen=True, slots=True)
class ReferralCode:
    """A valid code; ``value`` is the canonical form (eight characters, no dash)."""

    value: str

    def __post_init__(self) -> None:
        problem = _problem(self.value)
        if problem is not None:
            raise ValueError(f"not a referral code: {self.value!r} ({problem.value})")

    @property
    def display(self) -> str:
        """The form to print and share: ``K7QM-4XRF``."""
        return f"{self.value[:GROUP]}-{self.value[GROUP:]}"

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True, slots=True)
class InvalidCode:
    """Typed text that is not a code, with the stable reason."""

    problem: CodeProblem


def _weighted_sum(values: list[int]) -> int:
    return sum(WEIGHTS[n] * v for n, v in enumerate(values)) % BASE


def check_character(payload: str) -> str:
    """The character that completes seven payload characters into a valid code."""
    values = [_VALUE[c] for c in payload]
    return ALPHABET[-_weighted_sum(values) % BASE]


def code_from_random(value: int) -> ReferralCode:
    """The code carrying ``value``, a random integer in ``range(CODE_SPACE)``."""
    if not 0 <= value < CODE_SPACE:
        raise ValueError(f"value must be in range(CODE_SPACE), got {value}")
    digits = []
    for _ in range(PAYLOAD_LENGTH):
        value, digit = divmod(value, BASE)
        digits.append(ALPHABET[digit])
    payload = "".join(reversed(digits))
    return ReferralCode(payload + check_character(payload))


def _problem(canonical: str) -> CodeProblem | None:
    if len(canonical) != LENGTH:
        return CodeProblem.WRONG_LENGTH
    if any(c not in ALPHABET for c in canonical):
        return CodeProblem.UNKNOWN_CHARACTER
    if _weighted_sum([_VALUE[c] for c in canonical]) != 0:
        return CodeProblem.CHECK_FAILED
    return None


def _from_link(text: str) -> str:
    """The ``ref`` parameter of a shared link, or the text unchanged if it is not a link."""
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return text
    values = parse_qs(parts.query).get(SHARE_PARAMETER)
    return values[0] if values else ""


def normalise(raw: str) -> str:
    """The canonical spelling of typed or pasted text: a shared link gives its ``ref``; width
    and case are folded; spaces, dashes, dots and underscores are dropped.
    ``" k7qm-4xrf "`` -> ``"K7QM4XRF"``."""
    text = unicodedata.normalize("NFKC", raw).strip()
    text = _from_link(text)
    return "".join(c for c in text if c not in _SEPARATORS).upper()


def parse(raw: str) -> ReferralCode | InvalidCode:
    """A code from what someone typed, pasted or shared, or the reason it is not one."""
    canonical = normalise(raw)
    problem = _problem(canonical)
    return InvalidCode(problem) if problem is not None else ReferralCode(canonical)


def share_link(base_url: str, code: ReferralCode) -> str:
    """``https://example.org/join`` -> ``https://example.org/join?ref=K7QM-4XRF``; the base
    URL's own query parameters and fragment are kept, an earlier ``ref`` is replaced."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a share link needs an http(s) base URL with a host, got {base_url!r}")
    query = [
        (key, value)
        for key, values in parse_qs(parts.query, keep_blank_values=True).items()
        if key != SHARE_PARAMETER
        for value in values
    ]
    query.append((SHARE_PARAMETER, code.display))
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment)
    )
