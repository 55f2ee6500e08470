"""Identity's events are read by loyalty's consumers (accounts, contacts, referrals, erasure):
a payload without the ids they read, or with ids that are not UUIDs, is refused with the batch
(422 INVALID_INPUT) instead of failing inside the consumer's transaction (INTERNAL_ERROR)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.loyalty.contract import EventBatch

MEMBER = "3f2b5c1e-8a7d-4e6f-9b0c-1d2e3f4a5b6c"
OTHER = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def batch(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_id": "5d7f3a2b-1c4e-4f6a-8b9c-0d1e2f3a4b5c",
                "type": kind,
                "occurred_at": "2026-12-01T19:30:00+01:00",
                "payload": payload,
            }
        ]
    }


def refusal(kind: str, payload: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        EventBatch.model_validate(batch(kind, payload))
    [error] = refused.value.errors(include_url=False)
    assert error["loc"] == ("events", 0)
    return str(error["msg"])


@pytest.mark.parametrize(
    "kind",
    [
        "member.registered",
        "identifier.linked",
        "member.erased",
        "preferences.updated",
    ],
)
def test_each_event_loyalty_reads_needs_its_member_as_a_uuid(kind: str) -> None:
    message = "Value error, the payload's member_id must be a UUID"
    assert refusal(kind, {}) == message
    assert refusal(kind, {"member_id": None}) == message
    assert refusal(kind, {"member_id": 7}) == message
    assert refusal(kind, {"member_id": "member-1"}) == message
    assert refusal(kind, {"member_id": MEMBER.upper()}) == message
    assert refusal(kind, {"member_id": MEMBER.replace("-", "")}) == message


def test_a_merge_needs_its_survivor_and_its_absorbed_member_and_a_merge_id_if_any() -> None:
    merged = {"survivor_id": MEMBER, "absorbed_id": OTHER}
    assert refusal("members.merged", {**merged, "member_id": "x"}) == (
        "Value error, the payload's member_id must be a UUID"
    )
    assert refusal("members.merged", {**merged, "survivor_id": "x"}) == (
        "Value error, the payload's survivor_id must be a UUID"
    )
    del merged["absorbed_id"]
    assert refusal("members.merged", merged) == (
        "Value error, the payload's absorbed_id must be a UUID"
    )
    merged["absorbed_id"] = OTHER
    assert refusal("members.merged", {**merged, "merge_id": "m" * 200}) == (
        "Value error, the payload's merge_id must be a UUID"
    )
    EventBatch.model_validate(batch("members.merged", merged))
    EventBatch.model_validate(batch("members.merged", {**merged, "merge_id": OTHER}))


def test_the_identifiers_hashes_map_kinds_to_hashes() -> None:
    registered = {"member_id": MEMBER}
    message = "Value error, the payload's identifier_hashes must map kinds to hashes"
    for hashes in ([], "abc", {"email": 7}, {"email": None}, {"email": "a" * 129}):
        assert refusal("member.registered", {**registered, "identifier_hashes": hashes}) == (
            message
        )
    EventBatch.model_validate(
        batch("member.registered", {**registered, "identifier_hashes": {"email": "a" * 128}})
    )
    EventBatch.model_validate(batch("member.registered", {**registered, "identifier_hashes": None}))


def test_another_event_may_name_no_member_but_one_it_names_is_a_uuid() -> None:
    EventBatch.model_validate(batch("registration.attempted", {"kind": "email"}))
    EventBatch.model_validate(batch("registration.attempted", {"member_id": None}))
    EventBatch.model_validate(batch("registration.attempted", {"member_id": MEMBER}))
    assert refusal("registration.attempted", {"member_id": ["x"]}) == (
        "Value error, the payload's member_id must be a UUID"
    )


def test_what_loyalty_does_not_read_is_kept_as_sent() -> None:
    payload = {"member_id": MEMBER, "locale": 7, "preferences": "odd", "birth_date": None}
    [event] = EventBatch.model_validate(batch("member.registered", payload)).events
    assert event.payload == payload
