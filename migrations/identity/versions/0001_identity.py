"""Identity: members, identifiers, consent and preferences, merges, organisations, credentials,
tokens, signing keys, idempotency, the transactional outbox and an audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"
TS = sa.DateTime(timezone=True)


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, TS, nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("display_name", sa.Text),
        sa.Column("locale", sa.Text, nullable=False, server_default="en"),
        sa.Column("birth_date", sa.Date),
        sa.Column("password_hash", sa.Text),
        sa.Column("merged_into", UUID(as_uuid=True)),
        _created_at(),
        sa.Column("erased_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.ForeignKeyConstraint(
            ["merged_into"], [f"{SCHEMA}.members.id"], name=op.f("fk_members_merged_into_members")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'merged', 'erased')", name=op.f("ck_members_status")
        ),
        sa.CheckConstraint("locale IN ('en', 'fr')", name=op.f("ck_members_locale")),
        sa.CheckConstraint(
            "(status = 'merged') = (merged_into IS NOT NULL)", name=op.f("ck_members_merged_into")
        ),
        sa.CheckConstraint("merged_into <> id", name=op.f("ck_members_not_merged_into_itself")),
        sa.CheckConstraint(
            "(status = 'erased') = (erased_at IS NOT NULL)", name=op.f("ck_members_erased_at")
        ),
        sa.CheckConstraint(
            "status <> 'erased' OR "
            "(display_name IS NULL AND birth_date IS NULL AND password_hash IS NULL)",
            name=op.f("ck_members_erased_is_pseudonymous"),
        ),
        sa.CheckConstraint(
            "char_length(display_name) <= 200", name=op.f("ck_members_display_name_length")
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_members_merged_into", "members", ["merged_into"], schema=SCHEMA)

    op.create_table(
        "identifiers",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.false()),
        _created_at("linked_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifiers")),
        sa.ForeignKeyConstraint(
            ["member_id"], [f"{SCHEMA}.members.id"], name=op.f("fk_identifiers_member_id_members")
        ),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_identifiers_kind_value")),
        sa.CheckConstraint(
            "kind IN ('email', 'phone', 'membership_card', 'ticketing_id', 'device')",
            name=op.f("ck_identifiers_kind"),
        ),
        sa.CheckConstraint(
            "char_length(value) BETWEEN 1 AND 254", name=op.f("ck_identifiers_value_length")
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_identifiers_member_id", "identifiers", ["member_id"], schema=SCHEMA)

    op.create_table(
        "consents",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        _created_at("at"),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.ForeignKeyConstraint(
            ["member_id"], [f"{SCHEMA}.members.id"], name=op.f("fk_consents_member_id_members")
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push', 'post')", name=op.f("ck_consents_channel")
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_consents_member_id_at", "consents", ["member_id", "at"], schema=SCHEMA)

    op.create_table(
        "preferences",
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("invitation_cap_per_30_days", sa.Integer, nullable=False, server_default="4"),
        sa.Column("quiet_start", sa.Time),
        sa.Column("quiet_end", sa.Time),
        sa.Column("quiet_timezone", sa.Text),
        sa.Column("interests", ARRAY(sa.Text), nullable=False, server_default="{}"),
        _created_at("updated_at"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_preferences")),
        sa.ForeignKeyConstraint(
            ["member_id"], [f"{SCHEMA}.members.id"], name=op.f("fk_preferences_member_id_members")
        ),
        sa.CheckConstraint(
            "invitation_cap_per_30_days BETWEEN 0 AND 30", name=op.f("ck_preferences_cap")
        ),
        sa.CheckConstraint(
            "(quiet_start IS NULL) = (quiet_end IS NULL) "
            "AND (quiet_start IS NULL) = (quiet_timezone IS NULL)",
            name=op.f("ck_preferences_quiet_hours_complete"),
        ),
        sa.CheckConstraint(
            "cardinality(interests) <= 30", name=op.f("ck_preferences_interests_count")
        ),
        schema=SCHEMA,
    )

    op.create_table(
        "merges",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("survivor_id", UUID(as_uuid=True), nullable=False),
        sa.Column("absorbed_id", UUID(as_uuid=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        _created_at("at"),
        sa.Column("identifiers_moved", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
        sa.ForeignKeyConstraint(
            ["survivor_id"], [f"{SCHEMA}.members.id"], name=op.f("fk_merges_survivor_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["absorbed_id"], [f"{SCHEMA}.members.id"], name=op.f("fk_merges_absorbed_id_members")
        ),
        sa.UniqueConstraint("absorbed_id", name=op.f("uq_merges_absorbed_id")),
        sa.CheckConstraint("survivor_id <> absorbed_id", name=op.f("ck_merges_distinct_members")),
        sa.CheckConstraint("identifiers_moved >= 0", name=op.f("ck_merges_identifiers_moved")),
        schema=SCHEMA,
    )
    op.create_index("ix_merges_survivor_id", "merges", ["survivor_id"], schema=SCHEMA)

    for table in ("venues", "partners"):
        extra = (
            [sa.Column("timezone", sa.Text, nullable=False)]
            if table == "venues"
            else [sa.Column("kind", sa.Text, nullable=False)]
        )
        op.create_table(
            table,
            sa.Column("id", UUID(as_uuid=True), nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            *extra,
            sa.Column("external_id", sa.Text),
            _created_at(),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("external_id", name=op.f(f"uq_{table}_external_id")),
            sa.CheckConstraint(
                "char_length(name) BETWEEN 1 AND 200", name=op.f(f"ck_{table}_name_length")
            ),
            schema=SCHEMA,
        )

    op.create_table(
        "accounts",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
        sa.CheckConstraint("role IN ('staff', 'admin')", name=op.f("ck_accounts_role")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_accounts_email_normalised")),
        schema=SCHEMA,
    )

    op.create_table(
        "account_venues",
        sa.Column("account_id", UUID(as_uuid=True), nullable=False),
        sa.Column("venue_id", UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "venue_id", name=op.f("pk_account_venues")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            [f"{SCHEMA}.accounts.id"],
            name=op.f("fk_account_venues_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], [f"{SCHEMA}.venues.id"], name=op.f("fk_account_venues_venue_id_venues")
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_account_venues_venue_id", "account_venues", ["venue_id"], schema=SCHEMA)

    op.create_table(
        "api_keys",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("partner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.Text),
        _created_at(),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.ForeignKeyConstraint(
            ["partner_id"], [f"{SCHEMA}.partners.id"], name=op.f("fk_api_keys_partner_id_partners")
        ),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
        sa.UniqueConstraint(
            "partner_id", "idempotency_key", name=op.f("uq_api_keys_partner_id_idempotency_key")
        ),
        sa.CheckConstraint("char_length(prefix) = 8", name=op.f("ck_api_keys_prefix_length")),
        sa.CheckConstraint(
            "secret_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_api_keys_secret_hash_sha256")
        ),
        schema=SCHEMA,
    )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False),
        sa.Column("subject_kind", sa.Text, nullable=False),
        sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("replaced_by", UUID(as_uuid=True)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.ForeignKeyConstraint(
            ["replaced_by"],
            [f"{SCHEMA}.refresh_tokens.id"],
            name=op.f("fk_refresh_tokens_replaced_by_refresh_tokens"),
        ),
        sa.CheckConstraint(
            "subject_kind IN ('member', 'staff', 'admin')",
            name=op.f("ck_refresh_tokens_subject_kind"),
        ),
        sa.CheckConstraint(
            "expires_at > issued_at", name=op.f("ck_refresh_tokens_expires_after_issue")
        ),
        sa.CheckConstraint(
            "token_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_refresh_tokens_token_hash_sha256")
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema=SCHEMA)
    op.create_index(
        "ix_refresh_tokens_subject_kind_subject_id",
        "refresh_tokens",
        ["subject_kind", "subject_id"],
        schema=SCHEMA,
    )

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, nullable=False),
        sa.Column("private_key_pem", sa.Text, nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        _created_at(),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_signing_keys_active",
        "signing_keys",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
        schema=SCHEMA,
    )

    op.create_table(
        "idempotency",
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("response", JSONB),
        _created_at(),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency")),
        schema=SCHEMA,
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts")),
        sa.CheckConstraint(
            "payload ->> 'member_id' IS NOT NULL", name=op.f("ck_outbox_payload_names_member")
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("delivered_at IS NULL"),
        schema=SCHEMA,
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        _created_at("at"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "outbox",
        "idempotency",
        "signing_keys",
        "refresh_tokens",
        "api_keys",
        "account_venues",
        "accounts",
        "partners",
        "venues",
        "merges",
        "preferences",
        "consents",
        "identifiers",
        "members",
    ):
        op.drop_table(table, schema=SCHEMA)
