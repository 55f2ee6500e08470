"""One spelling per identifier."""

from __future__ import annotations

import pytest

from services.common.problems import InvalidInput
from services.identity.contract import IdentifierKind
from services.identity.normalise import interests, normalise


@pytest.mark.parametrize(
    "raw",
    [
        "ines.moreau@example.org",
        "Ines.Moreau@Example.ORG",
        "  INES.MOREAU@EXAMPLE.ORG  ",
        "\tines.moreau@example.org\n",
    ],
)
def test_every_spelling_of_an_email_gives_one_value(raw: str) -> None:
    assert normalise(IdentifierKind.EMAIL, raw) == "ines.moreau@example.org"


def test_an_internationalised_domain_is_kept_in_lower_case() -> None:
    assert normalise("email", "Léa@Théâtre.FR") == "léa@théâtre.fr"


@pytest.mark.parametrize(
    "raw", ["", "plainaddress", "@example.org", "a@", "a@b", "a b@example.org", "a@@example.org"]
)
def test_an_invalid_email_is_refused_with_its_own_code(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise(IdentifierKind.EMAIL, raw)
    assert caught.value.code == "INVALID_EMAIL"
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "raw",
    [
        "+33 6 12 34 56 78",
        "06 12 34 56 78",
        "0612345678",
        "+33612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
    ],
)
def test_every_spelling_of_a_french_mobile_gives_its_e164_form(raw: str) -> None:
    assert normalise(IdentifierKind.PHONE, raw) == "+33612345678"


def test_a_foreign_number_keeps_its_country() -> None:
    assert normalise(IdentifierKind.PHONE, "+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+33 1", "06 12 34 56 78 90 12"])
def test_an_invalid_phone_is_refused_with_its_own_code(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise(IdentifierKind.PHONE, raw)
    assert caught.value.code == "INVALID_PHONE"


@pytest.mark.parametrize("raw", ["ab12-cd34", "AB12 CD34", " ab12cd34 ", "AB-12-CD-34"])
def test_a_membership_card_drops_separators_and_is_upper_case(raw: str) -> None:
    assert normalise(IdentifierKind.MEMBERSHIP_CARD, raw) == "AB12CD34"


@pytest.mark.parametrize("raw", ["abc", "A" * 33, "AB12_CD34", "AB12/CD34", "ÉCOLE123"])
def test_a_membership_card_outside_4_to_32_letters_or_digits_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise(IdentifierKind.MEMBERSHIP_CARD, raw)
    assert caught.value.code == "INVALID_IDENTIFIER"


def test_a_ticketing_id_is_trimmed_and_otherwise_kept() -> None:
    assert normalise(IdentifierKind.TICKETING_ID, "  Tkt-00042/b ") == "Tkt-00042/b"


@pytest.mark.parametrize("raw", ["", "   ", "x" * 65, "tab\there", "nul\x00"])
def test_a_ticketing_id_must_be_1_to_64_printable_characters(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise(IdentifierKind.TICKETING_ID, raw)
    assert caught.value.code == "INVALID_IDENTIFIER"


def test_a_device_id_is_trimmed() -> None:
    assert normalise(IdentifierKind.DEVICE, " ios:ABC-123 ") == "ios:ABC-123"


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise("passport", "X123")
    assert caught.value.code == "INVALID_IDENTIFIER"


def test_interests_are_lower_case_trimmed_and_deduplicated_in_order() -> None:
    assert interests([" Jazz ", "Théâtre", "jazz", "Contemporary   Dance", "  "]) == [
        "jazz",
        "théâtre",
        "contemporary dance",
    ]


def refusal(kind: IdentifierKind | str, raw: str) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as caught:
        normalise(kind, raw)
    return caught.value.code, caught.value.message


def test_each_refusal_says_what_a_valid_identifier_looks_like() -> None:
    assert refusal("email", "a@b") == (
        "INVALID_EMAIL",
        "not a valid email address: The part after the @-sign is not valid. "
        "It should have a period.",
    )
    assert refusal("phone", "12") == ("INVALID_PHONE", "not a valid phone number")
    assert refusal("membership_card", "abc") == (
        "INVALID_IDENTIFIER",
        "a membership card number has 4 to 32 letters or digits",
    )
    assert refusal("ticketing_id", "") == (
        "INVALID_IDENTIFIER",
        "a ticketing id has 1 to 64 printable characters",
    )
    assert refusal("device", "x" * 201) == (
        "INVALID_IDENTIFIER",
        "a device id has 1 to 200 printable characters",
    )
    assert refusal("passport", "X123") == (
        "INVALID_IDENTIFIER",
        "unknown identifier kind 'passport'",
    )


@pytest.mark.parametrize(
    ("kind", "longest"),
    [(IdentifierKind.TICKETING_ID, 64), (IdentifierKind.DEVICE, 200)],
)
def test_free_form_identifiers_take_one_to_their_maximum_characters(
    kind: IdentifierKind, longest: int
) -> None:
    assert normalise(kind, "7") == "7"
    assert normalise(kind, "y" * longest) == "y" * longest
    assert refusal(kind, "y" * (longest + 1))[0] == "INVALID_IDENTIFIER"


@pytest.mark.parametrize(("raw", "card"), [("ab-12", "AB12"), ("Z" * 32, "Z" * 32)])
def test_a_membership_card_of_4_or_32_characters_is_accepted(raw: str, card: str) -> None:
    assert normalise(IdentifierKind.MEMBERSHIP_CARD, raw) == card
