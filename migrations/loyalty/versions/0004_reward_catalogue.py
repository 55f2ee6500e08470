"""The rewards catalogue managed by admins: a per-member limit, a validity window, retirement, and
the fingerprint of the request that created each reward (so that creating it again with the same
key is answered, and with different content refused).

A reward is valid from ``valid_from`` (inclusive) until ``valid_until`` (exclusive). Retiring sets
``retired_at`` and clears ``active``; the database keeps the two in step.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("rewards", sa.Column("per_member_limit", sa.Integer, nullable=True), schema=S)
    op.add_column("rewards", sa.Column("valid_from", TS, nullable=True), schema=S)
    op.add_column("rewards", sa.Column("valid_until", TS, nullable=True), schema=S)
    op.add_column("rewards", sa.Column("retired_at", TS, nullable=True), schema=S)
    op.add_column("rewards", sa.Column("request_hash", sa.Text, nullable=True), schema=S)
    op.execute(f"UPDATE {S}.rewards SET retired_at = created_at WHERE NOT active")
    op.create_check_constraint(
        "ck_rewards_per_member_limit_positive",
        "rewards",
        "per_member_limit IS NULL OR per_member_limit > 0",
        schema=S,
    )
    op.create_check_constraint(
        "ck_rewards_validity_window_ordered",
        "rewards",
        "valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from",
        schema=S,
    )
    op.create_check_constraint(
        "ck_rewards_retired_is_inactive", "rewards", "active = (retired_at IS NULL)", schema=S
    )
    op.create_index(
        "ix_redemptions_reward_id_member_id", "redemptions", ["reward_id", "member_id"], schema=S
    )


def downgrade() -> None:
    op.drop_index("ix_redemptions_reward_id_member_id", "redemptions", schema=S)
    for name in (
        "ck_rewards_retired_is_inactive",
        "ck_rewards_validity_window_ordered",
        "ck_rewards_per_member_limit_positive",
    ):
        op.drop_constraint(name, "rewards", type_="check", schema=S)
    for column in ("request_hash", "retired_at", "valid_until", "valid_from", "per_member_limit"):
        op.drop_column("rewards", column, schema=S)
