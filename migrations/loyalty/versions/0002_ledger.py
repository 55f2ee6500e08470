"""Rule sets, the double-entry points ledger, earned lots, rewards and redemptions.

The database checks the ledger as well as the code does: journal entries, postings and award
lines can never be updated or deleted; each entry's postings sum to zero at commit (a deferred
constraint trigger); a member account's balance is maintained from its postings by a trigger
and can never fall below zero; ``(source, external_id)`` is unique, so a request replayed gives
back the same entry; an earn is reversed at most once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"
TS = sa.DateTime(timezone=True)
IMMUTABLE_TABLES = ("journal_entries", "postings", "award_lines", "rule_sets")


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("effective_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("published_by", sa.Text, nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=True),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.UniqueConstraint("idempotency_key", name="uq_rule_sets_idempotency_key"),
        schema=S,
    )

    op.create_table(
        "members",
        sa.Column("member_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("merged_into", UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        schema=S,
    )

    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), nullable=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("balance", sa.Integer, nullable=True),
        sa.CheckConstraint(
            "kind IN ('available', 'pending', 'issued', 'redeemed', 'expired')", name="kind"
        ),
        sa.CheckConstraint(
            "(member_id IS NULL) = (kind IN ('issued', 'redeemed', 'expired'))",
            name="member_or_programme",
        ),
        # Member balances are kept from their postings and never go below zero; programme
        # accounts are hot, so their balances are derived from postings and never stored.
        sa.CheckConstraint(
            "(member_id IS NULL AND balance IS NULL) OR (member_id IS NOT NULL AND balance >= 0)",
            name="balance_never_negative",
        ),
        schema=S,
    )
    op.create_index(
        "uq_accounts_member_id_kind", "accounts", ["member_id", "kind"], unique=True, schema=S
    )
    op.create_index(
        "uq_accounts_programme_kind",
        "accounts",
        ["kind"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("member_id IS NULL"),
    )
    op.execute(f"INSERT INTO {S}.accounts (kind) VALUES ('issued'), ('redeemed'), ('expired')")

    op.create_table(
        "journal_entries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("rule_version", sa.Integer, nullable=True),
        sa.Column("reverses_entry_id", UUID(as_uuid=True), nullable=True),
        sa.Column("event", JSONB, nullable=True),
        sa.Column("explanation", JSONB, nullable=False),
        sa.Column("request_hash", sa.Text, nullable=True),
        sa.CheckConstraint(
            "kind IN ('earn', 'release', 'redeem', 'reverse', 'expire', 'merge', 'adjust')",
            name="kind",
        ),
        sa.CheckConstraint(
            "(kind = 'reverse') = (reverses_entry_id IS NOT NULL)", name="reversal_refers"
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            [f"{S}.journal_entries.id"],
            name="fk_journal_entries_reverses_entry_id_journal_entries",
        ),
        sa.UniqueConstraint("source", "external_id", name="uq_journal_entries_source_external_id"),
        sa.UniqueConstraint("reverses_entry_id", name="uq_journal_entries_reverses_entry_id"),
        sa.UniqueConstraint("seq", name="uq_journal_entries_seq"),
        schema=S,
    )
    op.create_index(
        "ix_journal_entries_member_id_seq", "journal_entries", ["member_id", "seq"], schema=S
    )
    op.create_index(
        "ix_journal_entries_member_id_kind_occurred_at",
        "journal_entries",
        ["member_id", "kind", "occurred_at"],
        schema=S,
    )

    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entry_id", UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.CheckConstraint("delta <> 0", name="delta_not_zero"),
        sa.ForeignKeyConstraint(
            ["entry_id"], [f"{S}.journal_entries.id"], name="fk_postings_entry_id_journal_entries"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], [f"{S}.accounts.id"], name="fk_postings_account_id_accounts"
        ),
        schema=S,
    )
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"], schema=S)
    op.create_index(
        "ix_postings_account_id", "postings", ["account_id"], schema=S, postgresql_include=["delta"]
    )

    op.create_table(
        "award_lines",
        sa.Column("entry_id", UUID(as_uuid=True), nullable=False),
        sa.Column("line_no", sa.SmallInteger, nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("rule_key", sa.Text, nullable=False),
        sa.Column("rule_version", sa.Integer, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("local_day", sa.Date, nullable=False),
        sa.Column("counts_for_status", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "line_no", name="pk_award_lines"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            [f"{S}.journal_entries.id"],
            name="fk_award_lines_entry_id_journal_entries",
        ),
        schema=S,
    )
    op.create_index(
        "ix_award_lines_member_id_rule_key_local_day",
        "award_lines",
        ["member_id", "rule_key", "local_day"],
        schema=S,
    )
    op.create_index(
        "ix_award_lines_member_id_occurred_at",
        "award_lines",
        ["member_id", "occurred_at"],
        schema=S,
        postgresql_where=sa.text("counts_for_status"),
    )

    op.create_table(
        "lots",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("entry_id", UUID(as_uuid=True), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("earned_at", TS, nullable=False),
        sa.Column("available_at", TS, nullable=False),
        sa.Column("released", sa.Boolean, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.CheckConstraint("points > 0", name="points_positive"),
        sa.CheckConstraint("remaining BETWEEN 0 AND points", name="remaining_within_points"),
        sa.ForeignKeyConstraint(
            ["entry_id"], [f"{S}.journal_entries.id"], name="fk_lots_entry_id_journal_entries"
        ),
        schema=S,
    )
    op.create_index(
        "ix_lots_member_id_earned_at",
        "lots",
        ["member_id", "earned_at"],
        schema=S,
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_index("ix_lots_entry_id", "lots", ["entry_id"], schema=S)
    op.create_index(
        "ix_lots_due",
        "lots",
        ["available_at"],
        schema=S,
        postgresql_where=sa.text("NOT released AND remaining > 0"),
    )
    op.create_index(
        "ix_lots_expires_at",
        "lots",
        ["expires_at"],
        schema=S,
        postgresql_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"),
    )

    op.create_table(
        "rewards",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("title_fr", sa.Text, nullable=False),
        sa.Column("description_en", sa.Text, nullable=False),
        sa.Column("description_fr", sa.Text, nullable=False),
        sa.Column("cost", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=True),
        sa.Column("min_tier", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("cost > 0", name="cost_positive"),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="stock_never_negative"),
        sa.UniqueConstraint("key", name="uq_rewards_key"),
        schema=S,
    )

    op.create_table(
        "redemptions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("entry_id", UUID(as_uuid=True), nullable=False),
        sa.Column("member_id", UUID(as_uuid=True), nullable=False),
        sa.Column("reward_id", UUID(as_uuid=True), nullable=False),
        sa.Column("voucher_code", sa.Text, nullable=False),
        sa.Column("cost", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            [f"{S}.journal_entries.id"],
            name="fk_redemptions_entry_id_journal_entries",
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], [f"{S}.rewards.id"], name="fk_redemptions_reward_id_rewards"
        ),
        sa.UniqueConstraint("entry_id", name="uq_redemptions_entry_id"),
        sa.UniqueConstraint("voucher_code", name="uq_redemptions_voucher_code"),
        schema=S,
    )
    op.create_index(
        "ix_redemptions_member_id", "redemptions", ["member_id", "created_at"], schema=S
    )

    op.execute(
        f"""
        CREATE FUNCTION {S}.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger rows are immutable: % on %.% is refused',
                TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END $$
        """
    )
    for table in IMMUTABLE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {S}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {S}.forbid_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {S}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {S}.forbid_change()"
        )

    op.execute(
        f"""
        CREATE FUNCTION {S}.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE total bigint;
        BEGIN
            SELECT coalesce(sum(delta), 0) INTO total
              FROM {S}.postings WHERE entry_id = NEW.entry_id;
            IF total <> 0 THEN
                RAISE EXCEPTION 'journal entry % does not balance: postings sum to %',
                    NEW.entry_id, total USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON {S}.postings "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {S}.check_entry_balanced()"
    )

    op.execute(
        f"""
        CREATE FUNCTION {S}.apply_posting() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE {S}.accounts SET balance = balance + NEW.delta
             WHERE id = NEW.account_id AND member_id IS NOT NULL;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER postings_apply AFTER INSERT ON {S}.postings "
        f"FOR EACH ROW EXECUTE FUNCTION {S}.apply_posting()"
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS postings_apply ON {S}.postings")
    op.execute(f"DROP TRIGGER IF EXISTS postings_balanced ON {S}.postings")
    for table in ("redemptions", "rewards", "lots", "award_lines", "postings"):
        op.drop_table(table, schema=S)
    op.drop_table("journal_entries", schema=S)
    for table in ("accounts", "members", "rule_sets"):
        op.drop_table(table, schema=S)
    op.execute(f"DROP FUNCTION IF EXISTS {S}.apply_posting()")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.check_entry_balanced()")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.forbid_change()")
