"""What a creating command returns: the thing, and whether this call created it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """The value, and ``created=False`` for an idempotent replay."""

    value: T
    created: bool
