"""A partner's list of referrals is paged by cursors that spell a registration time and a
referral id: one the list wrote reads back exactly, anything else is refused with the same
INVALID_INPUT; a time without an offset or one before year 1 in UTC once reached PostgreSQL
(the latter ended in INTERNAL_ERROR)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.common.problems import InvalidInput
from services.loyalty.referrals.reading import _after, _cursor

REFERRAL = uuid.UUID(int=5)


def spelled(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_the_list_wrote_reads_back_as_the_same_instant_in_utc() -> None:
    at = datetime(2026, 12, 1, 19, 30, 5, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert _after(_cursor(at, REFERRAL)) == (
        datetime(2026, 12, 1, 18, 30, 5, 123456, UTC),
        REFERRAL,
    )
    assert _after(None) is None
    assert _after("") is None


@pytest.mark.parametrize(
    "text",
    [
        f"2026-01-01T00:00:00|{REFERRAL}",  # no offset
        f"0001-01-01T00:00:00+14:00|{REFERRAL}",  # before year 1 in UTC
        f"2026-02-30T00:00:00+00:00|{REFERRAL}",
        "2026-01-01T00:00:00+00:00|x",
        "2026-01-01T00:00:00+00:00",
        "|",
    ],
)
def test_anything_else_is_not_a_cursor_of_this_list(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _after(spelled(text))
    assert (refused.value.code, refused.value.message) == (
        "INVALID_INPUT",
        "after is not a cursor of this list",
    )


def test_the_earliest_instant_postgresql_holds_is_a_cursor() -> None:
    assert _after(spelled(f"0001-01-01T00:00:00+00:00|{REFERRAL}")) == (
        datetime(1, 1, 1, tzinfo=UTC),
        REFERRAL,
    )
