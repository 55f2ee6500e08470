"""Erased members: loyalty refuses new earns, redemptions and check-ins for a member identity
erased (it learns it from the ``member.erased`` event). ``erased_at`` is set from the events
already received.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("members", sa.Column("erased_at", sa.DateTime(timezone=True)), schema="loyalty")
    op.execute(
        """
        INSERT INTO loyalty.members (member_id, erased_at)
        SELECT CAST(payload ->> 'member_id' AS uuid), min(occurred_at)
          FROM loyalty.inbox
         WHERE type = 'member.erased'
         GROUP BY 1
        ON CONFLICT (member_id) DO UPDATE SET erased_at = EXCLUDED.erased_at
        """
    )


def downgrade() -> None:
    op.drop_column("members", "erased_at", schema="loyalty")
