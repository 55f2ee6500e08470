"""One spelling per identifier: every way of writing the same email or phone gives one value.

Pure: no database, no HTTP. Invalid input raises an ``InvalidInput`` problem with a stable code.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from services.common.problems import InvalidInput
from services.identity.contract import IdentifierKind, ProblemCode

DEFAULT_REGION = "FR"
_CARD = re.compile(r"[A-Z0-9]{4,32}")
_CARD_SEPARATORS = re.compile(r"[\s\-]+")
MAX_TICKETING_ID = 64
MAX_DEVICE_ID = 200


def email(raw: str) -> str:
    """``"  Ines.Moreau@Example.ORG "`` -> ``"ines.moreau@example.org"``."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            f"not a valid email address: {exc}", code=ProblemCode.INVALID_EMAIL
        ) from None
    return f"{result.local_part.lower()}@{result.domain.lower()}"


def phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Any national or international spelling -> E.164 (``"06 12 34 56 78"`` -> ``"+33612345678"``)."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a valid phone number", code=ProblemCode.INVALID_PHONE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def membership_card(raw: str) -> str:
    """Spaces and dashes dropped, upper case, 4 to 32 letters or digits."""
    value = _CARD_SEPARATORS.sub("", raw).upper()
    if not _CARD.fullmatch(value):
        raise InvalidInput(
            "a membership card number has 4 to 32 letters or digits",
            code=ProblemCode.INVALID_IDENTIFIER,
        )
    return value


def _printable(raw: str, *, maximum: int, what: str) -> str:
    value = raw.strip()
    if not 1 <= len(value) <= maximum or not value.isprintable():
        raise InvalidInput(
            f"a {what} has 1 to {maximum} printable characters",
            code=ProblemCode.INVALID_IDENTIFIER,
        )
    return value


def ticketing_id(raw: str) -> str:
    return _printable(raw, maximum=MAX_TICKETING_ID, what="ticketing id")


def device(raw: str) -> str:
    return _printable(raw, maximum=MAX_DEVICE_ID, what="device id")


_BY_KIND = {
    IdentifierKind.EMAIL: email,
    IdentifierKind.PHONE: phone,
    IdentifierKind.MEMBERSHIP_CARD: membership_card,
    IdentifierKind.TICKETING_ID: ticketing_id,
    IdentifierKind.DEVICE: device,
}


def normalise(kind: IdentifierKind | str, raw: str) -> str:
    """The one stored spelling of an identifier of this kind."""
    try:
        known = IdentifierKind(kind)
    except ValueError:
        raise InvalidInput(
            f"unknown identifier kind {kind!r}", code=ProblemCode.INVALID_IDENTIFIER
        ) from None
    return _BY_KIND[known](raw)


def interests(raw: list[str]) -> list[str]:
    """Lower case, trimmed, inner whitespace collapsed, duplicates dropped, first order kept."""
    tidied = (" ".join(item.split()).lower() for item in raw)
    return list(dict.fromkeys(value for value in tidied if value))
