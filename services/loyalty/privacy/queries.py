"""Privacy's SQL: what a member's export reads beyond the ledger, and what their erasure empties.

Loyalty holds no name, email or phone of a member; what it holds on them that is personal is
what identity told it (its events, the contact preferences kept from them, the keyed hashes of
their identifiers), what the member said (their guests, a rating's comment) and the keyed
hashes of the people named as referees. Erasure keeps every figure and state under the bare id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.experiences.tables import (
    door_scans,
    experiences,
    invitation_guests,
    invitations,
    member_contacts,
    suppressions,
)
from services.loyalty.referrals.tables import referral_codes, referral_events, referrals
from services.loyalty.tables import inbox

#: What an identity event about an erased member keeps: ids, kinds and times.
KEPT_AFTER_ERASURE = (
    "member_id",
    "survivor_id",
    "absorbed_id",
    "merge_id",
    "kind",
    "attempted_at",
    "erased_at",
)

#: What a referee's keyed hash becomes once the person it stood for is erased: it matches no
#: identifier's hash, and a referral still names its referee (as the table requires).
ERASED_HASH = "erased"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _dicts(rows: Any, *, without: Sequence[str] = ()) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r._mapping.items() if k not in without} for r in rows]


def _about(column: Any, ids: Sequence[UUID]) -> Any:
    return column.astext.in_([str(m) for m in ids])


# ---- export ----------------------------------------------------------------------------------


async def invitations_of(conn: AsyncConnection, ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The member's invitations, each with its experience's title, the guests they named and
    the door's scans of it."""
    rows = await conn.execute(
        sa.select(
            invitations,
            experiences.c.title_en.label("experience_title_en"),
            experiences.c.title_fr.label("experience_title_fr"),
            experiences.c.starts_at.label("experience_starts_at"),
        )
        .join(experiences, experiences.c.id == invitations.c.experience_id)
        .where(invitations.c.member_id.in_(ids))
        .order_by(invitations.c.offered_at, invitations.c.id)
    )
    found = _dicts(rows)
    by_id = {f["id"]: f for f in found}
    for f in found:
        f.update(guest_details=[], door_scans=[])
    if not found:
        return found
    guests = await conn.execute(
        sa.select(invitation_guests)
        .where(invitation_guests.c.invitation_id.in_(list(by_id)))
        .order_by(invitation_guests.c.invitation_id, invitation_guests.c.position)
    )
    for g in _dicts(guests):
        by_id[g.pop("invitation_id")]["guest_details"].append(g)
    scans = await conn.execute(
        sa.select(
            door_scans.c.invitation_id,
            door_scans.c.scanned_at,
            door_scans.c.recorded_at,
            door_scans.c.venue_id,
            door_scans.c.method,
            door_scans.c.outcome,
        )
        .where(door_scans.c.invitation_id.in_(list(by_id)))
        .order_by(door_scans.c.id)
    )
    for s in _dicts(scans):
        by_id[s.pop("invitation_id")]["door_scans"].append(s)
    return found


