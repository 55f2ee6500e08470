"""The figures of experiences: standings at their edges and tallies told as worked examples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.loyalty.experiences.figures import Standing, Tally, standing, tally
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.model import Experience, InvitationState

State = InvitationState
START = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
EVENING = Experience(
    id=uuid.uuid4(),
    venue_id="venue",
    starts_at=START,
    ends_at=START + timedelta(hours=2),
    seats=10,
    offers_close_at=START - timedelta(days=1),
)


def test_an_offer_stands_open_until_the_instant_the_window_closes() -> None:
    closes = EVENING.offers_close_at
    tick = timedelta(microseconds=1)
    assert standing(State.OFFERED, EVENING, closes - tick) is State.OFFERED
    assert standing(State.OFFERED, EVENING, closes) is State.EXPIRED


def test_a_place_on_the_waitlist_stands_until_the_start() -> None:
    tick = timedelta(microseconds=1)
    assert standing(State.WAITLISTED, EVENING, START - tick) is State.WAITLISTED
    assert standing(State.WAITLISTED, EVENING, START) is State.EXPIRED


def test_a_reservation_becomes_a_no_show_the_instant_the_door_closes() -> None:
    closes = EVENING.door_closes_at
    tick = timedelta(microseconds=1)
    assert standing(State.ACCEPTED, EVENING, closes - tick) is State.ACCEPTED
    assert standing(State.ACCEPTED, EVENING, closes) is State.NO_SHOW


def test_final_states_stand_as_they_are_whenever_they_are_read() -> None:
    later = EVENING.door_closes_at + timedelta(days=30)
    for state in (State.DECLINED, State.EXPIRED, State.CANCELLED, State.CHECKED_IN, State.NO_SHOW):
        assert standing(state, EVENING, later) is state


def test_an_evening_is_counted_state_by_state_with_guests_and_ratings() -> None:
    invitations = [
        Standing(State.CHECKED_IN, True, guests=2, guests_checked_in=1, rating=10),
        Standing(State.CHECKED_IN, True, guests=0, rating=6),
        Standing(State.NO_SHOW, True, guests=1),
        Standing(State.ACCEPTED, True, guests=1),
        Standing(State.CANCELLED, True, guests=0),
        Standing(State.WAITLISTED, False, guests=2),
        Standing(State.DECLINED, False),
        Standing(State.EXPIRED, False),
        Standing(State.OFFERED, False),
    ]
    found = tally(invitations, {Suppression.NO_CONSENT: 3, Suppression.CAP_REACHED: 1})
    assert (found.invited, found.accepted, found.declined, found.expired) == (9, 5, 1, 1)
    assert (found.cancelled, found.waitlisted, found.checked_in, found.no_shows) == (1, 1, 2, 1)
    assert (found.guests, found.guests_checked_in) == (4, 1)  # the waitlisted party holds none
    assert found.suppressions == {
        **dict.fromkeys(Suppression, 0),
        Suppression.NO_CONSENT: 3,
        Suppression.CAP_REACHED: 1,
    }
    assert found.ratings == (10, 6)
    assert (found.pulse.promoters, found.pulse.detractors, found.pulse.score) == (
        1,
        1,
        Decimal("0.0"),
    )


def test_nothing_counted_is_all_zeros_with_every_reason_listed() -> None:
    empty = tally([])
    assert empty == Tally()
    assert empty.suppressions == dict.fromkeys(Suppression, 0)
    assert empty.pulse.score is None


def test_tallies_add_up_figure_by_figure() -> None:
    first = tally([Standing(State.CHECKED_IN, True, 1, 1, 9)], {Suppression.NO_CONSENT: 2})
    second = tally(
        [Standing(State.NO_SHOW, True, 2), Standing(State.DECLINED, False)],
        {Suppression.NO_CONSENT: 1, Suppression.ALREADY_BOOKED: 4},
    )
    total = first + second
    assert total == Tally(
        invited=3,
        accepted=2,
        declined=1,
        checked_in=1,
        no_shows=1,
        guests=3,
        guests_checked_in=1,
        suppressions={
            **dict.fromkeys(Suppression, 0),
            Suppression.NO_CONSENT: 3,
            Suppression.ALREADY_BOOKED: 4,
        },
        ratings=(9,),
    )
    every = Tally(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, dict.fromkeys(Suppression, 1), (1,))
    assert every + every == Tally(
        2, 4, 6, 8, 10, 12, 14, 16, 18, 20, dict.fromkeys(Suppression, 2), (1, 1)
    )
