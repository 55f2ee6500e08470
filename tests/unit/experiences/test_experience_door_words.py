"""What the door says and how it reads what it is shown, in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.loyalty.experiences import door_codes, door_words
from services.loyalty.experiences.model import InvitationState
from services.loyalty.rules.model import Locale

EN, FR = Locale.EN, Locale.FR
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX29mX3RoZV9wYXNz"


def test_a_signed_pass_is_told_from_a_typed_code() -> None:
    assert door_words.is_token(TOKEN)
    assert door_words.is_token(f"  {TOKEN}\n")
    assert not door_words.is_token("7KQM-X3TD")
    assert not door_words.is_token("7KQM.X3TD.ABCD")  # dots, but far too short for a pass
    assert not door_words.is_token(TOKEN.replace(".", "", 1))  # two parts only
    assert not door_words.is_token(TOKEN + "!")
    short = "a" * 13 + "." + "b" * 13 + "." + "c" * 13  # 41 characters: long enough
    assert door_words.is_token(short) and not door_words.is_token(short[1:])


def test_the_throttle_refuses_from_the_tenth_failure() -> None:
    assert door_words.FAILED_GUESSES == 10
    assert not door_words.throttled(9)
    assert door_words.throttled(10)


def test_retry_after_counts_whole_seconds_to_the_end_of_the_window_and_at_least_one() -> None:
    start = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    assert timedelta(minutes=10) == door_words.THROTTLE_WINDOW
    assert door_words.retry_after(start, start) == 600
    assert door_words.retry_after(start, start + timedelta(seconds=599, milliseconds=1)) == 1
    assert door_words.retry_after(start, start + timedelta(seconds=598, milliseconds=500)) == 2
    assert door_words.retry_after(start, start + timedelta(minutes=10)) == 1
    assert door_words.retry_after(start, start + timedelta(hours=1)) == 1


def test_times_are_read_on_the_local_clock() -> None:
    at = datetime(2026, 7, 1, 17, 5, tzinfo=UTC)
    assert door_words.clock(at, "Europe/Paris") == "19:05"
    assert door_words.clock(at, "UTC") == "17:05"


@pytest.mark.parametrize(
    ("guests", "english", "french"),
    [
        (
            0,
            "Welcome! Checked in, with no guest.",
            "Bienvenue ! Entrée validée, avec aucun invité.",
        ),
        (1, "Welcome! Checked in, with 1 guest.", "Bienvenue ! Entrée validée, avec 1 invité."),
        (2, "Welcome! Checked in, with 2 guests.", "Bienvenue ! Entrée validée, avec 2 invités."),
    ],
)
def test_a_check_in_says_how_many_guests_come(guests: int, english: str, french: str) -> None:
    assert door_words.checked_in(guests, EN) == english
    assert door_words.checked_in(guests, FR) == french


def test_every_other_outcome_in_both_languages() -> None:
    assert door_words.already_checked_in("19:05", 2, EN) == (
        "Already checked in at 19:05, with 2 guests."
    )
    assert door_words.already_checked_in("19:05", 0, FR) == (
        "Entrée déjà validée à 19:05, avec aucun invité."
    )
    assert door_words.outside_window("17:00", "20:00", EN) == (
        "The door is open for this experience from 17:00 to 20:00 only."
    )
    assert door_words.outside_window("17:00", "20:00", FR) == (
        "L'entrée de cette expérience n'est ouverte que de 17:00 à 20:00."
    )
    assert door_words.fixed("wrong_venue", EN) == "This invitation is for another venue."
    assert door_words.fixed("cancelled", FR) == "Cette invitation a été annulée."
    assert door_words.fixed("not_found", FR) == "Aucune invitation ne porte ce code."
    assert door_words.throttled_message(1, EN) == "Too many codes not found: try again in 1 second."
    assert (
        door_words.throttled_message(2, EN) == "Too many codes not found: try again in 2 seconds."
    )
    assert door_words.throttled_message(1, FR) == (
        "Trop de codes introuvables : réessayez dans 1 seconde."
    )
    assert door_words.throttled_message(30, FR) == (
        "Trop de codes introuvables : réessayez dans 30 secondes."
    )


@pytest.mark.parametrize(
    ("state", "english", "french"),
    [
        (InvitationState.OFFERED, "not answered yet", "sans réponse"),
        (InvitationState.WAITLISTED, "on the waitlist", "sur liste d'attente"),
        (InvitationState.DECLINED, "declined", "déclinée"),
        (InvitationState.EXPIRED, "expired", "expirée"),
        (InvitationState.NO_SHOW, "past", "passée"),
    ],
)
def test_an_invitation_without_a_seat_says_what_it_is(
    state: InvitationState, english: str, french: str
) -> None:
    assert door_words.not_accepted(state, EN) == f"This invitation holds no seat: it is {english}."
    assert door_words.not_accepted(state, FR) == (
        f"Cette invitation ne donne pas de place : elle est {french}."
    )


def test_unreadable_scans_say_what_is_wrong() -> None:
    assert door_words.unreadable("TOKEN_INVALID", EN) == (
        "This QR code is not a pass of the programme."
    )
    assert door_words.unreadable("TOKEN_INVALID", FR) == (
        "Ce QR code n'est pas un laissez-passer du programme."
    )
    for problem in door_codes.CodeProblem:
        for locale in (EN, FR):
            assert door_words.unreadable(problem.value, locale) == door_codes.message(
                problem, locale
            )
