"""An experience as the pure rules see it, and what the programme remembers of a member: each
validation at its edge, with its whole message."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.loyalty.experiences.model import (
    Experience,
    InvitationState,
    MemberHistory,
    PastInvitation,
    Performance,
)

START = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
EXPERIENCE = Experience(
    id=UUID(int=1),
    venue_id="opera",
    starts_at=START,
    ends_at=START + timedelta(hours=2),
    seats=1,
    offers_close_at=START,
)


def refused(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValueError]]:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_one_seat_is_enough_and_none_is_not() -> None:
    assert EXPERIENCE.seats == 1
    with refused("an experience has at least one seat"):
        replace(EXPERIENCE, seats=0)


def test_no_guests_is_an_allowance_and_fewer_is_not() -> None:
    assert EXPERIENCE.guest_allowance == 0
    with refused("the guest allowance cannot be negative"):
        replace(EXPERIENCE, guest_allowance=-1)


def test_an_experience_ends_after_it_starts() -> None:
    with refused("an experience ends after it starts"):
        replace(EXPERIENCE, ends_at=START)
    assert replace(EXPERIENCE, ends_at=START + timedelta(microseconds=1)).seats == 1


def test_offers_close_at_the_start_at_the_latest() -> None:
    assert EXPERIENCE.offers_close_at == EXPERIENCE.starts_at
    with refused("offers close at the start at the latest"):
        replace(EXPERIENCE, offers_close_at=START + timedelta(microseconds=1))


def test_the_door_window_contains_the_start() -> None:
    at_the_start = replace(EXPERIENCE, door_opens_before=timedelta(0))
    assert (at_the_start.door_opens_at, at_the_start.door_closes_at) == (
        START,
        START + timedelta(hours=1),
    )
    with refused("the door window must contain the start"):
        replace(EXPERIENCE, door_opens_before=timedelta(microseconds=-1))
    with refused("the door window must contain the start"):
        replace(EXPERIENCE, door_closes_after=timedelta(0))


@pytest.mark.parametrize("field", ["starts_at", "ends_at", "offers_close_at"])
def test_every_instant_is_timezone_aware(field: str) -> None:
    naive = getattr(EXPERIENCE, field).replace(tzinfo=None)
    with refused(f"{field} must be timezone-aware"):
        replace(EXPERIENCE, **{field: naive})


def test_a_members_history_answers_what_the_rules_ask() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    history = MemberHistory(
        UUID(int=7),
        bookings=(Performance(at, "tosca"), Performance(at)),
        attendances=(Performance(at, "aida"),),
        invitations=(
            PastInvitation(UUID(int=1), at - timedelta(days=3), InvitationState.DECLINED),
            PastInvitation(UUID(int=2), at, InvitationState.OFFERED),
            PastInvitation(UUID(int=3), at + timedelta(days=1), InvitationState.OFFERED),
        ),
    )
    assert (history.booked("tosca"), history.booked("aida")) == (True, False)
    assert (history.attended("aida"), history.attended("tosca")) == (True, False)
    # strictly after the instant, later ones included
    assert [history.invitations_after(at - timedelta(days=d)) for d in (4, 3, 0)] == [3, 2, 1]
