"""Money from clients: currencies by their ISO 4217 code, amounts in plain decimal notation."""

from __future__ import annotations

import re

import pycountry

#: ISO 4217 codes that name no currency: testing, and "no currency involved".
_NOT_CURRENCIES = frozenset({"XTS", "XXX"})
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def currency_code(value: str) -> str:
    """``value`` if it is an ISO 4217 currency code (``EUR``), else ``ValueError``."""
    if value in _NOT_CURRENCIES or pycountry.currencies.get(alpha_3=value) is None:
        raise ValueError(f"{value} is not an ISO 4217 currency code")
    return value


def is_plain_decimal(text: str) -> bool:
    """Digits, optionally a point and more digits (``45.90``): no sign, exponent, underscore,
    space or non-ASCII digit."""
    return _PLAIN_DECIMAL.fullmatch(text) is not None
