"""Payload shapes that several events share, as loyalty's consumer reads them."""

from __future__ import annotations

from typing import Any

from services.identity import contract


def preferences_payload(prefs: contract.Preferences) -> dict[str, Any]:
    """A member's contact preferences, as ``member.registered`` and ``preferences.updated``
    carry them."""
    quiet = prefs.quiet_hours
    return {
        "consents": {c.channel.value: c.granted for c in prefs.consents},
        "invitation_cap_per_30_days": prefs.invitation_cap_per_30_days,
        "quiet_hours": None
        if quiet is None
        else {
            "start": quiet.start.isoformat(),
            "end": quiet.end.isoformat(),
            "timezone": quiet.timezone,
        },
        "interests": prefs.interests,
    }


#: What only the messaging system may read: the one-time code, and where to send it.
_NOT_FOR_LOYALTY = {
    contract.EventType.IDENTIFIER_VERIFICATION_REQUESTED.value: ("verification_code", "value")
}


def for_loyalty(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as loyalty receives it: a verification request comes without its code and
    its address (loyalty keeps what it receives, and needs neither)."""
    hidden = _NOT_FOR_LOYALTY.get(event_type)
    if not hidden:
        return payload
    return {k: v for k, v in payload.items() if k not in hidden}