async def suppressions_of(conn: AsyncConnection, ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The invitations the contact guardrails spared the member, with the reasons."""
    rows = await conn.execute(
        sa.select(suppressions)
        .where(suppressions.c.member_id.in_(ids))
        .order_by(suppressions.c.issuance_id)
    )
    return _dicts(rows)


async def contacts_of(conn: AsyncConnection, ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The contact preferences loyalty keeps from identity's events, for the guardrails."""
    rows = await conn.execute(
        sa.select(member_contacts)
        .where(member_contacts.c.member_id.in_(ids))
        .order_by(member_contacts.c.as_of)
    )
    return _dicts(rows)


async def referral_code_of(conn: AsyncConnection, member_id: UUID) -> str | None:
    code = await conn.scalar(
        sa.select(referral_codes.c.code).where(referral_codes.c.member_id == member_id)
    )
    return None if code is None else str(code)


_REFERRAL_STATE = (
    referrals.c.id,
    referrals.c.channel,
    referrals.c.code,
    referrals.c.status,
    referrals.c.registered_at,
    referrals.c.holds_until,
    referrals.c.joined_at,
    referrals.c.converted_at,
    referrals.c.voided_at,
)


async def referrals_made(conn: AsyncConnection, ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The referrals that name the member as referrer: their state, never who was named."""
    rows = await conn.execute(
        sa.select(
            *_REFERRAL_STATE,
            referrals.c.partner_id,
            referrals.c.reference,
            referrals.c.consent_method,
            referrals.c.consent_given_at,
        )
        .where(sa.or_(referrals.c.referrer_id.in_(ids), referrals.c.current_referrer_id.in_(ids)))
        .order_by(referrals.c.registered_at, referrals.c.id)
    )
    return _dicts(rows)


async def referrals_received(conn: AsyncConnection, ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The referrals that brought the member in: their state, never who referred them."""
    rows = await conn.execute(
        sa.select(*_REFERRAL_STATE, referrals.c.consent_method, referrals.c.consent_given_at)
        .where(referrals.c.referee_id.in_(ids))
        .order_by(referrals.c.registered_at, referrals.c.id)
    )
    return _dicts(rows, without=("code",))


# ---- erasure ---------------------------------------------------------------------------------


async def identifier_hashes(conn: AsyncConnection, ids: Sequence[UUID]) -> set[str]:
    """The keyed hashes of the members' emails and phones, as identity's events told them."""
    rows = await conn.execute(
        sa.select(inbox.c.payload).where(
            inbox.c.type.in_(("member.registered", "identifier.linked")),
            _about(inbox.c.payload["member_id"], ids),
        )
    )
    found: set[str] = set()
    for (payload,) in rows:
        found.update(str(h) for h in (payload.get("identifier_hashes") or {}).values() if h)
        if payload.get("identifier_hash"):
            found.add(str(payload["identifier_hash"]))
    return found


def _kept_payload(payload: Any) -> Any:
    kept = (
        sa.select(sa.func.jsonb_object_agg(sa.column("key"), sa.column("value")))
        .select_from(sa.func.jsonb_each(payload).table_valued("key", "value"))
        .where(sa.column("key").in_(KEPT_AFTER_ERASURE))
        .scalar_subquery()
    )
    return sa.func.coalesce(kept, sa.text("'{}'::jsonb"))


async def scrub_events(
    conn: AsyncConnection, ids: Sequence[UUID], *, event_id: UUID | None = None
) -> None:
    """Empty identity's events about these members (or only ``event_id``) of everything but
    ``KEPT_AFTER_ERASURE``."""
    where = sa.or_(
        _about(inbox.c.payload["member_id"], ids), _about(inbox.c.payload["absorbed_id"], ids)
    )
    if event_id is not None:
        where = sa.and_(where, inbox.c.event_id == event_id)
    await conn.execute(inbox.update().where(where).values(payload=_kept_payload(inbox.c.payload)))


async def is_erased(conn: AsyncConnection, member_id: UUID) -> bool:
    erased = await conn.scalar(
        sa.select(member_contacts.c.erased).where(member_contacts.c.member_id == member_id)
    )
    return bool(erased)


async def forget_contacts(conn: AsyncConnection, ids: Sequence[UUID]) -> None:
    await conn.execute(
        member_contacts.update()
        .where(member_contacts.c.member_id.in_(ids))
        .values(
            consents=[],
            interests=[],
            invitation_cap=None,
            quiet_start=None,
            quiet_end=None,
            quiet_timezone=None,
            locale=None,
        )
    )


async def forget_guests_and_comments(conn: AsyncConnection, ids: Sequence[UUID]) -> None:
    """The guests the members named (how many stays on the invitation) and what they wrote
    with their ratings (the score stays in the figures)."""
    theirs = sa.select(invitations.c.id).where(invitations.c.member_id.in_(ids))
    await conn.execute(
        invitation_guests.delete().where(invitation_guests.c.invitation_id.in_(theirs))
    )
    await conn.execute(
        invitations.update()
        .where(invitations.c.member_id.in_(ids), invitations.c.comment.is_not(None))
        .values(comment=None)
    )


async def forget_referees(conn: AsyncConnection, ids: Sequence[UUID], hashes: set[str]) -> None:
    """The keyed hashes that stood for the members as referees (found by hash or by the member
    they joined as), and those of the guests the members named: each becomes ``ERASED_HASH``,
    in the referral and in the links recorded for it, so its history still folds the same."""
    named = [
        referrals.c.referee_id.in_(ids),
        sa.and_(referrals.c.channel == "guest", referrals.c.referrer_id.in_(ids)),
    ]
    if hashes:
        named += [
            referrals.c.referee_email_hash.in_(hashes),
            referrals.c.referee_phone_hash.in_(hashes),
        ]
    forgotten = list(
        await conn.scalars(
            referrals.update()
            .where(sa.or_(*named))
            .values(
                referee_email_hash=sa.case(
                    (referrals.c.referee_email_hash.is_(None), None), else_=ERASED_HASH
                ),
                referee_phone_hash=sa.case(
                    (referrals.c.referee_phone_hash.is_(None), None), else_=ERASED_HASH
                ),
            )
            .returning(referrals.c.id)
        )
    )
    if not forgotten:
        return
    identifier = referral_events.c.payload["identifier"].astext
    await conn.execute(
        referral_events.update()
        .where(referral_events.c.referral_id.in_(forgotten), referral_events.c.kind == "linked")
        .values(
            key=sa.func.regexp_replace(referral_events.c.key, "[^:]+$", ERASED_HASH),
            payload=sa.func.jsonb_set(
                referral_events.c.payload,
                sa.literal(["identifier"], sa.ARRAY(sa.Text)),
                sa.func.to_jsonb(sa.func.split_part(identifier, ":", 1) + ":" + ERASED_HASH),
            ),
        )
    )
