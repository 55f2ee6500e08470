"""The instants the services take: with their offset, within the years 1 to 9999 once in UTC.
A reward valid until 9999-12-31T23:59:59-14:00 (year 10000 in UTC), an experience or a door scan
at 0001-01-01T00:00:00+14:00 (year 0) or an identity event at either end ended in INTERNAL_ERROR
where the service converted or stored them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from services.common.instants import Instant
from services.loyalty.contract import CreateReward, EventBatch, UpdateReward
from services.loyalty.experiences.contract import OfflineScan, UpdateExperience
from services.loyalty.referrals.contract import SignupReferral

INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)
MESSAGE = "Value error, must fall within the years 1 to 9999 in UTC"


def refusal(adapter: Any, value: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        adapter.validate_python(value)
    [error] = refused.value.errors(include_url=False)
    return str(error["msg"])


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+00:01",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999-00:01",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_an_instant_beyond_the_years_1_to_9999_in_utc_is_refused(text: str) -> None:
    assert refusal(INSTANT, text) == MESSAGE


def test_the_first_and_last_instants_in_utc_are_taken_with_their_offset_kept() -> None:
    assert INSTANT.validate_python("0001-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
    assert INSTANT.validate_python("0001-01-01T00:00:00-14:00") == datetime(
        1, 1, 1, tzinfo=timezone(timedelta(hours=-14))
    )
    last = INSTANT.validate_python("9999-12-31T23:59:59.999999+14:00")
    assert last.utcoffset() == timedelta(hours=14)
    assert INSTANT.validate_python("9999-12-31T23:59:59.999999Z") == datetime.max.replace(
        tzinfo=UTC
    )
    assert refusal(INSTANT, "2026-12-01T19:30:00") == "Input should have timezone info"


def test_the_contracts_take_instants_in_range() -> None:
    late = "9999-12-31T23:59:59-14:00"
    early = "0001-01-01T00:00:00+14:00"
    texts = {f"{k}_{lang}": "t" for k in ("title", "description") for lang in ("en", "fr")}
    reward = {"key": "k", "cost": 5, **texts, "valid_until": late}
    assert refusal(TypeAdapter(CreateReward), reward) == MESSAGE
    assert refusal(TypeAdapter(UpdateReward), {"valid_from": early}) == MESSAGE
    assert refusal(TypeAdapter(UpdateExperience), {"starts_at": late}) == MESSAGE
    assert refusal(TypeAdapter(OfflineScan), {"scan_id": "s", "scanned_at": early}) == MESSAGE
    signup = {
        "code": "K7QM-4XRF",
        "member_id": "3f2b5c1e-8a7d-4e6f-9b0c-1d2e3f4a5b6c",
        "registered_at": early,
        "referee": {"email_hash": "a" * 64},
    }
    assert refusal(TypeAdapter(SignupReferral), signup) == MESSAGE
    event = {
        "event_id": "5d7f3a2b-1c4e-4f6a-8b9c-0d1e2f3a4b5c",
        "type": "registration.attempted",
        "occurred_at": late,
        "payload": {},
    }
    assert refusal(TypeAdapter(EventBatch), {"events": [event]}) == MESSAGE
    naive = {**event, "occurred_at": "2026-12-01T19:30:00"}  # identity's own, taken as before
    assert TypeAdapter(EventBatch).validate_python({"events": [naive]}).events[0].occurred_at == (
        datetime(2026, 12, 1, 19, 30)
    )
