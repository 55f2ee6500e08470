"""The tables of experiences, in the loyalty service's metadata (migration 0005)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from services.loyalty.tables import TS, metadata

ID = UUID(as_uuid=True)

experiences = sa.Table(
    "experiences",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("venue_id", ID, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("title_fr", sa.Text, nullable=False),
    sa.Column("description_en", sa.Text, nullable=False),
    sa.Column("description_fr", sa.Text, nullable=False),
    sa.Column("starts_at", TS, nullable=False),
    sa.Column("ends_at", TS, nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("guest_allowance", sa.Integer, nullable=False),
    sa.Column("production_id", sa.Text),
    sa.Column("production_title", sa.Text),
    sa.Column("eligibility", JSONB, nullable=False),
    sa.Column("invitations_open_at", TS, nullable=False),
    sa.Column("invitations_close_at", TS, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("interests", ARRAY(sa.Text), nullable=False),
    sa.Column("door_opens_before_s", sa.Integer, nullable=False),
    sa.Column("door_closes_after_s", sa.Integer, nullable=False),
    sa.Column("seats_taken", sa.Integer, nullable=False, server_default="0"),
    sa.Column("waitlisted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancelled_at", TS),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
)

issuances = sa.Table(
    "issuances",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("experience_id", ID, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("seed", sa.Text, nullable=False),
    sa.Column("report", JSONB, nullable=False),
    sa.Column("issued_by", sa.Text, nullable=False),
    sa.Column("issued_at", TS, nullable=False),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("issuance_id", ID, primary_key=True),
    sa.Column("member_id", ID, primary_key=True),
    sa.Column("experience_id", ID, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("reasons", ARRAY(sa.Text), nullable=False),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("experience_id", ID, nullable=False),
    sa.Column("member_id", ID, nullable=False),
    sa.Column("issuance_id", ID, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("deliver_after", TS),
    sa.Column("why", JSONB, nullable=False),
    sa.Column("code", sa.Text, nullable=False, unique=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("offered_at", TS, nullable=False),
    sa.Column("guests", sa.Integer, nullable=False, server_default="0"),
    sa.Column("accepted_at", TS),
    sa.Column("queued_at", TS),
    sa.Column("closed_at", TS),
    sa.Column("checked_in_at", TS),
    sa.Column("checked_in_by", sa.Text),
    sa.Column("guests_checked_in", sa.Integer, nullable=False, server_default="0"),
    sa.Column("earn_entry_id", ID),
    sa.Column("earn_points", sa.Integer),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("comment", sa.Text),
    sa.Column("rated_at", TS),
)

invitation_guests = sa.Table(
    "invitation_guests",
    metadata,
    sa.Column("invitation_id", ID, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", ID, nullable=False, unique=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("deliver_after", TS),
    sa.Column("delivered_at", TS),
)

member_contacts = sa.Table(
    "member_contacts",
    metadata,
    sa.Column("member_id", ID, primary_key=True),
    sa.Column("consents", ARRAY(sa.Text), nullable=False),
    sa.Column("invitation_cap", sa.Integer),
    sa.Column("quiet_start", sa.Time),
    sa.Column("quiet_end", sa.Time),
    sa.Column("quiet_timezone", sa.Text),
    sa.Column("interests", ARRAY(sa.Text), nullable=False),
    sa.Column("locale", sa.Text),
    sa.Column("as_of", TS, nullable=False),
    sa.Column("event_id", ID, nullable=False),
    sa.Column("erased", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("merged_into", ID),
)

door_keys = sa.Table(
    "door_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("private_key_sealed", sa.LargeBinary, nullable=False),  # services.common.sealing
    sa.Column("public_jwk", JSONB, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

door_scans = sa.Table(
    "door_scans",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("recorded_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("scanned_at", TS, nullable=False),
    sa.Column("staff_id", sa.Text, nullable=False),
    sa.Column("venue_id", ID),
    sa.Column("device_id", sa.Text),
    sa.Column("scan_id", sa.Text),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("invitation_id", ID),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("answer", JSONB, nullable=False),
)

door_throttle = sa.Table(
    "door_throttle",
    metadata,
    sa.Column("staff_id", sa.Text, primary_key=True),
    sa.Column("window_started_at", TS, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
)
