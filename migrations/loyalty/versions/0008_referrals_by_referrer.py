"""Referrals by their current referrer and time: the index that a registration's cap count
(``current_referrer_id = ? AND registered_at > ?``) and a member's list of the people they
brought (``current_referrer_id = ? ORDER BY registered_at DESC``) read, instead of filtering
every referral the referrer ever converted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"
INDEX = "ix_referrals_current_referrer_id_registered_at"


def upgrade() -> None:
    op.create_index(INDEX, "referrals", ["current_referrer_id", "registered_at"], schema=S)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="referrals", schema=S)
