"""A member's account opens at zero: balances move only through postings.

The runtime role may INSERT accounts (a member's first earn opens them), so without this
trigger it could open one with any balance and never post an entry for it. The trigger belongs
to the owner, which the runtime role can neither alter nor disable; programme accounts keep no
balance (``NULL``), as the ``balance_never_negative`` check already says.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION {S}.account_opens_at_zero() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.member_id IS NOT NULL AND NEW.balance IS DISTINCT FROM 0 THEN
                RAISE EXCEPTION 'a member account opens with balance 0, not %: balances move '
                    'only through postings', coalesce(NEW.balance::text, 'NULL')
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER accounts_open_at_zero BEFORE INSERT ON {S}.accounts "
        f"FOR EACH ROW EXECUTE FUNCTION {S}.account_opens_at_zero()"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS accounts_open_at_zero ON {S}.accounts")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.account_opens_at_zero()")
