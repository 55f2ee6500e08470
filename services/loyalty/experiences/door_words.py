"""What the door says, and how it reads what it is shown (no I/O).

A scan is a QR token (a signed JWT: three base64url parts joined by dots) or a typed short code.
Failed guesses are throttled per staff account: a typed code that finds no invitation of the
staff's venue (or cannot be a code) is a failure; once ``FAILED_GUESSES`` failed in a window,
every typed code is refused until it ends. The window starts with the first attempt after the
last one ended and lasts ``THROTTLE_WINDOW``. Attempts of one account are settled one after
the other, so attempts made at once are counted each.

Messages are for the person at the door, in English or French, short and unmistakable.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.loyalty.experiences import door_codes
from services.loyalty.experiences.model import InvitationState
from services.loyalty.rules.model import Locale

FAILED_GUESSES = 10
THROTTLE_WINDOW = timedelta(minutes=10)
TOKEN_PROBLEM = "TOKEN_INVALID"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def is_token(scanned: str) -> bool:
    """Whether a scan is a QR token rather than a typed code (codes are 8 symbols, however
    they are spaced)."""
    text = scanned.strip()
    return len(text) > 40 and _TOKEN.fullmatch(text) is not None


def throttled(failures: int) -> bool:
    """An attempt is refused once ``FAILED_GUESSES`` failed in the window."""
    return failures >= FAILED_GUESSES


def retry_after(window_started_at: datetime, now: datetime) -> int:
    """Whole seconds until the window ends, at least one."""
    left = (window_started_at + THROTTLE_WINDOW - now).total_seconds()
    return max(1, math.ceil(left))


def clock(at: datetime, timezone: str) -> str:
    """``19:05``: the local time at ``at``."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def _guests(n: int, en: bool) -> str:
    if en:
        return "no guest" if n == 0 else f"{n} guest{'s' if n > 1 else ''}"
    return "aucun invité" if n == 0 else f"{n} invité{'s' if n > 1 else ''}"


def checked_in(guests: int, locale: Locale) -> str:
    if locale is Locale.EN:
        return f"Welcome! Checked in, with {_guests(guests, True)}."
    return f"Bienvenue ! Entrée validée, avec {_guests(guests, False)}."


def already_checked_in(at: str, guests: int, locale: Locale) -> str:
    if locale is Locale.EN:
        return f"Already checked in at {at}, with {_guests(guests, True)}."
    return f"Entrée déjà validée à {at}, avec {_guests(guests, False)}."


def outside_window(opens: str, closes: str, locale: Locale) -> str:
    if locale is Locale.EN:
        return f"The door is open for this experience from {opens} to {closes} only."
    return f"L'entrée de cette expérience n'est ouverte que de {opens} à {closes}."


_STATE = {
    Locale.EN: {
        InvitationState.OFFERED: "not answered yet",
        InvitationState.WAITLISTED: "on the waitlist",
        InvitationState.DECLINED: "declined",
        InvitationState.EXPIRED: "expired",
        InvitationState.NO_SHOW: "past",
    },
    Locale.FR: {
        InvitationState.OFFERED: "sans réponse",
        InvitationState.WAITLISTED: "sur liste d'attente",
        InvitationState.DECLINED: "déclinée",
        InvitationState.EXPIRED: "expirée",
        InvitationState.NO_SHOW: "passée",
    },
}


def not_accepted(state: InvitationState, locale: Locale) -> str:
    """An invitation that holds no seat; ``state`` one of those it can be in then."""
    word = _STATE[locale][state]
    if locale is Locale.EN:
        return f"This invitation holds no seat: it is {word}."
    return f"Cette invitation ne donne pas de place : elle est {word}."


_FIXED = {
    Locale.EN: {
        "wrong_venue": "This invitation is for another venue.",
        "cancelled": "This invitation was cancelled.",
        "not_found": "No invitation has this code.",
        TOKEN_PROBLEM: "This QR code is not a pass of the programme.",
    },
    Locale.FR: {
        "wrong_venue": "Cette invitation est pour un autre lieu.",
        "cancelled": "Cette invitation a été annulée.",
        "not_found": "Aucune invitation ne porte ce code.",
        TOKEN_PROBLEM: "Ce QR code n'est pas un laissez-passer du programme.",
    },
}


def fixed(kind: str, locale: Locale) -> str:
    """The message of an outcome that says nothing more: ``wrong_venue``, ``cancelled``,
    ``not_found``, or an unreadable token."""
    return _FIXED[locale][kind]


def unreadable(problem: str, locale: Locale) -> str:
    if problem == TOKEN_PROBLEM:
        return fixed(TOKEN_PROBLEM, locale)
    return door_codes.message(door_codes.CodeProblem(problem), locale)


def throttled_message(seconds: int, locale: Locale) -> str:
    if locale is Locale.EN:
        unit = "second" if seconds == 1 else "seconds"
        return f"Too many codes not found: try again in {seconds} {unit}."
    unit = "seconde" if seconds == 1 else "secondes"
    return f"Trop de codes introuvables : réessayez dans {seconds} {unit}."
