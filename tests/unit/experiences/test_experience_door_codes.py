"""Door codes and door passes by worked examples: what staff type, how it is read, and what the
QR code of an accepted invitation claims."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import UUID

import pytest

from services.loyalty.experiences import door_codes, door_pass
from services.loyalty.experiences.door_codes import CodeProblem, DoorCode, Unreadable
from services.loyalty.experiences.door_pass import DoorPass, InvalidPass
from services.loyalty.experiences.lifecycle import Invitation
from services.loyalty.experiences.model import Experience, InvitationState
from services.loyalty.rules import Locale

# Payload 7KQMX3T has values 5, 17, 21, 18, 28, 1, 24; weighted 2 to 8 they sum to 602,
# which is 13 modulo 31; the check symbol's value is 31 - 13 = 18, the symbol M.
CODE = "7KQMX3TM"


def test_the_alphabet_has_31_symbols_and_no_look_alikes() -> None:
    assert door_codes.ALPHABET == "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    assert len(set(door_codes.ALPHABET)) == 31
    assert set(door_codes.ALPHABET) & set("01ILO") == set()


def test_the_check_symbol_makes_the_weighted_sum_a_multiple_of_31() -> None:
    assert door_codes.check_symbol("7KQMX3T") == "M"
    assert door_codes.check_symbol("2222222") == "2"  # every value 0


def test_a_check_symbol_needs_a_payload_of_seven_symbols_of_the_alphabet() -> None:
    for payload in ("7KQMX3", "7KQMX3TT", "7KQMX3O"):
        with pytest.raises(ValueError, match=r"^a payload is 7 symbols of the alphabet$"):
            door_codes.check_symbol(payload)


def test_a_new_code_is_seven_drawn_symbols_and_the_check_symbol() -> None:
    symbols = iter("7KQMX3T")
    code = door_codes.new_code(lambda alphabet: next(symbols))
    assert (code, code.display()) == (DoorCode(CODE), "7KQM-X3TM")


def test_a_new_code_drawn_at_random_is_well_formed() -> None:
    codes = {door_codes.new_code().value for _ in range(50)}
    assert len(codes) == 50
    assert all(door_codes.read(c) == DoorCode(c) for c in codes)


@pytest.mark.parametrize(
    "typed",
    [
        "7KQMX3TM",
        "7kqm-x3tm",
        "  7KQM X3TM ",
        "7KQM\u2013X3TM",  # an en dash
        "7KQM.X3TM",
        "\uff17\uff2b\uff31\uff2d\uff0d\uff38\uff13\uff34\uff2d",  # full-width forms
        "7\u041aQ\u041cX3\u0422\u041c",  # Cyrillic K, M, T, M
        "7\u039aQ\u039cX3\u03a4\u039c",  # Greek Kappa, Mu, Tau, Mu
        "7kq\u200bmx3tm",  # a zero-width space
    ],
)
def test_what_staff_type_is_read_generously(typed: str) -> None:
    assert door_codes.read(typed) == DoorCode(CODE)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", CodeProblem.EMPTY),
        (" - ", CodeProblem.EMPTY),
        ("7KQMX3T0", CodeProblem.AMBIGUOUS_CHARACTER),
        ("7KQMX3TO", CodeProblem.AMBIGUOUS_CHARACTER),
        ("7kqmx3tl", CodeProblem.AMBIGUOUS_CHARACTER),
        ("1KQMX3TM", CodeProblem.AMBIGUOUS_CHARACTER),
        ("7KQMX3T\u041e", CodeProblem.AMBIGUOUS_CHARACTER),  # a Cyrillic O
        ("7KQM*X3TM", CodeProblem.UNKNOWN_CHARACTER),
        ("7KQMX3TÉ", CodeProblem.UNKNOWN_CHARACTER),
        ("7KQMX3T", CodeProblem.WRONG_LENGTH),
        ("7KQMX3TMM", CodeProblem.WRONG_LENGTH),
        ("7KQMX3TN", CodeProblem.CHECK_FAILED),
        ("K7QMX3TM", CodeProblem.CHECK_FAILED),
    ],
)
def test_what_cannot_be_a_code_says_why(typed: str, problem: CodeProblem) -> None:
    assert door_codes.read(typed) == Unreadable(problem)


def test_every_single_wrong_symbol_is_caught() -> None:
    for position, symbol in itertools.product(range(8), door_codes.ALPHABET):
        if CODE[position] != symbol:
            typo = CODE[:position] + symbol + CODE[position + 1 :]
            assert door_codes.read(typo) == Unreadable(CodeProblem.CHECK_FAILED), typo


def test_every_swap_of_two_different_symbols_is_caught() -> None:
    for a, b in itertools.combinations(range(8), 2):
        swapped = list(CODE)
        swapped[a], swapped[b] = swapped[b], swapped[a]
        if swapped != list(CODE):
            assert door_codes.read("".join(swapped)) == Unreadable(CodeProblem.CHECK_FAILED)


def test_a_door_code_is_only_ever_well_formed() -> None:
    for value in ("7KQMX3TN", "7kqmx3tm", "7KQM-X3TM", ""):
        with pytest.raises(ValueError, match=r"^not a door code$"):
            DoorCode(value)


def test_problem_codes_are_stable() -> None:
    assert [p.value for p in CodeProblem] == [
        "CODE_EMPTY",
        "CODE_AMBIGUOUS_CHARACTER",
        "CODE_UNKNOWN_CHARACTER",
        "CODE_WRONG_LENGTH",
        "CODE_CHECK_FAILED",
    ]


def test_each_problem_is_explained_in_english_and_french() -> None:
    assert [door_codes.message(p, Locale.EN) for p in CodeProblem] == [
        "Type the code shown on the invitation.",
        "Codes never contain 0, O, 1, I or L: check the code.",
        "Codes contain only letters and the digits 2 to 9.",
        "A code has 8 characters.",
        "This code has a typing mistake: check each character.",
    ]
    assert [door_codes.message(p, Locale.FR) for p in CodeProblem] == [
        "Saisissez le code affiché sur l'invitation.",
        "Les codes ne contiennent jamais 0, O, 1, I ni L : vérifiez le code.",
        "Les codes ne contiennent que des lettres et les chiffres 2 à 9.",
        "Un code compte 8 caractères.",
        "Ce code comporte une faute de frappe : vérifiez chaque caractère.",
    ]


# ---- the door pass ---------------------------------------------------------------------------

EXPERIENCE = Experience(
    id=UUID(int=1),
    venue_id="opera",
    starts_at=datetime(2026, 7, 1, 18, 0, tzinfo=UTC),
    ends_at=datetime(2026, 7, 1, 20, 0, tzinfo=UTC),
    seats=20,
    offers_close_at=datetime(2026, 6, 28, tzinfo=UTC),
    guest_allowance=2,
)
ACCEPTED = Invitation(
    id=UUID(int=5),
    member_id=UUID(int=9),
    state=InvitationState.ACCEPTED,
    offered_at=datetime(2026, 6, 1, tzinfo=UTC),
    guests=2,
    accepted_at=datetime(2026, 6, 2, tzinfo=UTC),
)
ISSUED = datetime(2026, 6, 2, 8, 30, tzinfo=UTC)
CLAIMS = {
    "iss": "loyalty",
    "aud": "door",
    "sub": "00000000-0000-0000-0000-000000000005",
    "jti": "00000000-0000-0000-0000-000000000005",
    "iat": 1780389000,  # 2 June 2026 08:30 UTC
    "nbf": 1782921600,  # 1 July 2026 16:00 UTC, two hours before the start
    "exp": 1782932400,  # 1 July 2026 19:00 UTC, one hour after it
    "experience": "00000000-0000-0000-0000-000000000001",
    "venue": "opera",
    "code": CODE,
    "guests": 2,
    "name": "Camille",
}


def test_an_accepted_invitation_has_a_pass_valid_while_the_door_is_open() -> None:
    made = door_pass.door_pass(
        ACCEPTED, EXPERIENCE, DoorCode(CODE), issued_at=ISSUED, name="Camille"
    )
    assert made.claims() == CLAIMS


def test_claims_read_back_give_the_same_pass() -> None:
    made = door_pass.door_pass(
        ACCEPTED, EXPERIENCE, DoorCode(CODE), issued_at=ISSUED, name="Camille", tier="Or"
    )
    assert made.claims() == {**CLAIMS, "tier": "Or"}
    assert door_pass.from_claims(made.claims()) == made
    assert door_pass.from_claims(CLAIMS) == DoorPass(
        invitation_id=UUID(int=5),
        experience_id=UUID(int=1),
        venue_id="opera",
        code=DoorCode(CODE),
        guests=2,
        issued_at=ISSUED,
        not_before=datetime(2026, 7, 1, 16, 0, tzinfo=UTC),
        expires_at=datetime(2026, 7, 1, 19, 0, tzinfo=UTC),
        name="Camille",
        tier=None,
    )


def test_only_an_accepted_invitation_has_a_pass() -> None:
    offered = Invitation(UUID(int=5), UUID(int=9), InvitationState.OFFERED, ISSUED)
    with pytest.raises(ValueError, match=r"^only an accepted invitation has a door pass$"):
        door_pass.door_pass(offered, EXPERIENCE, DoorCode(CODE), issued_at=ISSUED)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"iss": "identity"}, "not a door pass of this programme"),
        ({"aud": "member"}, "not a door pass of this programme"),
        ({"jti": "00000000-0000-0000-0000-000000000006"}, "claims 'sub' and 'jti' differ"),
        ({"sub": "five", "jti": "five"}, "claim 'sub' is not an id"),
        ({"code": "7KQMX3TN"}, "claim 'code' is not a door code"),
        ({"code": 7}, "claim 'code' is missing or not text"),
        ({"venue": ""}, "claim 'venue' is missing or not text"),
        ({"guests": -1}, "claim 'guests' is missing or not a whole number"),
        ({"guests": True}, "claim 'guests' is missing or not a whole number"),
        ({"exp": "soon"}, "claim 'exp' is missing or not a whole number"),
        ({"name": 3}, "claim 'name' is missing or not text"),
    ],
)
def test_claims_that_do_not_make_a_pass_say_which_is_wrong(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidPass) as caught:
        door_pass.from_claims({**CLAIMS, **changes})
    assert str(caught.value) == message


def test_a_missing_claim_is_named() -> None:
    claims = {k: v for k, v in CLAIMS.items() if k != "experience"}
    with pytest.raises(InvalidPass) as caught:
        door_pass.from_claims(claims)
    assert str(caught.value) == "claim 'experience' is missing or not text"


def test_a_member_coming_alone_has_a_pass_for_no_guests() -> None:
    alone = door_pass.from_claims({**CLAIMS, "guests": 0})
    assert (alone.guests, alone.name) == (0, "Camille")
