"""The schema's ``DateTime``, stricter than strawberry's: an instant from a client must say its
UTC offset (``2026-12-01T19:30:00+01:00`` or ``...Z``) and fall between the years 1900 and 2999.
A value that does not is refused before execution with ``INVALID_INPUT``; what the API answers is
written as before, in ISO 8601."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types.scalar import ScalarDefinition

EARLIEST_YEAR = 1900
LATEST_YEAR = 2999


def parse_instant(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("a date-time is a string such as 2026-12-01T19:30:00+01:00")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "a date-time is written in ISO 8601, such as 2026-12-01T19:30:00+01:00"
        ) from None
    if parsed.utcoffset() is None:
        raise ValueError("a date-time needs its UTC offset, such as +01:00 or Z")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(
            f"a date-time must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
        )
    return parsed


def _serialize(value: dt.datetime) -> str:
    return value.isoformat()


DateTime = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=_serialize,
    parse_value=parse_instant,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {dt.datetime: DateTime}
