"""Referrals: each member's code, referrals with their events, parties and effects, the
rejections kept for admins, and partners' webhooks with their deliveries and attempts.

A referee is held as identity's keyed hashes of their email and phone, never the identifiers.
The database guards what the code guards: one code per member and one member per code (eight
characters of the code alphabet); one referral per partner and reference; a partner's referral
names its partner and reference, a member's names neither; a referral's events are recorded
once each; each effect (reward, welcome, reversal) happens at most once per referral; a webhook
delivery is sent under one message id. Codes are given lazily (at registration, or when first
read), so existing members need no backfill.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"
TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)
NOW = sa.text("now()")
STATUSES = ("pending", "joined", "converted", "voided", "expired")
CHANNELS = ("partner", "signup", "guest")
EFFECTS = ("reward_referrer", "welcome_referee", "reverse")
DELIVERY = ("pending", "delivered", "failed")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "referral_codes",
        sa.Column("member_id", ID, primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint("code", name="uq_referral_codes_code"),
        sa.CheckConstraint("code ~ '^[2-9A-HJKMNP-Z]{8}$'", name="code_alphabet"),
        schema=S,
    )
    op.create_table(
        "referrals",
        sa.Column("id", ID, primary_key=True),
        sa.Column("referrer_id", ID, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("partner_id", ID),
        sa.Column("reference", sa.Text),
        sa.Column("referee_email_hash", sa.Text),
        sa.Column("referee_phone_hash", sa.Text),
        sa.Column("consent_method", sa.Text, nullable=False),
        sa.Column("consent_given_at", TS, nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("holds_until", TS, nullable=False),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("terms", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("current_referrer_id", ID, nullable=False),
        sa.Column("referee_id", ID),
        sa.Column("joined_at", TS),
        sa.Column("converted_at", TS),
        sa.Column("voided_at", TS),
        sa.CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        sa.CheckConstraint(_in("status", STATUSES), name="status_known"),
        sa.CheckConstraint(
            "(channel = 'partner') = (partner_id IS NOT NULL) "
            "AND (channel <> 'partner' OR reference IS NOT NULL)",
            name="partner_names_itself",
        ),
        sa.CheckConstraint(
            "referee_email_hash IS NOT NULL OR referee_phone_hash IS NOT NULL",
            name="referee_named",
        ),
        sa.CheckConstraint("holds_until > registered_at", name="window_ordered"),
        sa.CheckConstraint(
            "(status = 'converted') = (converted_at IS NOT NULL) OR status = 'voided'",
            name="converted_says_when",
        ),
        sa.CheckConstraint(
            "(status = 'voided') = (voided_at IS NOT NULL)", name="voided_says_when"
        ),
        sa.UniqueConstraint("partner_id", "reference", name="uq_referrals_partner_reference"),
        schema=S,
    )
    op.create_index(
        "uq_referrals_member_channel_reference",
        "referrals",
        ["channel", "reference"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("channel <> 'partner'"),
    )
    op.create_index(
        "ix_referrals_referee_email_hash", "referrals", ["referee_email_hash"], schema=S
    )
    op.create_index(
        "ix_referrals_referee_phone_hash", "referrals", ["referee_phone_hash"], schema=S
    )
    op.create_index(
        "ix_referrals_referrer_id_registered_at",
        "referrals",
        ["referrer_id", "registered_at"],
        schema=S,
    )
    op.create_index(
        "ix_referrals_joined_referee",
        "referrals",
        ["referee_id"],
        schema=S,
        postgresql_where=sa.text("status = 'joined'"),
    )
    op.create_index(
        "ix_referrals_current_referrer_id_converted_at",
        "referrals",
        ["current_referrer_id", "converted_at"],
        schema=S,
    )
    op.create_table(
        "referral_events",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
        sa.ForeignKeyConstraint(["referral_id"], [f"{S}.referrals.id"]),
        sa.UniqueConstraint("referral_id", "key", name="uq_referral_events_referral_id_key"),
        schema=S,
    )
    op.create_table(
        "referral_parties",
        sa.Column("member_id", ID, primary_key=True),
        sa.Column("referral_id", ID, primary_key=True),
        sa.ForeignKeyConstraint(["referral_id"], [f"{S}.referrals.id"]),
        schema=S,
    )
    op.create_table(
        "referral_effects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("claimed_until", TS),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("done_at", TS),
        sa.ForeignKeyConstraint(["referral_id"], [f"{S}.referrals.id"]),
        sa.UniqueConstraint("referral_id", "kind", name="uq_referral_effects_referral_id_kind"),
        sa.CheckConstraint(_in("kind", EFFECTS), name="kind_known"),
        schema=S,
    )
    op.create_index(
        "ix_referral_effects_pending",
        "referral_effects",
        ["id"],
        schema=S,
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_table(
        "referral_rejections",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("partner_id", ID),
        sa.Column("reference", sa.Text),
        sa.Column("referrer_id", ID),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        schema=S,
    )
    op.create_table(
        "partner_webhooks",
        sa.Column("partner_id", ID, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_valid_until", TS),
        sa.Column("loopback_http_allowed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.CheckConstraint(
            "(previous_secret IS NULL) = (previous_valid_until IS NULL)",
            name="previous_secret_expires",
        ),
        schema=S,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, primary_key=True),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("referral_id", ID, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
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
        sa.UniqueConstraint("message_id", name="uq_webhook_deliveries_message_id"),
        sa.CheckConstraint(_in("status", DELIVERY), name="status_known"),
        sa.CheckConstraint(
            "(status = 'delivered') = (delivered_at IS NOT NULL)", name="delivered_says_when"
        ),
        sa.CheckConstraint(
            "(status = 'failed') = (gave_up_at IS NOT NULL)", name="failed_says_when"
        ),
        sa.CheckConstraint("attempts >= 0", name="attempts_counted"),
        schema=S,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        schema=S,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_partner_id_created_at",
        "webhook_deliveries",
        ["partner_id", "created_at"],
        schema=S,
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], [f"{S}.webhook_deliveries.id"]),
        schema=S,
    )
    op.create_index(
        "ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"], schema=S
    )


def downgrade() -> None:
    for table in (
        "webhook_attempts",
        "webhook_deliveries",
        "partner_webhooks",
        "referral_rejections",
        "referral_effects",
        "referral_parties",
        "referral_events",
        "referrals",
        "referral_codes",
    ):
        op.drop_table(table, schema=S)
