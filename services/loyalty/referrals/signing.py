"""Standard Webhooks signatures for partner webhooks, through the ``standardwebhooks`` library
(pure: an HMAC-SHA256 over ``id.timestamp.body``, no I/O, the time is given).

While a partner rotates its secret, messages carry one signature per secret still valid, so
that the receiver accepts them with either the old or the new one.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from services.loyalty.referrals.payloads import WebhookMessage

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


def new_secret(random_bytes: bytes) -> str:
    """A secret to give a partner once: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    if not MIN_SECRET_BYTES <= len(random_bytes) <= MAX_SECRET_BYTES:
        raise ValueError(f"a secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def sign(message_id: str, body: bytes, secrets: Sequence[str], sent_at: datetime) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers for sending
    ``body`` at ``sent_at``, with one signature per secret."""
    if not secrets:
        raise ValueError("a message is signed with at least one secret")
    # the library reads its time as UTC: convert first, never relabel another zone
    utc = sent_at.astimezone(UTC)
    text = body.decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(utc.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, utc, text) for s in secrets),
    }


def headers(message: WebhookMessage, secrets: Sequence[str], sent_at: datetime) -> dict[str, str]:
    """The headers to send ``message.body()`` with at ``sent_at``."""
    return sign(message.id, message.body(), secrets, sent_at)
