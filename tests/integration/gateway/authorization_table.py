"""What the authorization matrix expects: the outcome kinds, and how a row is written.

A row is one document (its root field marked ``@``, where the matrix puts an alias or nothing),
the variables each point of view sends (prepared afresh for each cell when the operation
changes state), and the expected outcome for each of ``VIEWS``:

- ``Ok(typename, check)``: data and no error; for a union, the member named; ``check`` looks
  at the answer (whose data it is);
- ``Denied(code, at)``: one error, with this code, at the root field (``at=""``) or at the
  nested path ``at`` below it;
- ``Typed(typename, code)``: an expected outcome of the union (a ``UserError``) with this code.

``row(default, **views)`` fills every view with ``default`` except the anonymous caller and the
erased member (``UNAUTHENTICATED`` unless said otherwise) and those named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.integration.gateway.authorization_world import VIEWS, World

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"


@dataclass
class Prepared:
    """What a cell sends: its variables, and credentials other than the view's own when the
    operation acts on the caller itself and must not consume the shared member."""

    variables: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] | None = None
    subject: str | None = None  # whose data the answer must be, when not the view's


@dataclass
class Cell:
    """One cell being run: the world, the point of view, and what was sent."""

    world: World
    view: str
    prepared: Prepared

    @property
    def subject(self) -> str | None:
        return self.prepared.subject or self.world.subject(self.view)


Check = Callable[[Cell, Any], None]


def _no_check(cell: Cell, value: Any) -> None:
    del cell, value


@dataclass(frozen=True)
class Ok:
    typename: str | None = None
    check: Check = field(default=_no_check, compare=False)

    def __str__(self) -> str:
        return f"ok {self.typename or ''}".strip()


@dataclass(frozen=True)
class Denied:
    code: str
    at: str = ""

    def __str__(self) -> str:
        return f"{self.code} at {self.at}" if self.at else self.code


@dataclass(frozen=True)
class Typed:
    typename: str
    code: str
    check: Check = field(default=_no_check, compare=False)

    def __str__(self) -> str:
        return f"{self.typename}/{self.code}"


Expected = Ok | Denied | Typed

DENIED = Denied(FORBIDDEN)
NO_SESSION = Denied(UNAUTHENTICATED)


Prepare = Callable[[World, str], Awaitable[Prepared]]


async def nothing(world: World, view: str) -> Prepared:
    del world, view
    return Prepared()


def sends(make: Callable[[World, str], dict[str, Any]]) -> Prepare:
    """Variables computed without calling the platform."""

    async def prepare(world: World, view: str) -> Prepared:
        return Prepared(make(world, view))

    return prepare


@dataclass(frozen=True)
class Row:
    name: str  # the root field, or the root field and the nested path a row reaches
    document: str
    expect: Mapping[str, Expected]
    prepare: Prepare = nothing

    @property
    def field(self) -> str:
        return self.name.split(".")[0].split(" ")[0]


def row(default: Expected, **views: Expected) -> dict[str, Expected]:
    unknown = set(views) - set(VIEWS)
    assert not unknown, unknown
    filled: dict[str, Expected] = {v: default for v in VIEWS}
    filled["anonymous"] = filled["erased"] = NO_SESSION
    filled.update(views)
    return filled


def everyone(expected: Expected, **views: Expected) -> dict[str, Expected]:
    """Open to every caller; bad credentials (the erased member's token) are still refused."""
    return row(expected, **{"anonymous": expected, **views})


def members(expected: Expected, **views: Expected) -> dict[str, Expected]:
    return row(DENIED, **{"member": expected, "other_member": expected, **views})


def admins(expected: Expected, **views: Expected) -> dict[str, Expected]:
    return row(DENIED, **{"admin": expected, **views})


def venue_staff(expected: Expected, **views: Expected) -> dict[str, Expected]:
    """Staff of venue 1 and admins; staff of the other venue are refused."""
    return row(DENIED, **{"staff": expected, "admin": expected, **views})


def partners(expected: Expected, **views: Expected) -> dict[str, Expected]:
    named = dict.fromkeys(("partner", "other_partner", "out_of_scope"), expected)
    return row(DENIED, **{**named, **views})
