"""The door pass: what the QR code of an accepted invitation says, as plain claims (no I/O).

The loyalty service signs these claims as a JWT (EdDSA, its key published like identity's
JWKS), so a door device can check a pass offline; signing and verifying happen at the edge.
The pass is valid only while the door is open (``nbf`` and ``exp``), for one venue, and carries
what staff need to see when the network is gone: the guests expected and the member's name.

Claims: ``iss`` "loyalty", ``aud`` "door", ``sub`` and ``jti`` the invitation id, ``iat``,
``nbf``, ``exp`` (whole seconds since the epoch), ``experience`` its id, ``venue``, ``code``
(the short code, canonical), ``guests``, and ``name`` and ``tier`` when known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.loyalty.experiences.door_codes import DoorCode
from services.loyalty.experiences.lifecycle import Invitation
from services.loyalty.experiences.model import Experience, InvitationState

ISSUER = "loyalty"
AUDIENCE = "door"


class InvalidPass(ValueError):
    """Claims that do not make a door pass."""


@dataclass(frozen=True, slots=True)
class DoorPass:
    invitation_id: UUID
    experience_id: UUID
    venue_id: str
    code: DoorCode
    guests: int
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    name: str | None = None
    tier: str | None = None

    def claims(self) -> dict[str, object]:
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(self.invitation_id),
            "jti": str(self.invitation_id),
            "iat": int(self.issued_at.timestamp()),
            "nbf": int(self.not_before.timestamp()),
            "exp": int(self.expires_at.timestamp()),
            "experience": str(self.experience_id),
            "venue": self.venue_id,
            "code": self.code.value,
            "guests": self.guests,
        }
        if self.name is not None:
            claims["name"] = self.name
        if self.tier is not None:
            claims["tier"] = self.tier
        return claims


def door_pass(
    invitation: Invitation,
    experience: Experience,
    code: DoorCode,
    *,
    issued_at: datetime,
    name: str | None = None,
    tier: str | None = None,
) -> DoorPass:
    """The pass of an accepted invitation, valid while the door is open."""
    if invitation.state is not InvitationState.ACCEPTED:
        raise ValueError("only an accepted invitation has a door pass")
    return DoorPass(
        invitation_id=invitation.id,
        experience_id=experience.id,
        venue_id=experience.venue_id,
        code=code,
        guests=invitation.guests,
        issued_at=issued_at,
        not_before=experience.door_opens_at,
        expires_at=experience.door_closes_at,
        name=name,
        tier=tier,
    )


def _text(claims: Mapping[str, object], key: str) -> str:
    value = claims.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidPass(f"claim {key!r} is missing or not text")
    return value


def _uuid(claims: Mapping[str, object], key: str) -> UUID:
    text = _text(claims, key)
    try:
        return UUID(text)
    except ValueError:
        raise InvalidPass(f"claim {key!r} is not an id") from None


def _whole(claims: Mapping[str, object], key: str) -> int:
    value = claims.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidPass(f"claim {key!r} is missing or not a whole number")
    return value


def _instant(claims: Mapping[str, object], key: str) -> datetime:
    return datetime.fromtimestamp(_whole(claims, key), UTC)


def _optional(claims: Mapping[str, object], key: str) -> str | None:
    return None if claims.get(key) is None else _text(claims, key)


def from_claims(claims: Mapping[str, object]) -> DoorPass:
    """The pass the claims describe (signature, time and audience checked already at the edge);
    ``InvalidPass`` says which claim is wrong."""
    if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
        raise InvalidPass("not a door pass of this programme")
    if claims.get("jti") != claims.get("sub"):
        raise InvalidPass("claims 'sub' and 'jti' differ")
    text = _text(claims, "code")
    try:
        code = DoorCode(text)
    except ValueError:
        raise InvalidPass("claim 'code' is not a door code") from None
    return DoorPass(
        invitation_id=_uuid(claims, "sub"),
        experience_id=_uuid(claims, "experience"),
        venue_id=_text(claims, "venue"),
        code=code,
        guests=_whole(claims, "guests"),
        issued_at=_instant(claims, "iat"),
        not_before=_instant(claims, "nbf"),
        expires_at=_instant(claims, "exp"),
        name=_optional(claims, "name"),
        tier=_optional(claims, "tier"),
    )
