"""Exclusive experiences: experiences, invitations and their guests, issuances with their
suppressions, the outbox of invitations for a delivery system, the members' contact preferences
as identity's events told them, the door's signing keys, scans and throttle; earn entries name
the production booked or attended.

The database guards what the code guards: seats taken never exceed seats (a check on the
experience's counters, which every seat-changing statement moves under the experience's row
lock); one invitation per member and experience; a check-in, and only one, says when; ratings
from 0 to 10 and only by members who came; the scan log is append-only.

Contact preferences are filled from the events already received (the inbox): each member's
latest registration or preferences event, then erasures and merges.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "loyalty"
TS = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)
STATES = (
    "offered",
    "waitlisted",
    "accepted",
    "declined",
    "expired",
    "cancelled",
    "checked_in",
    "no_show",
)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("journal_entries", sa.Column("production_id", sa.Text), schema=S)
    op.create_index(
        "ix_journal_entries_member_id_performances",
        "journal_entries",
        ["member_id", "occurred_at"],
        schema=S,
        postgresql_where=sa.text(
            "kind = 'earn' AND (event ->> 'trigger' = 'attendance' OR production_id IS NOT NULL)"
        ),
    )

    op.create_table(
        "experiences",
        sa.Column("id", ID, primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("venue_id", ID, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("title_fr", sa.Text, nullable=False),
        sa.Column("description_en", sa.Text, nullable=False),
        sa.Column("description_fr", sa.Text, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("guest_allowance", sa.Integer, nullable=False),
        sa.Column("production_id", sa.Text),
        sa.Column("production_title", sa.Text),
        sa.Column("eligibility", JSONB, nullable=False),
        sa.Column("invitations_open_at", TS, nullable=False),
        sa.Column("invitations_close_at", TS, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("interests", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("door_opens_before_s", sa.Integer, nullable=False),
        sa.Column("door_closes_after_s", sa.Integer, nullable=False),
        sa.Column("seats_taken", sa.Integer, nullable=False, server_default="0"),
        sa.Column("waitlisted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cancelled_at", TS),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        sa.CheckConstraint("guest_allowance >= 0", name="guest_allowance_not_negative"),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= seats", name="seats_taken_fit"),
        sa.CheckConstraint("waitlisted >= 0", name="waitlisted_not_negative"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "invitations_open_at <= invitations_close_at AND invitations_close_at <= starts_at",
            name="invitation_window_ordered",
        ),
        sa.CheckConstraint(_in("purpose", ("ticket_holders", "discovery")), name="purpose"),
        sa.CheckConstraint(
            "door_opens_before_s >= 0 AND door_closes_after_s > 0", name="door_window"
        ),
        sa.CheckConstraint("(cancelled_at IS NULL) = (cancel_reason IS NULL)", name="cancelled"),
        sa.UniqueConstraint("key", name="uq_experiences_key"),
        schema=S,
    )
    op.create_index("ix_experiences_venue_id", "experiences", ["venue_id", "starts_at"], schema=S)

    op.create_table(
        "issuances",
        sa.Column("id", ID, primary_key=True),
        sa.Column("experience_id", ID, sa.ForeignKey(f"{S}.experiences.id"), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("seed", sa.Text, nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.UniqueConstraint("experience_id", "key", name="uq_issuances_experience_id_key"),
        schema=S,
    )

    op.create_table(
        "suppressions",
        sa.Column("issuance_id", ID, sa.ForeignKey(f"{S}.issuances.id"), primary_key=True),
        sa.Column("member_id", ID, primary_key=True),
        sa.Column("experience_id", ID, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("reasons", ARRAY(sa.Text), nullable=False),
        sa.CheckConstraint("cardinality(reasons) >= 1", name="has_reason"),
        schema=S,
    )
    op.create_index("ix_suppressions_experience_id", "suppressions", ["experience_id"], schema=S)

    op.create_table(
        "invitations",
        sa.Column("id", ID, primary_key=True),
        sa.Column("experience_id", ID, sa.ForeignKey(f"{S}.experiences.id"), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("issuance_id", ID, sa.ForeignKey(f"{S}.issuances.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("deliver_after", TS),
        sa.Column("why", JSONB, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("offered_at", TS, nullable=False),
        sa.Column("guests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("accepted_at", TS),
        sa.Column("queued_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("checked_in_at", TS),
        sa.Column("checked_in_by", sa.Text),
        sa.Column("guests_checked_in", sa.Integer, nullable=False, server_default="0"),
        sa.Column("earn_entry_id", ID),
        sa.Column("earn_points", sa.Integer),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("comment", sa.Text),
        sa.Column("rated_at", TS),
        sa.CheckConstraint(_in("state", STATES), name="state"),
        sa.CheckConstraint(
            "guests >= 0 AND guests_checked_in >= 0 AND guests_checked_in <= guests",
            name="guests",
        ),
        sa.CheckConstraint(
            "(state = 'checked_in') = (checked_in_at IS NOT NULL)", name="checked_in_says_when"
        ),
        sa.CheckConstraint("state <> 'waitlisted' OR queued_at IS NOT NULL", name="queued"),
        sa.CheckConstraint(
            "state NOT IN ('accepted', 'checked_in', 'no_show') OR accepted_at IS NOT NULL",
            name="accepted_says_when",
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating BETWEEN 0 AND 10 AND state = 'checked_in')",
            name="rating",
        ),
        sa.CheckConstraint("(rating IS NULL) = (rated_at IS NULL)", name="rated_says_when"),
        sa.UniqueConstraint("experience_id", "member_id", name="uq_invitations_experience_member"),
        sa.UniqueConstraint("code", name="uq_invitations_code"),
        schema=S,
    )
    op.create_index("ix_invitations_member_id", "invitations", ["member_id"], schema=S)
    op.create_index(
        "ix_invitations_waitlist",
        "invitations",
        ["experience_id", "queued_at", "id"],
        schema=S,
        postgresql_where=sa.text("state = 'waitlisted'"),
    )
    op.create_index(
        "ix_invitations_live",
        "invitations",
        ["experience_id"],
        schema=S,
        postgresql_where=sa.text("state IN ('offered', 'waitlisted', 'accepted')"),
    )
    op.create_index(
        "ix_invitations_earn_missing",
        "invitations",
        ["checked_in_at"],
        schema=S,
        postgresql_where=sa.text("state = 'checked_in' AND earn_entry_id IS NULL"),
    )

    op.create_table(
        "invitation_guests",
        sa.Column("invitation_id", ID, sa.ForeignKey(f"{S}.invitations.id"), primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        schema=S,
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("deliver_after", TS),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        schema=S,
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        schema=S,
        postgresql_where=sa.text("delivered_at IS NULL"),
    )

    op.create_table(
        "member_contacts",
        sa.Column("member_id", ID, primary_key=True),
        sa.Column("consents", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("invitation_cap", sa.Integer),
        sa.Column("quiet_start", sa.Time),
        sa.Column("quiet_end", sa.Time),
        sa.Column("quiet_timezone", sa.Text),
        sa.Column("interests", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("locale", sa.Text),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("erased", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("merged_into", ID),
        sa.CheckConstraint(
            "(quiet_start IS NULL) = (quiet_end IS NULL) "
            "AND (quiet_start IS NULL) = (quiet_timezone IS NULL)",
            name="quiet_hours_complete",
        ),
        schema=S,
    )

    op.create_table(
        "door_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        sa.Column("private_key_pem", sa.Text, nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index(
        "uq_door_keys_active",
        "door_keys",
        ["active"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "door_scans",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("recorded_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("scanned_at", TS, nullable=False),
        sa.Column("staff_id", sa.Text, nullable=False),
        sa.Column("venue_id", ID),
        sa.Column("device_id", sa.Text),
        sa.Column("scan_id", sa.Text),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("invitation_id", ID),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("answer", JSONB, nullable=False),
        sa.CheckConstraint(_in("method", ("code", "token")), name="method"),
        schema=S,
    )
    op.create_index(
        "uq_door_scans_device_scan",
        "door_scans",
        ["device_id", "scan_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("scan_id IS NOT NULL"),
    )
    op.create_index("ix_door_scans_invitation_id", "door_scans", ["invitation_id"], schema=S)
    for suffix, when in (("immutable", "UPDATE OR DELETE"), ("no_truncate", "TRUNCATE")):
        level = "ROW" if suffix == "immutable" else "STATEMENT"
        op.execute(
            f"CREATE TRIGGER door_scans_{suffix} BEFORE {when} ON {S}.door_scans "
            f"FOR EACH {level} EXECUTE FUNCTION {S}.forbid_change()"
        )

    op.create_table(
        "door_throttle",
        sa.Column("staff_id", sa.Text, primary_key=True),
        sa.Column("window_started_at", TS, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.CheckConstraint("failures >= 0", name="failures_not_negative"),
        schema=S,
    )

    _fill_member_contacts()


def _fill_member_contacts() -> None:
    op.execute(
        f"""
        INSERT INTO {S}.member_contacts
            (member_id, consents, invitation_cap, quiet_start, quiet_end, quiet_timezone,
             interests, locale, as_of, event_id)
        SELECT DISTINCT ON (payload ->> 'member_id')
               CAST(payload ->> 'member_id' AS uuid),
               ARRAY(SELECT c.key FROM jsonb_each(payload -> 'preferences' -> 'consents') c
                      WHERE c.value = 'true'::jsonb ORDER BY c.key),
               CAST(payload -> 'preferences' ->> 'invitation_cap_per_30_days' AS integer),
               CAST(payload -> 'preferences' -> 'quiet_hours' ->> 'start' AS time),
               CAST(payload -> 'preferences' -> 'quiet_hours' ->> 'end' AS time),
               payload -> 'preferences' -> 'quiet_hours' ->> 'timezone',
               ARRAY(SELECT jsonb_array_elements_text(
                   coalesce(payload -> 'preferences' -> 'interests', '[]'::jsonb))),
               payload ->> 'locale',
               occurred_at, event_id
          FROM {S}.inbox
         WHERE type IN ('member.registered', 'preferences.updated')
           AND payload ? 'preferences'
         ORDER BY payload ->> 'member_id', occurred_at DESC, event_id DESC
        """
    )
    op.execute(
        f"""
        UPDATE {S}.member_contacts m
           SET erased = true, consents = '{{}}', interests = '{{}}', quiet_start = NULL,
               quiet_end = NULL, quiet_timezone = NULL
          FROM {S}.inbox i
         WHERE i.type = 'member.erased' AND CAST(i.payload ->> 'member_id' AS uuid) = m.member_id
        """
    )
    op.execute(
        f"""
        UPDATE {S}.member_contacts m
           SET merged_into = CAST(i.payload ->> 'survivor_id' AS uuid)
          FROM {S}.inbox i
         WHERE i.type = 'members.merged' AND CAST(i.payload ->> 'absorbed_id' AS uuid) = m.member_id
        """
    )


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS door_scans_no_truncate ON {S}.door_scans")
    op.execute(f"DROP TRIGGER IF EXISTS door_scans_immutable ON {S}.door_scans")
    for table in (
        "door_throttle",
        "door_scans",
        "door_keys",
        "member_contacts",
        "outbox",
        "invitation_guests",
        "invitations",
        "suppressions",
        "issuances",
        "experiences",
    ):
        op.drop_table(table, schema=S)
    op.drop_index("ix_journal_entries_member_id_performances", "journal_entries", schema=S)
    op.drop_column("journal_entries", "production_id", schema=S)
