"""Revocations that access tokens and cached API keys must honour at once: a refresh family
revoked (its access tokens carry its id as ``sid``), a member's tokens issued up to a time
(erasure, merge), a partner API key. Gateways follow them through a long-poll feed; a row is
kept until no token it concerns can still be valid (``expires_at``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "revocations",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("revoked_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocations")),
        sa.CheckConstraint(
            "kind IN ('session', 'member', 'api_key')", name=op.f("ck_revocations_kind")
        ),
        sa.CheckConstraint(
            "expires_at > revoked_at", name=op.f("ck_revocations_expires_after_revocation")
        ),
        sa.CheckConstraint(
            "char_length(subject) <= 100", name=op.f("ck_revocations_subject_length")
        ),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_revocations_expires_at"), "revocations", ["expires_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("revocations", schema=SCHEMA)
