"""The ambassadors' board by worked examples: quality over 90 days, a stated order for ties, and
the score explained in plain English and French."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from services.loyalty.referrals import ambassadors, words
from services.loyalty.referrals.ambassadors import Ambassador, RefereeOutcome
from services.loyalty.rules.model import Locale

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
ANNA, BRUNO, CLARA, DAVID = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
DAYS = frozenset({date(2026, 6, 1), date(2026, 6, 8)})


def outcome(
    referrer: uuid.UUID,
    *,
    stayed: bool = True,
    attended: int = 0,
    days: frozenset[date] = frozenset(),
    erased: bool = False,
    converted_at: datetime = AS_OF - timedelta(days=10),
) -> RefereeOutcome:
    return RefereeOutcome(referrer, converted_at, stayed, erased, attended, days)


def test_a_referee_scores_2_for_staying_3_for_attending_and_5_for_returning() -> None:
    assert outcome(ANNA, stayed=False).score == 0
    assert outcome(ANNA).score == 2
    assert outcome(ANNA, attended=1).score == 5
    assert outcome(ANNA, attended=1, days=DAYS).score == 10
    assert outcome(ANNA, stayed=False, attended=4, days=DAYS).score == 8
    assert ambassadors.PER_REFEREE_MAX == 10


def test_an_erased_referee_has_not_stayed_even_if_marked_a_member() -> None:
    assert outcome(ANNA, erased=True).stayed is False


def test_two_qualifying_events_on_one_day_are_not_a_return() -> None:
    assert outcome(ANNA, days=frozenset({date(2026, 6, 1)})).returned is False
    assert outcome(ANNA, days=DAYS).returned is True


def test_quality_beats_count_on_the_board() -> None:
    outcomes = [
        outcome(ANNA, attended=2, days=DAYS),  # one referee who stays, attends and returns: 10
        *[outcome(BRUNO, stayed=False) for _ in range(4)],  # four who left: 0
        outcome(BRUNO),  # and one who stayed: 2
    ]
    assert ambassadors.board(outcomes, AS_OF) == (
        Ambassador(ANNA, rank=1, score=10, referees=1, stayed=1, attended=1, returned=1),
        Ambassador(BRUNO, rank=2, score=2, referees=5, stayed=1, attended=0, returned=0),
    )


def test_the_window_is_the_90_days_before_as_of_start_excluded_and_as_of_included() -> None:
    start = AS_OF - timedelta(days=90)
    outcomes = [
        outcome(ANNA, converted_at=start),  # just outside
        outcome(BRUNO, converted_at=start + timedelta(microseconds=1)),
        outcome(CLARA, converted_at=AS_OF),
        outcome(DAVID, converted_at=AS_OF + timedelta(microseconds=1)),  # not yet
    ]
    assert [a.member_id for a in ambassadors.board(outcomes, AS_OF)] == [BRUNO, CLARA]


def test_ties_are_broken_by_returns_then_attendance_then_staying_then_fewer_referees() -> None:
    outcomes = [
        # ANNA: 10 from one referee who did everything
        outcome(ANNA, attended=1, days=DAYS),
        # BRUNO: 10 from five who stayed only
        *[outcome(BRUNO) for _ in range(5)],
        # CLARA: 10 = 5 + 5 from two who stayed and attended
        outcome(CLARA, attended=1),
        outcome(CLARA, attended=1),
        # DAVID: 10 = 2 + 8, one stayed, one left but attended and returned
        outcome(DAVID),
        outcome(DAVID, stayed=False, attended=1, days=DAYS),
    ]
    board = ambassadors.board(outcomes, AS_OF)
    assert [(a.member_id, a.score, a.returned, a.attended, a.stayed, a.rank) for a in board] == [
        (ANNA, 10, 1, 1, 1, 1),
        (DAVID, 10, 1, 1, 1, 2),  # same figures as Anna but from two people
        (CLARA, 10, 0, 2, 2, 3),
        (BRUNO, 10, 0, 0, 5, 4),
    ]


def test_equal_figures_share_a_rank_and_are_listed_by_member_id() -> None:
    outcomes = [outcome(CLARA), outcome(ANNA), outcome(BRUNO, attended=1), outcome(DAVID)]
    board = ambassadors.board(outcomes, AS_OF)
    assert [(a.member_id, a.rank) for a in board] == [(BRUNO, 1), (ANNA, 2), (CLARA, 2), (DAVID, 2)]


def test_an_empty_window_gives_an_empty_board() -> None:
    assert ambassadors.board([], AS_OF) == ()
    assert ambassadors.board([outcome(ANNA, converted_at=AS_OF - timedelta(days=91))], AS_OF) == ()


def test_quality_is_the_share_of_the_maximum_rounded_down() -> None:
    line = Ambassador(ANNA, rank=1, score=12, referees=3, stayed=3, attended=2, returned=0)
    assert line.quality_percent == 40
    assert Ambassador(ANNA, 1, 7, 3, 2, 1, 0).quality_percent == 23  # 7 / 30 = 23.3 %


def test_the_score_is_explained_in_plain_english_and_french() -> None:
    assert words.score_rules(Locale.EN) == (
        "Ambassadors are ranked by the people they brought in who joined over the last 90 days: "
        "2 points for each one still a member, 3 points for each one who attended at least once, "
        "5 points for each one who came back on two different days. Equal scores are ordered by "
        "those who came back, then attended, then stayed, then by fewer people brought in."
    )
    assert words.score_rules(Locale.FR) == (
        "Les ambassadeurs sont classés selon les personnes parrainées ayant adhéré au cours des "
        "90 derniers jours : 2 points pour chacune encore membre, 3 points pour chacune venue au "
        "moins une fois, 5 points pour chacune revenue deux jours différents. À score égal, "
        "l'ordre suit les personnes revenues, puis venues, puis restées, puis le plus petit "
        "nombre de personnes parrainées."
    )


def test_an_ambassadors_figures_read_as_a_sentence_in_both_languages() -> None:
    many = Ambassador(ANNA, rank=1, score=12, referees=3, stayed=3, attended=2, returned=0)
    assert words.ambassador(many, Locale.EN) == (
        "12 points from 3 people brought in: 3 still members, 2 attended, 0 came back (quality 40%)."
    )
    assert words.ambassador(many, Locale.FR) == (
        "12 points pour 3 personnes parrainées : 3 encore membres, 2 venues, 0 revenue "
        "(qualité 40\u00a0%)."
    )
    two = Ambassador(CLARA, rank=1, score=20, referees=2, stayed=2, attended=2, returned=2)
    assert words.ambassador(two, Locale.EN) == (
        "20 points from 2 people brought in: 2 still members, 2 attended, 2 came back (quality 100%)."
    )
    assert words.ambassador(two, Locale.FR) == (
        "20 points pour 2 personnes parrainées : 2 encore membres, 2 venues, 2 revenues "
        "(qualité 100\u00a0%)."
    )
    one = Ambassador(BRUNO, rank=2, score=10, referees=1, stayed=1, attended=1, returned=1)
    assert words.ambassador(one, Locale.EN) == (
        "10 points from 1 person brought in: 1 still a member, 1 attended, 1 came back (quality 100%)."
    )
    assert words.ambassador(one, Locale.FR) == (
        "10 points pour 1 personne parrainée : 1 encore membre, 1 venue, 1 revenue "
        "(qualité 100\u00a0%)."
    )
