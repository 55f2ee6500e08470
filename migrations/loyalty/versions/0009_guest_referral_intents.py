"""Guests to refer: a guest named with an email or phone on an accepted invitation becomes a
referral by the inviting member, and the intent is kept in the acceptance's own transaction, so
that it survives a service being down at that moment; the referrals job retries it until it is
registered (or refused for good), then the row goes. A guest removed from the invitation takes
its intent with it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guest_referral_intents",
        sa.Column("invitation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id", "position"],
            [f"{S}.invitation_guests.invitation_id", f"{S}.invitation_guests.position"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("attempts >= 0", name="attempts_counted"),
        schema=S,
    )
    op.create_index(
        "ix_guest_referral_intents_next_attempt_at",
        "guest_referral_intents",
        ["next_attempt_at"],
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("guest_referral_intents", schema=S)
