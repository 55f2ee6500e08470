"""Instants as the services' contracts take them: within what Python and PostgreSQL hold once
in UTC. An instant of year 1 or 9999 with a wide offset falls outside (0001-01-01T00:00+14:00 is
year 0 in UTC) and failed inside, where it was converted or stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def in_utc_range(value: datetime) -> datetime:
    """``value`` unchanged, if it is an instant of the years 1 to 9999 in UTC."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must fall within the years 1 to 9999 in UTC") from None
    return value


#: A date and time with its offset, within the years 1 to 9999 in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(in_utc_range)]
