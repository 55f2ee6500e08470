"""Sign-in throttling that holds across replicas: failed attempts counted per account (the
normalised email, whether or not an account has it) and per client address, in fixed windows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttle_failures")),
        sa.CheckConstraint("char_length(key) <= 300", name=op.f("ck_login_throttle_key_length")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_login_throttle_since"), "login_throttle", ["since"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("login_throttle", schema=SCHEMA)
