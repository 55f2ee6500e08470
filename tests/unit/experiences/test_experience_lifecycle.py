"""The life of an invitation by worked examples: seats for a party, the waitlist, the door, and
the evening's rating; then the pulse of promoters minus detractors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from services.loyalty.experiences import lifecycle, ratings
from services.loyalty.experiences.lifecycle import Invitation, Moved, Refusal, Refused, Seats
from services.loyalty.experiences.model import Experience
from services.loyalty.experiences.model import InvitationState as State

START = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
CLOSE = datetime(2026, 6, 28, tzinfo=UTC)
EXPERIENCE = Experience(
    id=UUID(int=1),
    venue_id="opera",
    starts_at=START,
    ends_at=START + timedelta(hours=2),
    seats=4,
    offers_close_at=CLOSE,
    guest_allowance=2,
)
OFFERED_AT = datetime(2026, 6, 1, tzinfo=UTC)
NOON = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
OFFER = Invitation(UUID(int=10), UUID(int=100), State.OFFERED, OFFERED_AT)
ACCEPTED = replace(OFFER, state=State.ACCEPTED, guests=2, accepted_at=NOON)
WAITING = replace(OFFER, state=State.WAITLISTED, guests=1, queued_at=NOON)
DOOR = START - timedelta(minutes=30)


def waiting(n: int, guests: int, minute: int) -> Invitation:
    return Invitation(
        UUID(int=n),
        UUID(int=100 + n),
        State.WAITLISTED,
        OFFERED_AT,
        guests=guests,
        queued_at=NOON + timedelta(minutes=minute),
    )


# ---- accepting -------------------------------------------------------------------------------


def test_accepting_with_guests_takes_a_seat_for_each() -> None:
    outcome = lifecycle.accept(OFFER, EXPERIENCE, Seats(4), guests=2, at=NOON)
    assert outcome == Moved(
        replace(OFFER, state=State.ACCEPTED, guests=2, accepted_at=NOON), taken=3
    )


def test_a_party_that_exactly_fits_takes_the_last_seats() -> None:
    outcome = lifecycle.accept(OFFER, EXPERIENCE, Seats(4, taken=1), guests=2, at=NOON)
    assert isinstance(outcome, Moved) and (outcome.invitation.state, outcome.taken) == (
        State.ACCEPTED,
        3,
    )


def test_a_party_one_seat_too_large_joins_the_waitlist() -> None:
    outcome = lifecycle.accept(OFFER, EXPERIENCE, Seats(4, taken=2), guests=2, at=NOON)
    assert outcome == Moved(
        replace(OFFER, state=State.WAITLISTED, guests=2, queued_at=NOON), waiting=1
    )


def test_nobody_overtakes_the_waitlist_even_when_their_party_would_fit() -> None:
    outcome = lifecycle.accept(OFFER, EXPERIENCE, Seats(4, taken=2, waiting=1), guests=0, at=NOON)
    assert isinstance(outcome, Moved) and outcome.invitation.state is State.WAITLISTED


def test_guests_up_to_the_allowance_and_not_one_more() -> None:
    assert isinstance(lifecycle.accept(OFFER, EXPERIENCE, Seats(4), guests=2, at=NOON), Moved)
    assert lifecycle.accept(OFFER, EXPERIENCE, Seats(4), guests=3, at=NOON) == Refused(
        Refusal.TOO_MANY_GUESTS, State.OFFERED
    )
    with pytest.raises(ValueError, match=r"^guests cannot be negative$"):
        lifecycle.accept(OFFER, EXPERIENCE, Seats(4), guests=-1, at=NOON)


def test_an_offer_can_be_accepted_until_just_before_offers_close() -> None:
    assert isinstance(lifecycle.accept(OFFER, EXPERIENCE, Seats(4), guests=0, at=CLOSE - US), Moved)
    assert lifecycle.accept(OFFER, EXPERIENCE, Seats(4), guests=0, at=CLOSE) == Refused(
        Refusal.OFFER_CLOSED, State.OFFERED
    )


@pytest.mark.parametrize("state", [s for s in State if s is not State.OFFERED])
def test_only_an_offer_can_be_accepted(state: State) -> None:
    invitation = replace(
        OFFER,
        state=state,
        accepted_at=NOON,
        queued_at=NOON,
        checked_in_at=DOOR if state is State.CHECKED_IN else None,
    )
    assert lifecycle.accept(invitation, EXPERIENCE, Seats(4), guests=0, at=NOON) == Refused(
        Refusal.WRONG_STATE, state
    )


# ---- declining, cancelling, expiring ---------------------------------------------------------


def test_declining_an_offer_closes_it() -> None:
    assert lifecycle.decline(OFFER, EXPERIENCE, at=NOON) == Moved(
        replace(OFFER, state=State.DECLINED, closed_at=NOON)
    )
    assert lifecycle.decline(OFFER, EXPERIENCE, at=CLOSE) == Refused(
        Refusal.OFFER_CLOSED, State.OFFERED
    )
    assert lifecycle.decline(ACCEPTED, EXPERIENCE, at=NOON) == Refused(
        Refusal.WRONG_STATE, State.ACCEPTED
    )


def test_cancelling_a_reservation_releases_the_partys_seats() -> None:
    assert lifecycle.cancel(ACCEPTED, EXPERIENCE, at=NOON) == Moved(
        replace(ACCEPTED, state=State.CANCELLED, closed_at=NOON), taken=-3
    )


def test_cancelling_a_place_on_the_waitlist_shortens_it() -> None:
    assert lifecycle.cancel(WAITING, EXPERIENCE, at=NOON) == Moved(
        replace(WAITING, state=State.CANCELLED, closed_at=NOON), waiting=-1
    )


def test_cancelling_an_offer_changes_no_seat() -> None:
    assert lifecycle.cancel(OFFER, EXPERIENCE, at=NOON) == Moved(
        replace(OFFER, state=State.CANCELLED, closed_at=NOON)
    )


def test_a_member_cancels_before_the_start_the_programme_at_any_time() -> None:
    assert isinstance(lifecycle.cancel(ACCEPTED, EXPERIENCE, at=START - US), Moved)
    assert lifecycle.cancel(ACCEPTED, EXPERIENCE, at=START) == Refused(
        Refusal.TOO_LATE, State.ACCEPTED
    )
    assert isinstance(lifecycle.cancel(ACCEPTED, EXPERIENCE, at=START, by_programme=True), Moved)


def test_what_is_over_cannot_be_cancelled() -> None:
    declined = replace(OFFER, state=State.DECLINED, closed_at=NOON)
    assert lifecycle.cancel(declined, EXPERIENCE, at=NOON, by_programme=True) == Refused(
        Refusal.WRONG_STATE, State.DECLINED
    )


def test_an_unanswered_offer_expires_exactly_when_offers_close() -> None:
    assert lifecycle.expire(OFFER, EXPERIENCE, at=CLOSE - US) == Refused(
        Refusal.TOO_EARLY, State.OFFERED
    )
    assert lifecycle.expire(OFFER, EXPERIENCE, at=CLOSE) == Moved(
        replace(OFFER, state=State.EXPIRED, closed_at=CLOSE)
    )


def test_a_place_on_the_waitlist_expires_at_the_start() -> None:
    assert lifecycle.expire(WAITING, EXPERIENCE, at=START - US) == Refused(
        Refusal.TOO_EARLY, State.WAITLISTED
    )
    assert lifecycle.expire(WAITING, EXPERIENCE, at=START) == Moved(
        replace(WAITING, state=State.EXPIRED, closed_at=START), waiting=-1
    )
    assert lifecycle.expire(ACCEPTED, EXPERIENCE, at=START) == Refused(
        Refusal.WRONG_STATE, State.ACCEPTED
    )


# ---- the waitlist ----------------------------------------------------------------------------


def test_the_waitlist_is_promoted_in_order_while_parties_fit() -> None:
    first, second, third = waiting(1, 0, 5), waiting(2, 1, 6), waiting(3, 0, 7)
    result = lifecycle.promote(
        EXPERIENCE, Seats(4, taken=1, waiting=3), [third, first, second], at=NOON
    )
    assert result == lifecycle.Promotion(
        (
            replace(first, state=State.ACCEPTED, accepted_at=NOON),
            replace(second, state=State.ACCEPTED, accepted_at=NOON),
        ),
        Seats(4, taken=4, waiting=1),  # 1 + 2 seats: the third waits for the next release
    )


def test_the_head_of_the_waitlist_is_never_overtaken() -> None:
    head, small = waiting(1, 2, 5), waiting(2, 0, 6)
    result = lifecycle.promote(EXPERIENCE, Seats(4, taken=2, waiting=2), [small, head], at=NOON)
    assert result == lifecycle.Promotion((), Seats(4, taken=2, waiting=2))


def test_equal_times_on_the_waitlist_are_ordered_by_invitation() -> None:
    late_id, early_id = waiting(9, 0, 5), waiting(4, 0, 5)
    assert lifecycle.waitlist_order([late_id, OFFER, early_id]) == [early_id, late_id]


def test_nobody_is_promoted_once_the_experience_has_started() -> None:
    result = lifecycle.promote(EXPERIENCE, Seats(4, waiting=1), [waiting(1, 0, 5)], at=START)
    assert result == lifecycle.Promotion((), Seats(4, waiting=1))


def test_seats_are_counted_from_the_invitations() -> None:
    checked_in = replace(ACCEPTED, state=State.CHECKED_IN, guests=1, checked_in_at=DOOR)
    no_show = replace(ACCEPTED, state=State.NO_SHOW, guests=0)
    declined = replace(OFFER, state=State.DECLINED, guests=2)
    queue = [WAITING, waiting(2, 0, 1), waiting(3, 1, 2)]
    invitations = [ACCEPTED, checked_in, no_show, declined, *queue, OFFER]
    assert lifecycle.seats(EXPERIENCE, invitations) == Seats(4, taken=6, waiting=3)
    assert Seats(4, taken=1, waiting=2).after(Moved(OFFER, taken=3, waiting=-1)) == Seats(4, 4, 1)
    assert Seats(4, taken=1).free == 3


# ---- the door --------------------------------------------------------------------------------


def door(
    invitation: Invitation, at: datetime = DOOR, venue: str = "opera", guests: int | None = None
) -> lifecycle.Outcome:
    return lifecycle.check_in(
        invitation, EXPERIENCE, at=at, staff_id="staff-7", staff_venue_id=venue, guests=guests
    )


def test_a_member_with_a_reservation_is_checked_in_with_their_guests() -> None:
    assert door(ACCEPTED) == Moved(
        replace(
            ACCEPTED,
            state=State.CHECKED_IN,
            checked_in_at=DOOR,
            checked_in_by="staff-7",
            guests_checked_in=2,
        )
    )


def test_guests_who_came_are_counted_and_no_more_than_reserved() -> None:
    outcome = door(ACCEPTED, guests=1)
    assert isinstance(outcome, Moved) and outcome.invitation.guests_checked_in == 1
    alone = door(ACCEPTED, guests=0)
    assert isinstance(alone, Moved) and alone.invitation.guests_checked_in == 0
    assert door(ACCEPTED, guests=3) == Refused(Refusal.TOO_MANY_GUESTS, State.ACCEPTED)


def test_a_second_check_in_says_when_and_by_whom() -> None:
    first = door(ACCEPTED)
    assert isinstance(first, Moved)
    assert door(first.invitation, at=DOOR + timedelta(minutes=3)) == Refused(
        Refusal.ALREADY_CHECKED_IN, State.CHECKED_IN, DOOR, "staff-7"
    )


def test_staff_of_another_venue_learn_nothing_else() -> None:
    cancelled = replace(OFFER, state=State.CANCELLED, closed_at=NOON)
    for invitation in (ACCEPTED, cancelled, OFFER):
        assert door(invitation, venue="theatre") == Refused(Refusal.WRONG_VENUE, invitation.state)


def test_a_cancelled_invitation_is_turned_away_as_cancelled() -> None:
    cancelled = replace(ACCEPTED, state=State.CANCELLED, closed_at=NOON)
    assert door(cancelled) == Refused(Refusal.CANCELLED, State.CANCELLED)


@pytest.mark.parametrize("state", [State.OFFERED, State.DECLINED, State.EXPIRED, State.NO_SHOW])
def test_without_a_reservation_there_is_no_check_in(state: State) -> None:
    invitation = replace(OFFER, state=state, accepted_at=NOON)
    assert door(invitation) == Refused(Refusal.NOT_ACCEPTED, state)


def test_the_door_is_open_from_two_hours_before_the_start_to_one_hour_after() -> None:
    opens, closes = START - timedelta(hours=2), START + timedelta(hours=1)
    assert (EXPERIENCE.door_opens_at, EXPERIENCE.door_closes_at) == (opens, closes)
    assert isinstance(door(ACCEPTED, at=opens), Moved)
    assert isinstance(door(ACCEPTED, at=closes - US), Moved)
    outside = Refused(Refusal.OUTSIDE_DOOR_WINDOW, State.ACCEPTED)
    assert (door(ACCEPTED, at=opens - US), door(ACCEPTED, at=closes)) == (outside, outside)


def test_a_reservation_not_used_by_the_time_the_door_closes_is_a_no_show() -> None:
    closes = EXPERIENCE.door_closes_at
    assert lifecycle.no_show(ACCEPTED, EXPERIENCE, at=closes - US) == Refused(
        Refusal.TOO_EARLY, State.ACCEPTED
    )
    assert lifecycle.no_show(ACCEPTED, EXPERIENCE, at=closes) == Moved(
        replace(ACCEPTED, state=State.NO_SHOW, closed_at=closes)
    )
    assert lifecycle.no_show(OFFER, EXPERIENCE, at=closes) == Refused(
        Refusal.WRONG_STATE, State.OFFERED
    )


# ---- after the evening -----------------------------------------------------------------------

CAME = replace(ACCEPTED, state=State.CHECKED_IN, checked_in_at=DOOR, checked_in_by="staff-7")
LATER = START + timedelta(days=1)


def test_a_member_who_came_rates_the_evening_once() -> None:
    rated = lifecycle.rate(CAME, score=10, at=LATER)
    assert rated == Moved(replace(CAME, rating=10, rated_at=LATER))
    assert isinstance(rated, Moved)
    assert lifecycle.rate(rated.invitation, score=3, at=LATER) == Refused(
        Refusal.ALREADY_RATED, State.CHECKED_IN
    )


def test_ratings_run_from_0_to_10() -> None:
    assert isinstance(lifecycle.rate(CAME, score=0, at=LATER), Moved)
    for score in (-1, 11, True):
        assert lifecycle.rate(CAME, score=score, at=LATER) == Refused(
            Refusal.INVALID_SCORE, State.CHECKED_IN
        )


def test_only_a_member_who_came_may_rate() -> None:
    assert lifecycle.rate(ACCEPTED, score=9, at=LATER) == Refused(
        Refusal.NOT_ATTENDED, State.ACCEPTED
    )


def test_an_invitation_is_always_consistent() -> None:
    for broken, message in [
        ({"state": State.WAITLISTED}, "a waitlisted invitation says when it joined the waitlist"),
        ({"state": State.ACCEPTED}, "an invitation holding seats says when it was accepted"),
        ({"checked_in_at": DOOR}, "a checked-in invitation, and only one, says when it was"),
        ({"guests_checked_in": 1}, "guests cannot be negative, nor more come than were reserved"),
        ({"guests_checked_in": -1}, "guests cannot be negative, nor more come than were reserved"),
        ({"rating": 8}, "only a member who came rates the evening"),
    ]:
        with pytest.raises(ValueError) as caught:
            replace(OFFER, **broken)  # type: ignore[arg-type]
        assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        replace(ACCEPTED, state=State.CHECKED_IN)
    assert str(caught.value) == "a checked-in invitation, and only one, says when it was"


def test_refusal_codes_are_stable() -> None:
    assert [r.value for r in Refusal] == [
        "WRONG_STATE",
        "OFFER_CLOSED",
        "TOO_MANY_GUESTS",
        "TOO_LATE",
        "TOO_EARLY",
        "WRONG_VENUE",
        "ALREADY_CHECKED_IN",
        "CANCELLED",
        "NOT_ACCEPTED",
        "OUTSIDE_DOOR_WINDOW",
        "NOT_ATTENDED",
        "ALREADY_RATED",
        "INVALID_SCORE",
    ]


# ---- the pulse -------------------------------------------------------------------------------


def test_promoters_rate_9_or_10_passives_7_or_8_detractors_6_or_less() -> None:
    assert ratings.pulse([0, 6, 7, 8, 9, 10]) == ratings.Pulse(
        promoters=2, passives=2, detractors=2
    )


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([9, 10, 0], Decimal("33.3")),  # 2 - 1 of 3
        ([9, 10, 10, 5], Decimal("50.0")),
        ([10, 9, 0], Decimal("33.3")),
        ([10, 10, 8], Decimal("66.7")),  # 66.66... rounds up
        ([10] + [7] * 15, Decimal("6.3")),  # 6.25: half away from zero
        ([0] + [7] * 15, Decimal("-6.3")),
        ([10], Decimal("100.0")),
        ([0, 3, 6], Decimal("-100.0")),
        ([7, 8], Decimal("0.0")),
    ],
)
def test_the_score_is_promoters_minus_detractors_in_percent(
    scores: list[int], expected: Decimal
) -> None:
    score = ratings.pulse(scores).score
    assert (score, str(score)) == (expected, str(expected))


def test_no_rating_no_score() -> None:
    assert ratings.pulse([]).score is None
    assert ratings.pulse([]).responses == 0


def test_a_rating_outside_0_to_10_is_refused() -> None:
    for bad in (11, -1, True, 9.5):
        with pytest.raises(ValueError) as caught:
            ratings.pulse([9, bad])  # type: ignore[list-item]
        assert str(caught.value) == f"a rating runs from 0 to 10, not {bad!r}"
