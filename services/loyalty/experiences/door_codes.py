"""Short door codes, made to be read aloud and typed on a phone (no I/O but the random draw).

A code is 8 symbols from a 31-symbol alphabet with no look-alikes: the digits 2 to 9 and the
letters without I, L and O (so no 0/O and no 1/I/L). Seven symbols are random (31^7, about
2.75 * 10^10 codes, 34.6 bits); the eighth is a check symbol chosen so that the weighted sum
of the symbols' values, with weights 1 (the check symbol) and 2 to 8 (the others), is a
multiple of 31. As 31 is prime and the weights are distinct and below 31, every single wrong
symbol and every swap of two symbols is caught before the code is looked up.

It is shown as two groups of four, ``7KQM-X3TD``. Typed input is read generously: case, spaces,
hyphens and other dashes are ignored, full-width forms and Cyrillic or Greek letters that look
like Latin ones are read as those; 0, O, 1, I and L are refused with their own reason, since
they never occur.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from services.loyalty.rules.model import Locale

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
AMBIGUOUS = frozenset("01ILO")
_VALUE = {symbol: n for n, symbol in enumerate(ALPHABET)}
_BASE = len(ALPHABET)
# Cyrillic and Greek capitals that look like Latin letters or digits, read as those.
_LOOKALIKES = str.maketrans(
    "\u0410\u0412\u0421\u0415\u041d\u041a\u041c\u0420\u0422\u0425\u0423\u0405\u0408\u0417\u041e\u0406"  # Cyrillic
    "\u0391\u0392\u0395\u0396\u0397\u039a\u039c\u039d\u03a1\u03a4\u03a5\u03a7\u039f\u0399",  # Greek
    "ABCEHKMPTXYSJ3OIABEZHKMNPTYXOI",
)


class CodeProblem(StrEnum):
    """Why typed input is not a code; the values are stable codes."""

    EMPTY = "CODE_EMPTY"
    AMBIGUOUS_CHARACTER = "CODE_AMBIGUOUS_CHARACTER"
    UNKNOWN_CHARACTER = "CODE_UNKNOWN_CHARACTER"
    WRONG_LENGTH = "CODE_WRONG_LENGTH"
    CHECK_FAILED = "CODE_CHECK_FAILED"


_MESSAGES = {
    Locale.EN: {
        CodeProblem.EMPTY: "Type the code shown on the invitation.",
        CodeProblem.AMBIGUOUS_CHARACTER: "Codes never contain 0, O, 1, I or L: check the code.",
        CodeProblem.UNKNOWN_CHARACTER: "Codes contain only letters and the digits 2 to 9.",
        CodeProblem.WRONG_LENGTH: f"A code has {LENGTH} characters.",
        CodeProblem.CHECK_FAILED: "This code has a typing mistake: check each character.",
    },
    Locale.FR: {
        CodeProblem.EMPTY: "Saisissez le code affiché sur l'invitation.",
        CodeProblem.AMBIGUOUS_CHARACTER: (
            "Les codes ne contiennent jamais 0, O, 1, I ni L : vérifiez le code."
        ),
        CodeProblem.UNKNOWN_CHARACTER: (
            "Les codes ne contiennent que des lettres et les chiffres 2 à 9."
        ),
        CodeProblem.WRONG_LENGTH: f"Un code compte {LENGTH} caractères.",
        CodeProblem.CHECK_FAILED: "Ce code comporte une faute de frappe : vérifiez chaque caractère.",
    },
}


def message(problem: CodeProblem, locale: Locale) -> str:
    return _MESSAGES[locale][problem]


def _weighted(symbols: str, first_weight: int) -> int:
    return sum(_VALUE[s] * w for w, s in enumerate(symbols, start=first_weight))


def check_symbol(payload: str) -> str:
    """The symbol that completes ``payload`` (7 symbols of the alphabet) into a code."""
    if len(payload) != LENGTH - 1 or any(s not in _VALUE for s in payload):
        raise ValueError(f"a payload is {LENGTH - 1} symbols of the alphabet")
    return ALPHABET[-_weighted(payload, 2) % _BASE]


def _checks(code: str) -> bool:
    return (_VALUE[code[-1]] + _weighted(code[:-1], 2)) % _BASE == 0


@dataclass(frozen=True, slots=True)
class DoorCode:
    """A well-formed code, in its canonical spelling (8 symbols, no separator)."""

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if len(value) != LENGTH or any(s not in _VALUE for s in value) or not _checks(value):
            raise ValueError("not a door code")

    def display(self) -> str:
        """As shown to people: two groups of four."""
        return f"{self.value[:4]}-{self.value[4:]}"


@dataclass(frozen=True, slots=True)
class Unreadable:
    problem: CodeProblem


def new_code(choose: Callable[[str], str] = secrets.choice) -> DoorCode:
    """A fresh random code (``choose`` picks one symbol of a string; by default uniformly from
    the operating system's secure source)."""
    payload = "".join(choose(ALPHABET) for _ in range(LENGTH - 1))
    return DoorCode(payload + check_symbol(payload))


def _separator(character: str) -> bool:
    return (
        character.isspace() or unicodedata.category(character) in ("Pd", "Cf") or character in "._/"
    )


def clean(typed: str) -> str:
    """Typed input in the alphabet's spelling: full-width forms folded, upper case, look-alike
    letters read as Latin, spaces, dashes and dots removed."""
    folded = unicodedata.normalize("NFKC", typed).upper().translate(_LOOKALIKES)
    return "".join(c for c in folded if not _separator(c))


def read(typed: str) -> DoorCode | Unreadable:
    """What was typed at the door, as a code, or the first problem found."""
    text = clean(typed)
    if not text:
        return Unreadable(CodeProblem.EMPTY)
    if any(c in AMBIGUOUS for c in text):
        return Unreadable(CodeProblem.AMBIGUOUS_CHARACTER)
    if any(c not in _VALUE for c in text):
        return Unreadable(CodeProblem.UNKNOWN_CHARACTER)
    if len(text) != LENGTH:
        return Unreadable(CodeProblem.WRONG_LENGTH)
    if not _checks(text):
        return Unreadable(CodeProblem.CHECK_FAILED)
    return DoorCode(text)
