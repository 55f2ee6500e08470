"""Contact preferences as identity's events carry them, read closed: what cannot be read is
left out, so nobody is contacted on a misreading."""

from __future__ import annotations

from datetime import time

from services.loyalty.experiences.contacts import (
    Contact,
    from_payload,
    payload_preferences,
    preferences,
)
from services.loyalty.experiences.guardrails import ContactPreferences
from services.loyalty.experiences.model import Channel
from services.loyalty.experiences.quiet_hours import QuietHours

FULL = {
    "consents": {"email": True, "sms": False, "push": True, "fax": True, "post": "yes"},
    "invitation_cap_per_30_days": 2,
    "quiet_hours": {"start": "22:00:00", "end": "08:00:00", "timezone": "Europe/Paris"},
    "interests": ["Opera", "  ", 7, "Jazz"],
}


def test_preferences_are_read_from_an_event_keeping_only_what_is_valid() -> None:
    assert from_payload(FULL) == Contact(
        consents=("email", "push"),
        invitation_cap=2,
        quiet_hours=(time(22), time(8), "Europe/Paris"),
        interests=("Opera", "Jazz"),
    )


def test_anything_unreadable_grants_nothing() -> None:
    assert from_payload(None) == Contact()
    assert from_payload(["email"]) == Contact()
    odd = {
        "consents": ["email"],
        "invitation_cap_per_30_days": True,
        "quiet_hours": {"start": "25:00", "end": "08:00", "timezone": "Europe/Paris"},
        "interests": "Opera",
    }
    assert from_payload(odd) == Contact()
    assert from_payload({"invitation_cap_per_30_days": -1}).invitation_cap is None
    assert from_payload({"invitation_cap_per_30_days": 0}).invitation_cap == 0
    unknown_zone = {"quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Mars/Olympus"}}
    assert from_payload(unknown_zone).quiet_hours is None
    missing = {"quiet_hours": {"start": "22:00", "end": "08:00"}}
    assert from_payload(missing).quiet_hours is None


def test_an_event_without_preferences_changes_none() -> None:
    assert payload_preferences({"member_id": "m"}) is None
    assert payload_preferences({"preferences": FULL}) == from_payload(FULL)


def test_kept_preferences_are_what_the_guardrails_read() -> None:
    found = preferences(["email", "fax"], 3, (time(21), time(9), "Europe/Paris"), ["Opera"])
    assert found == ContactPreferences(
        consents=frozenset({Channel.EMAIL}),
        invitation_cap_per_30_days=3,
        quiet_hours=QuietHours(time(21), time(9), "Europe/Paris"),
        interests=frozenset({"Opera"}),
    )
    assert preferences([], None, None, []) == ContactPreferences()


def test_a_cap_beyond_what_the_projection_holds_is_no_cap_and_the_largest_it_holds_is_kept() -> (
    None
):
    """A cap of 10**20 reached PostgreSQL's integer column and ended in INTERNAL_ERROR."""
    largest = 2**31 - 1
    assert from_payload({"invitation_cap_per_30_days": largest}).invitation_cap == largest
    assert from_payload({"invitation_cap_per_30_days": largest + 1}).invitation_cap is None
    assert from_payload({"invitation_cap_per_30_days": 10**20}).invitation_cap is None
