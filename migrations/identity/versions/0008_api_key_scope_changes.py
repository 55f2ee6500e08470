"""A partner API key's scope change travels on the revocation feed (kind ``api_key_scope``), so
that every gateway stops serving the former scope from memory as soon as it is told.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "identity"


def _kinds(kinds: str) -> None:
    op.drop_constraint(op.f("ck_revocations_kind"), "revocations", schema=SCHEMA, type_="check")
    op.create_check_constraint(
        op.f("ck_revocations_kind"), "revocations", f"kind IN ({kinds})", schema=SCHEMA
    )


def upgrade() -> None:
    _kinds("'session', 'member', 'api_key', 'api_key_scope'")


def downgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.revocations WHERE kind = 'api_key_scope'")
    _kinds("'session', 'member', 'api_key'")
