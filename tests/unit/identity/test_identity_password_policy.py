"""The password policy at its edges: the most common passwords in any case, repetitive and
sequential ones, and the account's own identifiers (words of four characters or more, the last
six digits of the phone)."""

from __future__ import annotations

import pytest

from services.common.problems import InvalidInput
from services.identity.password_policy import (
    CONTAINS_IDENTIFIER,
    TOO_COMMON,
    TOO_SIMPLE,
    common_passwords,
    refusal,
    require_acceptable,
)

EMAIL = "ines.moreau@example.org"


def code(password: str, **context: str) -> str | None:
    found = refusal(password, **context)
    return None if found is None else found.code


def test_the_list_holds_thirty_thousand_common_passwords_in_lower_case() -> None:
    passwords = common_passwords()
    assert len(passwords) == 30_000
    assert {"password", "12345678", "iloveyou", "qwertyuiop"} <= passwords


@pytest.mark.parametrize(
    "password", ["password", "PASSWORD1", "Iloveyou", "qwertyuiop", "sunshine"]
)
def test_a_common_password_is_refused_in_any_case(password: str) -> None:
    assert code(password, email=EMAIL) == TOO_COMMON


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("aaaaaaaa", TOO_SIMPLE),
        ("abababab", TOO_SIMPLE),
        ("abcabcab", TOO_SIMPLE),
        ("xyz!xyz!", TOO_SIMPLE),  # a unit of four, repeated
        ("abcde-abcde", None),  # a unit of five is a phrase, not a repetition
        ("abcdefghij", TOO_SIMPLE),
        ("ZYXWVUTS", TOO_SIMPLE),
        ("98765432", TOO_SIMPLE),
        ("13579024", None),
        ("abcdefgi", None),  # one step off the run
    ],
)
def test_repetitive_and_sequential_passwords_are_refused(
    password: str, expected: str | None
) -> None:
    assert code(password, email="x@example.org") == expected


@pytest.mark.parametrize(
    ("password", "context", "expected"),
    [
        ("my moreau pass", {"email": EMAIL}, CONTAINS_IDENTIFIER),
        ("INES.MOREAU!", {"email": EMAIL}, CONTAINS_IDENTIFIER),
        ("inesmoreau", {"email": EMAIL}, CONTAINS_IDENTIFIER),
        ("example-org-pass", {"email": EMAIL}, None),  # the domain is not the member's
        ("lea is here 2026", {"email": "lea@example.org"}, None),  # three letters: too common
        ("theo is here 2026", {"email": "theo@example.org"}, CONTAINS_IDENTIFIER),  # four
        (
            "Hélène-de-Troie",
            {"email": "x@example.org", "display_name": "Helene Martin"},
            CONTAINS_IDENTIFIER,
        ),
        ("call 618035 now", {"email": "x@example.org", "phone": "+33 6 46 18 03 52"}, None),
        (
            "call 180352 now",
            {"email": "x@example.org", "phone": "+33 6 46 18 03 52"},
            CONTAINS_IDENTIFIER,
        ),
        ("call 80352 now!", {"email": "x@example.org", "phone": "+33 6 46 18 03 52"}, None),
    ],
)
def test_the_accounts_own_identifiers_are_refused(
    password: str, context: dict[str, str], expected: str | None
) -> None:
    assert code(password, **context) == expected


def test_a_refusal_is_invalid_input_with_its_code_and_message() -> None:
    with pytest.raises(InvalidInput) as refused:
        require_acceptable("aaaaaaaa", email=EMAIL)
    assert (refused.value.code, refused.value.message, refused.value.status) == (
        TOO_SIMPLE,
        "this password repeats or follows a sequence: choose another",
        422,
    )
    require_acceptable("a long passphrase", email=EMAIL)
