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
