"""The identity service's tables, all in the ``identity`` schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from services.common.tables import service_metadata

metadata = service_metadata("identity")

_TS = sa.DateTime(timezone=True)


members = sa.Table(
    "members",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("display_name", sa.Text),
    sa.Column("locale", sa.Text, nullable=False, server_default="en"),
    sa.Column("birth_date", sa.Date),
    sa.Column("password_hash", sa.Text),
    sa.Column("merged_into", UUID(as_uuid=True), sa.ForeignKey("identity.members.id")),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("erased_at", _TS),
    sa.CheckConstraint("status IN ('active', 'merged', 'erased')", name="status"),
    sa.CheckConstraint("locale IN ('en', 'fr')", name="locale"),
    sa.CheckConstraint("(status = 'merged') = (merged_into IS NOT NULL)", name="merged_into"),
    sa.CheckConstraint("merged_into <> id", name="not_merged_into_itself"),
    sa.CheckConstraint("(status = 'erased') = (erased_at IS NOT NULL)", name="erased_at"),
    sa.CheckConstraint(
        "status <> 'erased' OR "
        "(display_name IS NULL AND birth_date IS NULL AND password_hash IS NULL)",
        name="erased_is_pseudonymous",
    ),
    sa.CheckConstraint("char_length(display_name) <= 200", name="display_name_length"),
    sa.Index("ix_members_merged_into", "merged_into"),
)

identifiers = sa.Table(
    "identifiers",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey(members.c.id), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("linked_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("kind", "value"),
    sa.CheckConstraint(
        "kind IN ('email', 'phone', 'membership_card', 'ticketing_id', 'device')", name="kind"
    ),
    sa.CheckConstraint("char_length(value) BETWEEN 1 AND 254", name="value_length"),
    sa.Index("ix_identifiers_member_id", "member_id"),
)

identifier_verifications = sa.Table(
    # an email or phone waiting for its one-time code: linked ones are not in ``identifiers``
    # until verified, registration ones are (unverified) and get a row here too
    "identifier_verifications",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey(members.c.id), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("salt", sa.Text, nullable=False),
    sa.Column("code_hash", sa.Text, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_sent_at", _TS, nullable=False),
    sa.Column("sends", sa.Integer, nullable=False),
    sa.Column("sends_since", _TS, nullable=False),
    # the code is still written in its outbox event (cleared once used, replaced or expired)
    sa.Column("code_in_outbox", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("member_id", "kind", "value"),
    sa.CheckConstraint("kind IN ('email', 'phone')", name="kind"),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    sa.CheckConstraint("sends >= 0", name="sends"),
    sa.CheckConstraint("code_hash ~ '^[0-9a-f]{64}$'", name="code_hash_sha256"),
    sa.Index("ix_identifier_verifications_kind_value", "kind", "value"),
    sa.Index(
        "ix_identifier_verifications_expires_at",
        "expires_at",
        postgresql_where=sa.text("code_in_outbox"),
    ),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey(members.c.id), nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("source", sa.Text, nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms', 'push', 'post')", name="channel"),
    sa.Index("ix_consents_member_id_at", "member_id", "at"),
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("member_id", UUID(as_uuid=True), sa.ForeignKey(members.c.id), primary_key=True),
    sa.Column("invitation_cap_per_30_days", sa.Integer, nullable=False, server_default="4"),
    sa.Column("quiet_start", sa.Time),
    sa.Column("quiet_end", sa.Time),
    sa.Column("quiet_timezone", sa.Text),
    sa.Column("interests", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("updated_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("invitation_cap_per_30_days BETWEEN 0 AND 30", name="cap"),
    sa.CheckConstraint(
        "(quiet_start IS NULL) = (quiet_end IS NULL) "
        "AND (quiet_start IS NULL) = (quiet_timezone IS NULL)",
        name="quiet_hours_complete",
    ),
    sa.CheckConstraint("cardinality(interests) <= 30", name="interests_count"),
)

merges = sa.Table(
    "merges",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("survivor_id", UUID(as_uuid=True), sa.ForeignKey(members.c.id), nullable=False),
    sa.Column(
        "absorbed_id", UUID(as_uuid=True), sa.ForeignKey(members.c.id), nullable=False, unique=True
    ),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("identifiers_moved", sa.Integer, nullable=False),
    sa.CheckConstraint("survivor_id <> absorbed_id", name="distinct_members"),
    sa.CheckConstraint("identifiers_moved >= 0", name="identifiers_moved"),
    sa.Index("ix_merges_survivor_id", "survivor_id"),
)

venues = sa.Table(
    "venues",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("external_id", sa.Text, unique=True),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("external_id", sa.Text, unique=True),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("role IN ('staff', 'admin')", name="role"),
    sa.CheckConstraint("email = lower(email)", name="email_normalised"),
)

account_venues = sa.Table(
    "account_venues",
    metadata,
    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey(accounts.c.id), primary_key=True),
    sa.Column("venue_id", UUID(as_uuid=True), sa.ForeignKey(venues.c.id), primary_key=True),
    sa.Index("ix_account_venues_venue_id", "venue_id"),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),  # "account:<email>" or "address:<ip>"
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("since", _TS, nullable=False),  # the window's start
    sa.CheckConstraint("failures >= 0", name="failures"),
    sa.CheckConstraint("char_length(key) <= 300", name="key_length"),
    sa.Index("ix_login_throttle_since", "since"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("partner_id", UUID(as_uuid=True), sa.ForeignKey(partners.c.id), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False, unique=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("revoked_at", _TS),
    # the key's scope, set by admins (migration 0002)
    sa.Column(
        "allowed_triggers",
        ARRAY(sa.Text),
        nullable=False,
        server_default=sa.text("ARRAY['purchase'::text]"),
    ),
    sa.Column("allowed_venue_ids", ARRAY(UUID(as_uuid=True))),  # none: any venue
    sa.Column("may_register_referrals", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scope_updated_at", _TS),
    sa.UniqueConstraint("partner_id", "idempotency_key"),
    sa.CheckConstraint("char_length(prefix) = 8", name="prefix_length"),
    sa.CheckConstraint("secret_hash ~ '^[0-9a-f]{64}$'", name="secret_hash_sha256"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("family_id", UUID(as_uuid=True), nullable=False),
    sa.Column("subject_kind", sa.Text, nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("issued_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("used_at", _TS),
    sa.Column("revoked_at", _TS),
    sa.Column("replaced_by", UUID(as_uuid=True), sa.ForeignKey("identity.refresh_tokens.id")),
    sa.CheckConstraint("subject_kind IN ('member', 'staff', 'admin')", name="subject_kind"),
    sa.CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
    sa.CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="token_hash_sha256"),
    sa.Index("ix_refresh_tokens_family_id", "family_id"),
    sa.Index("ix_refresh_tokens_subject_kind_subject_id", "subject_kind", "subject_id"),
)

revocations = sa.Table(
    "revocations",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),  # the feed's cursor
    sa.Column("kind", sa.Text, nullable=False),  # session | member | api_key | api_key_scope
    sa.Column("subject", sa.Text, nullable=False),  # the family, member or key id
    sa.Column("revoked_at", _TS, nullable=False),  # a member's tokens issued up to this time
    sa.Column("expires_at", _TS, nullable=False),  # no token it concerns is valid after this
    sa.CheckConstraint("kind IN ('session', 'member', 'api_key', 'api_key_scope')", name="kind"),
    sa.CheckConstraint("expires_at > revoked_at", name="expires_after_revocation"),
    sa.CheckConstraint("char_length(subject) <= 100", name="subject_length"),
    sa.Index("ix_revocations_expires_at", "expires_at"),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    # sealed under the key-encryption key (sessions/sealing.py), never in clear
    sa.Column("private_key_sealed", sa.LargeBinary, nullable=False),
    sa.Column("public_jwk", JSONB, nullable=False),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # at most one active key, so replicas starting together agree on one
    sa.Index("uq_signing_keys_active", "active", unique=True, postgresql_where=sa.text("active")),
)

idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("response", JSONB),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.Column("delivered_at", _TS),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    sa.CheckConstraint("payload ->> 'member_id' IS NOT NULL", name="payload_names_member"),
    sa.Index("ix_outbox_pending", "id", postgresql_where=sa.text("delivered_at IS NULL")),
    sa.Index(
        "ix_outbox_verification_id",
        sa.text("(payload ->> 'verification_id')"),
        postgresql_where=sa.text("type = 'identifier.verification_requested'"),
    ),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", _TS, nullable=False, server_default=sa.func.now()),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("details", JSONB, nullable=False, server_default="{}"),
)

identifier_keys = sa.Table(
    "identifier_keys",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", _TS, nullable=False, server_default=sa.func.now()),
)
