"""A member's contact preferences as identity's events carry them, and as the guardrails read
them (no I/O).

``member.registered`` and ``preferences.updated`` carry ``preferences``: ``consents`` as
``{channel: granted}``, ``invitation_cap_per_30_days``, ``quiet_hours`` (``{start, end,
timezone}`` or null) and ``interests``. A payload that cannot be read keeps nothing: no
channel is consented to, so nobody is contacted on a misreading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from services.loyalty.experiences.guardrails import ContactPreferences
from services.loyalty.experiences.model import Channel
from services.loyalty.experiences.quiet_hours import QuietHours

CHANNELS = frozenset(c.value for c in Channel)
MAX_CAP = 2**31 - 1  # a cap beyond what the projection's column holds caps nothing: no cap


@dataclass(frozen=True, slots=True)
class Contact:
    """What the programme keeps of a member's contact preferences."""

    consents: tuple[str, ...] = ()
    invitation_cap: int | None = None
    quiet_hours: tuple[time, time, str] | None = None
    interests: tuple[str, ...] = ()


def _quiet(raw: object) -> tuple[time, time, str] | None:
    if not isinstance(raw, Mapping):
        return None
    start, end, zone = raw.get("start"), raw.get("end"), raw.get("timezone")
    if not (isinstance(start, str) and isinstance(end, str) and isinstance(zone, str)):
        return None
    try:
        quiet = QuietHours(time.fromisoformat(start), time.fromisoformat(end), zone)
    except (ValueError, LookupError):
        return None
    return quiet.start, quiet.end, quiet.timezone


def from_payload(preferences: object) -> Contact:
    """The preferences an event carries; what cannot be read is left out (fails closed)."""
    if not isinstance(preferences, Mapping):
        return Contact()
    consents = preferences.get("consents")
    granted = (
        tuple(sorted(c for c, ok in consents.items() if ok is True and c in CHANNELS))
        if isinstance(consents, Mapping)
        else ()
    )
    cap = preferences.get("invitation_cap_per_30_days")
    interests = preferences.get("interests")
    return Contact(
        consents=granted,
        invitation_cap=cap
        if isinstance(cap, int) and not isinstance(cap, bool) and 0 <= cap <= MAX_CAP
        else None,
        quiet_hours=_quiet(preferences.get("quiet_hours")),
        interests=tuple(i for i in interests if isinstance(i, str) and i.strip())
        if isinstance(interests, list)
        else (),
    )


def preferences(
    consents: Sequence[str],
    invitation_cap: int | None,
    quiet_hours: tuple[time, time, str] | None,
    interests: Sequence[str],
) -> ContactPreferences:
    """As the guardrails read them."""
    return ContactPreferences(
        consents=frozenset(Channel(c) for c in consents if c in CHANNELS),
        invitation_cap_per_30_days=invitation_cap,
        quiet_hours=QuietHours(*quiet_hours) if quiet_hours else None,
        interests=frozenset(interests),
    )


def payload_preferences(payload: Mapping[str, Any]) -> Contact | None:
    """The preferences of a ``member.registered`` or ``preferences.updated`` payload, or
    ``None`` when it carries none."""
    return from_payload(payload["preferences"]) if "preferences" in payload else None
