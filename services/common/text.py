"""Text a client may send: no control characters but tab, line feed and carriage return, and no
lone surrogates (neither can be stored, and none means anything in a name, a key or an email).

``find_forbidden`` walks decoded JSON without recursion, so a deeply nested value cannot
exhaust the stack either: it reports values nested deeper than ``MAX_NESTING``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
MAX_NESTING = 32

CONTROL_CHARACTER = "CONTROL_CHARACTER"
NESTED_TOO_DEEP = "NESTED_TOO_DEEP"


@dataclass(frozen=True)
class Forbidden:
    """Why a value is refused (``CONTROL_CHARACTER`` or ``NESTED_TOO_DEEP``), and where."""

    reason: str
    path: tuple[str | int, ...]

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path) or "the value"

    @property
    def message(self) -> str:
        if self.reason == NESTED_TOO_DEEP:
            return f"{self.where} is nested deeper than {MAX_NESTING} levels"
        return f"{self.where} contains a control character, which is not allowed"


def forbidden_character(text: str) -> str | None:
    """The first forbidden character in ``text``, or None."""
    found = FORBIDDEN_CHARACTERS.search(text)
    return None if found is None else found.group()


def find_forbidden(value: Any, path: tuple[str | int, ...] = ()) -> Forbidden | None:
    """The first string (key or value) holding a forbidden character, or the first value nested
    too deep, in decoded JSON; None when the value is acceptable."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if len(where) - len(path) > MAX_NESTING:
            return Forbidden(NESTED_TOO_DEEP, where[: len(path) + MAX_NESTING])
        if isinstance(item, str):
            if FORBIDDEN_CHARACTERS.search(item):
                return Forbidden(CONTROL_CHARACTER, where)
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str) and FORBIDDEN_CHARACTERS.search(key):
                    return Forbidden(CONTROL_CHARACTER, where)
                stack.append((child, (*where, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*where, i)) for i, child in enumerate(item))
    return None
