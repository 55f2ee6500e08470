"""Partner scope and referees' identifiers kept as keyed hashes.

Each partner API key gets an explicit scope set by admins: the triggers it may record, the
venues it may record at (none listed: any venue) and whether it may register referrals. Keys
issued before keep what partners could record until now without the programme's own events:
purchases, attendance and subscriptions, at any venue, and no referrals. A key issued from now
on records purchases only unless its scope says otherwise.

``identifier_keys`` holds the secret of the keyed hash (HMAC-SHA256) identity gives of a
normalised email or phone, so that loyalty can recognise a referee without ever holding the
identifier. One key, made here at random.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column(
            "allowed_triggers",
            ARRAY(sa.Text),
            nullable=False,
            server_default=sa.text("ARRAY['purchase', 'attendance', 'subscription']"),
        ),
        schema=SCHEMA,
    )
    op.alter_column(
        "api_keys",
        "allowed_triggers",
        server_default=sa.text("ARRAY['purchase']"),
        schema=SCHEMA,
    )
    op.add_column(
        "api_keys", sa.Column("allowed_venue_ids", ARRAY(UUID(as_uuid=True))), schema=SCHEMA
    )
    op.add_column(
        "api_keys",
        sa.Column("may_register_referrals", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=SCHEMA,
    )
    op.add_column("api_keys", sa.Column("scope_updated_at", TS), schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_api_keys_allowed_triggers_listed"),
        "api_keys",
        "cardinality(allowed_triggers) <= 10 AND array_position(allowed_triggers, NULL) IS NULL",
        schema=SCHEMA,
    )
    op.create_table(
        "identifier_keys",
        sa.Column("id", sa.SmallInteger, nullable=False),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifier_keys")),
        sa.CheckConstraint("id = 1", name=op.f("ck_identifier_keys_one_key")),
        sa.CheckConstraint("octet_length(key) = 32", name=op.f("ck_identifier_keys_key_length")),
        schema=SCHEMA,
    )
    keys = sa.table("identifier_keys", sa.column("id"), sa.column("key"), schema=SCHEMA)
    op.execute(keys.insert().values(id=1, key=secrets.token_bytes(32)))


def downgrade() -> None:
    op.drop_table("identifier_keys", schema=SCHEMA)
    op.drop_constraint(op.f("ck_api_keys_allowed_triggers_listed"), "api_keys", schema=SCHEMA)
    for column in ("scope_updated_at", "may_register_referrals", "allowed_venue_ids"):
        op.drop_column("api_keys", column, schema=SCHEMA)
    op.drop_column("api_keys", "allowed_triggers", schema=SCHEMA)
