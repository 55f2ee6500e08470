"""Privacy's use cases: change contact preferences and consent, export everything held on a
member, erase a member by pseudonymising them."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor
from services.common.problems import InvalidInput
from services.common.uow import UnitOfWork
from services.identity import audit, contract, idempotency, normalise
from services.identity.access import authorize_member
from services.identity.contract import EventType
from services.identity.members import queries as members
from services.identity.members.use_cases import lock_survivor
from services.identity.outbox import relay
from services.identity.outbox.payloads import preferences_payload
from services.identity.outbox.queries import add_event
from services.identity.privacy import queries
from services.identity.revocations.use_cases import revoke
from services.identity.verification import sending


def _now() -> datetime:
    return datetime.now(UTC)


def _quiet_hours(body: contract.UpdatePreferences) -> tuple[Any, Any, str] | None:
    quiet = body.quiet_hours
    if quiet is None:
        return None
    if body.clear_quiet_hours:
        raise InvalidInput("give quiet hours or clear them, not both")
    if quiet.start == quiet.end:
        raise InvalidInput("quiet hours must start and end at different times")
    try:
        zoneinfo.ZoneInfo(quiet.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {quiet.timezone!r}") from None
    return quiet.start, quiet.end, quiet.timezone


async def update_preferences(
    engine: AsyncEngine, actor: Actor, member_id: UUID, body: contract.UpdatePreferences
) -> contract.Preferences:
    """Consent changes are appended to the history with their time and source; the cap, quiet
    hours and interests are replaced when given."""
    quiet = _quiet_hours(body)
    interests = None if body.interests is None else normalise.interests(body.interests)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member = await lock_survivor(conn, actor, member_id)
        await queries.append_consents(
            conn,
            member.id,
            [(c.channel, c.granted) for c in body.consents],
            source=body.source,
            now=now,
        )
        await queries.update_preferences(
            conn,
            member.id,
            cap=body.invitation_cap_per_30_days,
            quiet_hours=quiet,
            clear_quiet_hours=body.clear_quiet_hours,
            interests=interests,
            now=now,
        )
        prefs = await members.current_preferences(conn, member.id)
        await add_event(
            conn,
            EventType.PREFERENCES_UPDATED,
            {"member_id": str(member.id), "preferences": preferences_payload(prefs)},
            now,
        )
        await uow.commit()
    relay.wake(engine)
    return prefs


async def export_member(
    engine: AsyncEngine, actor: Actor, member_id: UUID
) -> contract.MemberExport:
    """Everything identity holds on a member (and on the duplicates merged into them)."""
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        survivor = authorize_member(actor, member_id, await members.survivor_id(conn, member_id))
        member = await members.load_member(conn, survivor)
        assert member is not None
        ids = [survivor, *member.merged_from]
        export = contract.MemberExport(
            member=member,
            consent_history=await queries.consent_history(conn, survivor),
            merges=await members.merges_involving(conn, ids),
            absorbed_members=await queries.absorbed_members(conn, member.merged_from),
            sessions=await queries.member_sessions(conn, ids),
            audit=await queries.audit_rows(conn, ids),
            exported_at=_now(),
        )
    return export


async def erase_member(engine: AsyncEngine, actor: Actor, member_id: UUID) -> contract.Erasure:
    """Erase by pseudonymising: identifiers deleted, personal fields emptied, sessions ended,
    idempotency claims forgotten, and the outbox's events about the member emptied of their
    personal data; the bare id stays so loyalty's ledger remains consistent. Erasing twice
    changes nothing."""
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await lock_survivor(conn, actor, member_id, erased_ok=True)
        if row.status is contract.MemberStatus.ERASED:
            assert row.erased_at is not None
            return contract.Erasure(member_id=row.id, erased_at=row.erased_at)
        absorbed = await members.absorbed_ids(conn, row.id)
        prefs = await members.current_preferences(conn, row.id)
        withdrawn = [(c.channel, False) for c in prefs.consents if c.granted]
        await queries.append_consents(conn, row.id, withdrawn, source="erasure", now=now)
        await queries.forget_login_failures(conn, row.id)
        await queries.delete_identifiers(conn, row.id)
        await sending.forget_member(conn, row.id)
        await queries.erase_member(conn, row.id, now)
        await members.revoke_member_tokens(conn, [row.id, *absorbed], now)
        await revoke(conn, contract.RevocationKind.MEMBER, [row.id, *absorbed], now)
        await idempotency.forget_member_responses(conn, [row.id, *absorbed])
        await queries.scrub_events(conn, [row.id, *absorbed])
        await audit.record(conn, actor=actor.label(), action="member.erased", subject=str(row.id))
        await add_event(
            conn,
            EventType.MEMBER_ERASED,
            {"member_id": str(row.id), "erased_at": now.isoformat()},
            now,
        )
        await uow.commit()
    relay.wake(engine)
    return contract.Erasure(member_id=row.id, erased_at=now)
