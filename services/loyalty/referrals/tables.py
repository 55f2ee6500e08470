"""The tables of referrals, in the loyalty service's metadata (migration 0006).

Loyalty never holds a referee's email or phone: only identity's keyed hash of each (HMAC with a
secret identity keeps), enough to find the same person again and nothing to read back.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.loyalty.tables import TS, metadata

ID = UUID(as_uuid=True)

referral_codes = sa.Table(
    "referral_codes",
    metadata,
    sa.Column("member_id", ID, primary_key=True),
    sa.Column("code", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

referrals = sa.Table(
    "referrals",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("referrer_id", ID, nullable=False),  # as registered (the code's owner then)
    sa.Column("code", sa.Text, nullable=False),  # the code given, canonical
    sa.Column("channel", sa.Text, nullable=False),  # partner | signup | guest
    sa.Column("partner_id", ID),
    sa.Column("reference", sa.Text),  # the partner's own, or the guest's invitation
    sa.Column("referee_email_hash", sa.Text),
    sa.Column("referee_phone_hash", sa.Text),
    sa.Column("consent_method", sa.Text, nullable=False),
    sa.Column("consent_given_at", TS, nullable=False),
    sa.Column("registered_at", TS, nullable=False),
    sa.Column("holds_until", TS, nullable=False),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("terms", JSONB, nullable=False),  # the referral terms in force at registration
    # the projection of the referral's events (``referral_events``), kept in step under its lock
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("current_referrer_id", ID, nullable=False),
    sa.Column("referee_id", ID),
    sa.Column("joined_at", TS),
    sa.Column("converted_at", TS),
    sa.Column("voided_at", TS),
)

referral_events = sa.Table(
    "referral_events",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("referral_id", ID, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("received_at", TS, nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("referral_id", "key"),
)

referral_parties = sa.Table(
    "referral_parties",
    metadata,
    sa.Column("member_id", ID, primary_key=True),
    sa.Column("referral_id", ID, primary_key=True),
)

referral_effects = sa.Table(
    "referral_effects",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("referral_id", ID, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # reward_referrer | welcome_referee | reverse
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("claimed_until", TS),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("done_at", TS),
    sa.UniqueConstraint("referral_id", "kind"),
)

referral_rejections = sa.Table(
    "referral_rejections",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("partner_id", ID),
    sa.Column("reference", sa.Text),
    sa.Column("referrer_id", ID),
    sa.Column("reason", sa.Text, nullable=False),  # the precise reason, for admins
    sa.Column("at", TS, nullable=False),
)

partner_webhooks = sa.Table(
    "partner_webhooks",
    metadata,
    sa.Column("partner_id", ID, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("previous_secret", sa.Text),
    sa.Column("previous_valid_until", TS),
    sa.Column("loopback_http_allowed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_by", sa.Text, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("partner_id", ID, nullable=False),
    sa.Column("message_id", sa.Text, nullable=False, unique=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("referral_id", ID, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the exact bytes signed and sent
    sa.Column("created_at", TS, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_attempt_at", TS),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("last_attempt_at", TS),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", TS),
    sa.Column("gave_up_at", TS),
    sa.Column("give_up_reason", sa.Text),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("delivery_id", ID, nullable=False),
    sa.Column("attempted_at", TS, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)

guest_referral_intents = sa.Table(  # migration 0009
    "guest_referral_intents",
    metadata,
    sa.Column("invitation_id", ID, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("member_id", ID, nullable=False),
    sa.Column("accepted_at", TS, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TS, nullable=False),
)
