"""What a partner's webhook receives, as plain data (pure, no I/O).

Messages follow the Standard Webhooks shape: ``{"type", "timestamp", "data"}``, with an id that
is the same on every retry (``webhook-id``), so that a receiver can drop duplicates. Each event
happens at most once per referral, so the id is derived from the referral and the event type.

The data holds only what the partner gave (its reference and the referral code) and what the
programme decided (status and times): never the referee's identifiers, never a member id, a
balance or points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from services.loyalty.referrals.codes import ReferralCode
from services.loyalty.referrals.model import FromPartner, Referral


class WebhookEvent(StrEnum):
    REGISTERED = "referral.registered"
    CONVERTED = "referral.converted"
    VOIDED = "referral.voided"


_STATUS = {
    WebhookEvent.REGISTERED: "pending",
    WebhookEvent.CONVERTED: "converted",
    WebhookEvent.VOIDED: "voided",
}


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """One message; ``body`` is the exact bytes to sign and send."""

    id: str
    type: WebhookEvent
    timestamp: datetime
    data: Mapping[str, str]

    def payload(self) -> dict[str, object]:
        return {"type": self.type.value, "timestamp": instant(self.timestamp), "data": self.data}

    def body(self) -> bytes:
        return json.dumps(
            self.payload(), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode()


def instant(at: datetime) -> str:
    """An instant in UTC, to the second: ``2026-03-03T13:30:00Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def message_id(referral: Referral, event: WebhookEvent) -> str:
    """``msg_<referral id in hex>_<registered|converted|voided>``."""
    return f"msg_{referral.id.hex}_{event.value.removeprefix('referral.')}"


def message(
    event: WebhookEvent,
    referral: Referral,
    code: ReferralCode,
    at: datetime,
    *,
    void_reason: str | None = None,
) -> WebhookMessage:
    """The message telling the referral's partner that ``event`` happened at ``at``."""
    source = referral.source
    if not isinstance(source, FromPartner):
        raise ValueError("only a referral registered by a partner is told to a webhook")
    if (event is WebhookEvent.VOIDED) != (void_reason is not None):
        raise ValueError("a void, and only a void, states its reason")
    data = {
        "referral_id": str(referral.id),
        "partner_reference": source.reference,
        "referral_code": code.display,
        "status": _STATUS[event],
        "registered_at": instant(referral.registered_at),
    }
    if event is WebhookEvent.CONVERTED:
        data["converted_at"] = instant(at)
    if void_reason is not None:
        data["voided_at"] = instant(at)
        data["void_reason"] = void_reason
    return WebhookMessage(message_id(referral, event), event, at, data)
