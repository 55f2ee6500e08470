"""Privacy's SQL: consent history and preference changes, what an export reads, what erasure
empties."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.members.queries import consent_from_row
from services.identity.tables import (
    audit_log,
    consents,
    identifiers,
    login_throttle,
    members,
    outbox,
    preferences,
    refresh_tokens,
)

# ---- consent and preferences -----------------------------------------------------------------


async def append_consents(
    conn: AsyncConnection,
    member_id: UUID,
    changes: Sequence[tuple[contract.Channel, bool]],
    *,
    source: str,
    now: datetime,
) -> None:
    if changes:
        await conn.execute(
            consents.insert(),
            [
                {
                    "member_id": member_id,
                    "channel": c.value,
                    "granted": g,
                    "at": now,
                    "source": source,
                }
                for c, g in changes
            ],
        )


async def consent_history(conn: AsyncConnection, member_id: UUID) -> list[contract.Consent]:
    rows = await conn.execute(
        sa.select(consents)
        .where(consents.c.member_id == member_id)
        .order_by(consents.c.at, consents.c.id)
    )
    return [consent_from_row(r) for r in rows]


async def update_preferences(
    conn: AsyncConnection,
    member_id: UUID,
    *,
    cap: int | None,
    quiet_hours: tuple[time, time, str] | None,
    clear_quiet_hours: bool,
    interests: list[str] | None,
    now: datetime,
) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if cap is not None:
        values["invitation_cap_per_30_days"] = cap
    if clear_quiet_hours:
        values.update(quiet_start=None, quiet_end=None, quiet_timezone=None)
    elif quiet_hours is not None:
        values.update(
            quiet_start=quiet_hours[0], quiet_end=quiet_hours[1], quiet_timezone=quiet_hours[2]
        )
    if interests is not None:
        values["interests"] = interests
    await conn.execute(
        preferences.update().where(preferences.c.member_id == member_id).values(**values)
    )


# ---- export ----------------------------------------------------------------------------------


async def member_sessions(
    conn: AsyncConnection, member_ids: Iterable[UUID]
) -> list[dict[str, str | None]]:
    """Session metadata for an export: never the token digests."""
    rows = await conn.execute(
        sa.select(
            refresh_tokens.c.id,
            refresh_tokens.c.family_id,
            refresh_tokens.c.issued_at,
            refresh_tokens.c.expires_at,
            refresh_tokens.c.used_at,
            refresh_tokens.c.revoked_at,
        )
        .where(
            refresh_tokens.c.subject_kind == "member",
            refresh_tokens.c.subject_id.in_(list(member_ids)),
        )
        .order_by(refresh_tokens.c.issued_at, refresh_tokens.c.id)
    )

    def text(value: object) -> str | None:
        if value is None:
            return None
        return value.isoformat() if isinstance(value, datetime) else str(value)

    return [{key: text(value) for key, value in r._mapping.items()} for r in rows]


async def absorbed_members(
    conn: AsyncConnection, member_ids: Iterable[UUID]
) -> list[dict[str, Any]]:
    """The members merged into the member, as they were registered."""
    rows = await conn.execute(
        sa.select(
            members.c.id,
            members.c.display_name,
            members.c.locale,
            members.c.birth_date,
            members.c.created_at,
        )
        .where(members.c.id.in_(list(member_ids)))
        .order_by(members.c.created_at, members.c.id)
    )
    return [
        {
            "id": str(r.id),
            "display_name": r.display_name,
            "locale": r.locale,
            "birth_date": None if r.birth_date is None else r.birth_date.isoformat(),
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


async def audit_rows(conn: AsyncConnection, member_ids: Iterable[UUID]) -> list[dict[str, Any]]:
    """The audit log's rows about these members, or written by them."""
    ids = [str(m) for m in member_ids]
    rows = await conn.execute(
        sa.select(audit_log)
        .where(
            sa.or_(
                audit_log.c.subject.in_(ids),
                audit_log.c.actor.in_([f"member:{m}" for m in ids]),
            )
        )
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    return [
        {
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "details": r.details,
        }
        for r in rows
    ]


# ---- erasure ---------------------------------------------------------------------------------

#: What an event about an erased member keeps: ids, kinds and times, nothing about the person
#: (their birth date, contact preferences and the keyed hashes of their identifiers go).
KEPT_AFTER_ERASURE = (
    "member_id",
    "survivor_id",
    "absorbed_id",
    "merge_id",
    "kind",
    "attempted_at",
    "erased_at",
)


async def scrub_events(conn: AsyncConnection, member_ids: Iterable[UUID]) -> int:
    """Empty the outbox's events about these members of everything but ``KEPT_AFTER_ERASURE``,
    delivered or not (an event still to deliver then tells loyalty only that it happened)."""
    ids = [str(m) for m in member_ids]
    kept = sa.func.coalesce(
        sa.select(sa.func.jsonb_object_agg(sa.column("key"), sa.column("value")))
        .select_from(sa.func.jsonb_each(outbox.c.payload).table_valued("key", "value"))
        .where(sa.column("key").in_(KEPT_AFTER_ERASURE))
        .scalar_subquery(),
        sa.text("'{}'::jsonb"),
    )
    result = await conn.execute(
        outbox.update()
        .where(
            sa.or_(
                outbox.c.payload["member_id"].astext.in_(ids),
                outbox.c.payload["absorbed_id"].astext.in_(ids),
            )
        )
        .values(payload=kept)
    )
    return result.rowcount


async def forget_login_failures(conn: AsyncConnection, member_id: UUID) -> None:
    """The failed logins counted against the member's emails (the throttle's keys name them)."""
    emails = sa.select(sa.literal("account:") + identifiers.c.value).where(
        identifiers.c.member_id == member_id,
        identifiers.c.kind == contract.IdentifierKind.EMAIL.value,
    )
    await conn.execute(login_throttle.delete().where(login_throttle.c.key.in_(emails)))


async def delete_identifiers(conn: AsyncConnection, member_id: UUID) -> int:
    result = await conn.execute(identifiers.delete().where(identifiers.c.member_id == member_id))
    return result.rowcount


async def erase_member(conn: AsyncConnection, member_id: UUID, now: datetime) -> None:
    await conn.execute(
        members.update()
        .where(members.c.id == member_id)
        .values(
            status=contract.MemberStatus.ERASED.value,
            display_name=None,
            birth_date=None,
            password_hash=None,
            erased_at=now,
        )
    )
    # members absorbed earlier are the same person: their personal data goes too
    await conn.execute(
        members.update()
        .where(members.c.merged_into == member_id)
        .values(display_name=None, birth_date=None, password_hash=None)
    )
    await conn.execute(
        preferences.update()
        .where(preferences.c.member_id == member_id)
        .values(interests=[], quiet_start=None, quiet_end=None, quiet_timezone=None, updated_at=now)
    )
