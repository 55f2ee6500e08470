"""The loyalty service's tables, all in the ``loyalty`` schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from services.common.tables import service_metadata

metadata = service_metadata("loyalty")

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

TS = sa.DateTime(timezone=True)

rule_sets = sa.Table(
    "rule_sets",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("document", JSONB, nullable=False),
    sa.Column("effective_at", TS, nullable=False),
    sa.Column("published_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("published_by", sa.Text, nullable=False),
    sa.Column("changes", JSONB, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=True, unique=True),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("merged_into", UUID(as_uuid=True), nullable=True),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("erased_at", TS),  # identity erased the member: nothing new is written for them
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("balance", sa.Integer, nullable=True),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("external_id", sa.Text, nullable=False),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("recorded_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("rule_version", sa.Integer, nullable=True),
    sa.Column("reverses_entry_id", UUID(as_uuid=True), nullable=True),
    sa.Column("event", JSONB, nullable=True),
    sa.Column("explanation", JSONB, nullable=False),
    sa.Column("request_hash", sa.Text, nullable=True),
    sa.Column("production_id", sa.Text, nullable=True),
)

postings = sa.Table(
    "postings",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("entry_id", UUID(as_uuid=True), nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("delta", sa.Integer, nullable=False),
)

award_lines = sa.Table(
    "award_lines",
    metadata,
    sa.Column("entry_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("line_no", sa.SmallInteger, primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),
    sa.Column("rule_key", sa.Text, nullable=False),
    sa.Column("rule_version", sa.Integer, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("counts_for_status", sa.Boolean, nullable=False),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),
    sa.Column("entry_id", UUID(as_uuid=True), nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("remaining", sa.Integer, nullable=False),
    sa.Column("earned_at", TS, nullable=False),
    sa.Column("available_at", TS, nullable=False),
    sa.Column("released", sa.Boolean, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
)

rewards = sa.Table(
    "rewards",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("title_fr", sa.Text, nullable=False),
    sa.Column("description_en", sa.Text, nullable=False),
    sa.Column("description_fr", sa.Text, nullable=False),
    sa.Column("cost", sa.Integer, nullable=False),
    sa.Column("stock", sa.Integer, nullable=True),
    sa.Column("min_tier", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("per_member_limit", sa.Integer, nullable=True),
    sa.Column("valid_from", TS, nullable=True),  # inclusive
    sa.Column("valid_until", TS, nullable=True),  # exclusive
    sa.Column("retired_at", TS, nullable=True),
    sa.Column("request_hash", sa.Text, nullable=True),
)

redemptions = sa.Table(
    "redemptions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("entry_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("member_id", UUID(as_uuid=True), nullable=False),
    sa.Column("reward_id", UUID(as_uuid=True), nullable=False),
    sa.Column("voucher_code", sa.Text, nullable=False, unique=True),
    sa.Column("cost", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)
