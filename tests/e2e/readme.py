"""The GraphQL examples of README.md, as a reader runs them in GraphiQL.

The convention (README.md states it too): each ```` ```graphql ```` block is one request. It may
be followed, with only prose in between and before the next ```` ```graphql ```` block, by a
```` ```json variables ```` block (GraphiQL's Variables tab) and a ```` ```json headers ````
block (its Headers tab). Inside those, a value in angle brackets stands for something the reader
copies:

- ``<member ines.moreau@example.org>``, ``<venue Théâtre du Rivage>``, ``<reward coffee>``,
  ``<partner API key>``: the id (or key) that ``loyalty serve`` printed on the line of that
  member, venue, reward or partner;
- ``<login.accessToken>``, ``<registerMember.member.id>``: that value in the answer of the
  latest example above that asked for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_PLACEHOLDER = re.compile(r"<([^<>\n]+)>")


@dataclass
class Example:
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    line: int = 0


def examples(path: Path = README) -> list[Example]:
    """Every GraphQL example of the README, in order, with its variables and headers."""
    text = path.read_text()
    found: list[Example] = []
    for fence in _FENCE.finditer(text):
        info = fence["info"].strip().split()
        line = text.count("\n", 0, fence.start()) + 1
        if info[:1] == ["graphql"]:
            found.append(Example(fence["body"], line=line))
        elif info[:1] == ["json"] and info[1:] in (["variables"], ["headers"]):
            if not found:
                raise ValueError(f"README.md:{line}: {info[1]} before any GraphQL example")
            setattr(found[-1], info[1], json.loads(fence["body"]))
    return found


def placeholders(value: Any) -> set[str]:
    """The placeholders a variables or headers block uses."""
    return set(_PLACEHOLDER.findall(json.dumps(value, ensure_ascii=False)))


def fill(value: Any, values: dict[str, str]) -> Any:
    """``value`` with each placeholder replaced; an unknown one is an error."""

    def one(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise KeyError(f"nothing gives <{match[1]}> yet")
        return values[match[1]]

    if isinstance(value, str):
        return _PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value
