"""Identifiers proven by a one-time code before they sign in or receive points.

``identifier_verifications`` holds each email or phone waiting for its code: the code's salted
digest, when it expires, the guesses made and the codes sent. The code itself is written only in
the ``identifier.verification_requested`` outbox event, for the messaging system, and cleared
from it once used, replaced or expired (``ix_outbox_verification_id`` finds the event).

Emails and phones linked before this revision and never verified were linked with nothing
proven: they leave ``identifiers`` (so they no longer sign in or resolve) and wait for a code
instead, one their member asks for. Those given at registration (linked when the member was
created) stay, unverified.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identifier_verifications",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("salt", sa.Text, nullable=False),
        sa.Column("code_hash", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_sent_at", TS, nullable=False),
        sa.Column("sends", sa.Integer, nullable=False),
        sa.Column("sends_since", TS, nullable=False),
        sa.Column("code_in_outbox", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identifier_verifications")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            [f"{SCHEMA}.members.id"],
            name=op.f("fk_identifier_verifications_member_id_members"),
        ),
        sa.UniqueConstraint(
            "member_id",
            "kind",
            "value",
            name=op.f("uq_identifier_verifications_member_id_kind_value"),
        ),
        sa.CheckConstraint(
            "kind IN ('email', 'phone')", name=op.f("ck_identifier_verifications_kind")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_identifier_verifications_attempts")),
        sa.CheckConstraint("sends >= 0", name=op.f("ck_identifier_verifications_sends")),
        sa.CheckConstraint(
            "code_hash ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_identifier_verifications_code_hash_sha256"),
        ),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_identifier_verifications_kind_value"),
        "identifier_verifications",
        ["kind", "value"],
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_identifier_verifications_expires_at"),
        "identifier_verifications",
        ["expires_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("code_in_outbox"),
    )
    op.create_index(
        op.f("ix_outbox_verification_id"),
        "outbox",
        [sa.text("(payload ->> 'verification_id')")],
        schema=SCHEMA,
        postgresql_where=sa.text("type = 'identifier.verification_requested'"),
    )
    # linked, never proven: out of ``identifiers``, waiting for a code their member asks for
    # (an expired code no one knows, its sends window already over)
    op.execute(
        """
        WITH unproven AS (
            DELETE FROM identity.identifiers i
             USING identity.members m
             WHERE m.id = i.member_id AND i.kind IN ('email', 'phone') AND NOT i.verified
               AND i.linked_at <> m.created_at
            RETURNING i.member_id, i.kind, i.value
        )
        INSERT INTO identity.identifier_verifications
            (id, member_id, kind, value, salt, code_hash, expires_at, attempts, last_sent_at,
             sends, sends_since, code_in_outbox)
        SELECT gen_random_uuid(), member_id, kind, value, md5(random()::text),
               encode(sha256(gen_random_uuid()::text::bytea), 'hex'), now(), 0,
               now() - interval '1 day', 0, now() - interval '1 day', false
          FROM unproven
        """
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_verification_id"), "outbox", schema=SCHEMA)
    op.drop_table("identifier_verifications", schema=SCHEMA)
