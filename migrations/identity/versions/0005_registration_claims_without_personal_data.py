"""Registrations' idempotency claims made before this version kept personal data: the would-be
member of a registration answered as if made (email, phone, name, birth date) and an unkeyed
digest of every request. Claims now keep a keyed hash of the request and ids only; the old
ones go (a retry of a registration made before the upgrade is answered as a new request).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM identity.idempotency WHERE scope = 'register_member'")


def downgrade() -> None:
    """Nothing comes back: what was deleted was personal data."""
