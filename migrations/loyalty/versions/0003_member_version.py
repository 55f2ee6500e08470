"""A version on each member, bumped by every change that what a member earns depends on (earns,
reversals, merges): an earn reads the member's context without a lock and writes in one
statement only if the version is still the one it read.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "members",
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        schema="loyalty",
    )


def downgrade() -> None:
    op.drop_column("members", "version", schema="loyalty")
