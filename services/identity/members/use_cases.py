"""Members' use cases: register, read, resolve an identifier, link one, merge duplicates.

Expected failures raise ``Problem``s carrying the contract's ``ProblemCode``s. Every change other
services care about writes an outbox event in the same transaction as the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import InvalidInput, NotFound, Problem
from services.common.uow import UnitOfWork
from services.identity import contract, idempotency, normalise, password_policy, passwords
from services.identity.access import authorize_member, forbidden, member_not_found, require_admin
from services.identity.contract import EventType, ProblemCode
from services.identity.members import queries, replay
from services.identity.members.replay import (
    REGISTER_SCOPE,
    identifier_taken,
    taken_as_if_registered,
    with_identifiers,
)
from services.identity.outbox import relay
from services.identity.outbox.payloads import preferences_payload
from services.identity.outbox.queries import add_event
from services.identity.outcome import Outcome
from services.identity.referees.use_cases import identifier_hashes
from services.identity.revocations.use_cases import revoke
from services.identity.verification import codes, sending

_MERGE_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(UTC)


def member_erased(member_id: UUID) -> Problem:
    return Problem(
        ProblemCode.MEMBER_ERASED, "this member was erased", status=410, member_id=str(member_id)
    )


async def lock_survivor(
    conn: AsyncConnection, actor: Actor, member_id: UUID, *, erased_ok: bool = False
) -> queries.MemberRow:
    """Resolve ``member_id``, authorize, and lock the survivor's row against a concurrent merge
    or erasure. Erased members are refused unless ``erased_ok``."""
    for _ in range(_MERGE_ATTEMPTS):
        survivor = authorize_member(actor, member_id, await queries.survivor_id(conn, member_id))
        row = await queries.member_row(conn, survivor, lock=True)
        if row is None:  # pragma: no cover - members are never deleted
            raise member_not_found(member_id)
        if row.status is contract.MemberStatus.ERASED and not erased_ok:
            raise member_erased(member_id)
        if row.status is not contract.MemberStatus.MERGED:
            return row
        # merged while we waited for the lock: follow it to the new survivor
    raise Problem(ProblemCode.MEMBER_NOT_FOUND, "the member is being merged; try again", status=409)


# ---- registration ----------------------------------------------------------------------------


def _birth_date(value: datetime | None) -> date | None:
    if value is None:
        return None
    if value.date() > _now().date():
        raise InvalidInput("a birth date cannot be in the future")
    return value.date()


async def register_member(
    engine: AsyncEngine, actor: Actor, body: contract.RegisterMember
) -> Outcome[contract.Member]:
    """Create a member with their email (and phone). The same email in any spelling, even from
    concurrent requests, gives one member: the others get ``IDENTIFIER_TAKEN``.

    So that registering cannot tell who is a member, an ``IDENTIFIER_TAKEN`` carries what a new
    member would have looked like (``details.member``, never stored, and ``details.created``)
    for the public API to answer as it answers a registration; the identifier's owner is told
    through the outbox (``registration.attempted``), and a replay with the same idempotency key
    (and password) gets the same answer again, not created."""
    del actor  # anyone may register; the actor is recorded by the gateway's own logs
    email = normalise.email(body.email)
    phone = normalise.phone(body.phone) if body.phone and body.phone.strip() else None
    birth_date = _birth_date(body.birth_date)
    display_name = body.display_name
    password_policy.require_acceptable(
        body.password, email=email, display_name=display_name, phone=phone
    )
    fields = {
        "email": email,
        "phone": phone,
        "display_name": display_name,
        "locale": body.locale.value,
        "birth_date": birth_date,
    }
    password_hash = await passwords.hash_password(body.password)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        if body.idempotency_key is not None:
            request_hash = await idempotency.request_hash(conn, fields)
            earlier = await idempotency.claim(
                conn, REGISTER_SCOPE, body.idempotency_key, request_hash
            )
            if earlier is not None:
                return await replay.replay_registration(
                    conn, body.password, fields, earlier, request_hash
                )
        member_id = uuid.uuid4()
        attempt = await conn.begin_nested()  # undone if an identifier is someone else's
        await queries.insert_member(
            conn,
            member_id=member_id,
            display_name=display_name,
            locale=body.locale,
            birth_date=birth_date,
            password_hash=password_hash,
            now=now,
        )
        wanted = [(contract.IdentifierKind.EMAIL, email)]
        if phone is not None:
            wanted.append((contract.IdentifierKind.PHONE, phone))
        taken = None
        for kind, value in wanted:
            linked = await queries.insert_identifier(
                conn, member_id=member_id, kind=kind, value=value, now=now
            )
            if linked is None:
                taken = (kind, value)
                break
        member = await queries.load_member(conn, member_id)
        assert member is not None
        if taken is not None:
            await attempt.rollback()
            would_be = with_identifiers(member, wanted, now)
            await _notice_to_the_owner(conn, body, would_be, password_hash, *taken, now)
            await uow.commit()
            relay.wake(engine)
            raise taken_as_if_registered(taken[0], would_be, created=True)
        await attempt.commit()
        for kind, value in wanted:  # given, not proven: a code goes to each
            await sending.start(
                conn, member_id=member_id, kind=kind, value=value, locale=body.locale, now=now
            )
        await add_event(
            conn,
            EventType.MEMBER_REGISTERED,
            {
                "member_id": str(member_id),
                "locale": body.locale.value,
                "birth_date": birth_date.isoformat() if birth_date else None,
                "preferences": preferences_payload(member.preferences),
                "identifier_hashes": await identifier_hashes(
                    conn, {kind.value: value for kind, value in wanted}
                ),
            },
            now,
        )
        if body.idempotency_key is not None:
            await idempotency.record_response(
                conn, REGISTER_SCOPE, body.idempotency_key, {"member_id": str(member_id)}
            )
        await uow.commit()
    relay.wake(engine)
    return Outcome(member, created=True)


async def _notice_to_the_owner(
    conn: AsyncConnection,
    body: contract.RegisterMember,
    would_be: contract.Member,
    password_hash: str,
    kind: contract.IdentifierKind,
    value: str,
    now: datetime,
) -> None:
    """Someone tried to join with another member's identifier: the owner is told (through the
    outbox), and the idempotency key keeps the answer given (never the would-be member)."""
    found = await queries.identifier(conn, kind, value)
    if found is not None:
        await add_event(
            conn,
            EventType.REGISTRATION_ATTEMPTED,
            {"member_id": str(found[0]), "kind": kind.value, "attempted_at": now.isoformat()},
            now,
        )
    if body.idempotency_key is not None:
        await replay.record_taken(
            conn,
            body.idempotency_key,
            would_be=would_be.id,
            kind=kind,
            owner=None if found is None else found[0],
            password_hash=password_hash,
            at=now,
        )


# ---- reading, resolving, linking -------------------------------------------------------------


async def get_member(engine: AsyncEngine, actor: Actor, member_id: UUID) -> contract.Member:
    """The member an id stands for: merged ids resolve to their survivor."""
    async with UnitOfWork(engine) as uow:
        survivor = authorize_member(
            actor, member_id, await queries.survivor_id(uow.conn, member_id)
        )
        member = await queries.load_member(uow.conn, survivor)
    if member is None:  # pragma: no cover - members are never deleted
        raise member_not_found(member_id)
    return member


async def resolve(
    engine: AsyncEngine, actor: Actor, kind: contract.IdentifierKind, raw_value: str
) -> contract.Resolution:
    """Which member an email, phone, card, ticketing id or device belongs to. An email or a
    phone never verified (given at registration, not yet proven) resolves to no member, as an
    unknown one does: it receives no points until its code comes back."""
    if actor.kind in (ActorKind.ANONYMOUS, ActorKind.MEMBER):
        raise forbidden("resolving identifiers is for staff, partners and the system")
    value = normalise.normalise(kind, raw_value)
    async with UnitOfWork(engine) as uow:
        found = await queries.identifier(uow.conn, kind, value)
        if found is not None and kind.value in codes.CODE_KINDS and not found[1].verified:
            found = None
        survivor = None if found is None else await queries.survivor_id(uow.conn, found[0])
    if survivor is None:
        raise NotFound(ProblemCode.MEMBER_NOT_FOUND, "no member has this identifier")
    return contract.Resolution(member_id=survivor, kind=kind, value=value)


async def link_identifier(
    engine: AsyncEngine, actor: Actor, member_id: UUID, body: contract.LinkIdentifier
) -> Outcome[contract.Identifier]:
    """Link an identifier to a member. Linking one the member already has is a no-op; one that
    belongs to someone else is a conflict, never a takeover (also under concurrency). An email
    or a phone waits for its one-time code (see ``verification``) and is the member's only once
    verified."""
    value = normalise.normalise(body.kind, body.value)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member = await lock_survivor(conn, actor, member_id)
        if body.kind.value in codes.CODE_KINDS:
            claimed = await sending.claim(conn, member, body.kind, value, now)
            await uow.commit()
            relay.wake(engine)
            return claimed
        linked = await queries.insert_identifier(
            conn, member_id=member.id, kind=body.kind, value=value, now=now
        )
        if linked is None:
            found = await queries.identifier(conn, body.kind, value)
            if found is not None and found[0] == member.id:
                return Outcome(found[1], created=False)
            raise identifier_taken(body.kind)
        hashed = await identifier_hashes(conn, {body.kind.value: value})
        payload = {"member_id": str(member.id), "kind": body.kind.value}
        if hashed:
            payload["identifier_hash"] = hashed[body.kind.value]
        await add_event(conn, EventType.IDENTIFIER_LINKED, payload, now)
        await uow.commit()
    relay.wake(engine)
    return Outcome(linked, created=True)


# ---- merging duplicates ----------------------------------------------------------------------


async def merge_members(
    engine: AsyncEngine, actor: Actor, body: contract.MergeMembers
) -> contract.MergeResult:
    """Merge a duplicate into a survivor: an explicit, audited admin action. The absorbed
    member's identifiers and consent history move to the survivor, its sessions end, and every
    id it stood for resolves to the survivor from now on."""
    require_admin(actor)
    if body.survivor_id == body.absorbed_id:
        raise Problem(ProblemCode.SAME_MEMBER, "a member cannot be merged into themselves")
    for _ in range(_MERGE_ATTEMPTS):
        now = _now()
        async with UnitOfWork(engine) as uow:
            conn = uow.conn
            survivor_id = await queries.survivor_id(conn, body.survivor_id)
            if survivor_id is None:
                raise member_not_found(body.survivor_id)
            if survivor_id == body.absorbed_id:
                raise Problem(
                    ProblemCode.SAME_MEMBER, "the survivor was already merged into this member"
                )
            locked = await queries.lock_members(conn, [survivor_id, body.absorbed_id])
            survivor, absorbed = locked.get(survivor_id), locked.get(body.absorbed_id)
            if absorbed is None:
                raise member_not_found(body.absorbed_id)
            assert survivor is not None
            if absorbed.status is contract.MemberStatus.MERGED:
                raise Problem(
                    ProblemCode.ALREADY_MERGED,
                    "this member was already merged",
                    survivor_id=str(absorbed.merged_into),
                )
            for row in (survivor, absorbed):
                if row.status is contract.MemberStatus.ERASED:
                    raise member_erased(row.id)
            if survivor.status is contract.MemberStatus.MERGED:
                continue  # merged away while we waited for the lock: resolve again
            moved = await queries.move_identifiers(conn, absorbed.id, survivor.id)
            await sending.forget_member(conn, absorbed.id)  # its codes waiting end with it
            await queries.move_consents(conn, absorbed.id, survivor.id)
            await queries.revoke_member_tokens(conn, [absorbed.id], now)
            await revoke(conn, contract.RevocationKind.MEMBER, [absorbed.id], now)
            await queries.absorb(conn, survivor=survivor.id, absorbed=absorbed.id)
            result = await queries.insert_merge(
                conn,
                survivor=survivor.id,
                absorbed=absorbed.id,
                reason=body.reason,
                actor=actor.label(),
                identifiers_moved=moved,
                now=now,
            )
            await add_event(
                conn,
                EventType.MEMBERS_MERGED,
                {
                    "member_id": str(survivor.id),
                    "survivor_id": str(survivor.id),
                    "absorbed_id": str(absorbed.id),
                    "merge_id": str(result.merge_id),
                },
                now,
            )
            await uow.commit()
        relay.wake(engine)
        return result
    raise Problem(ProblemCode.ALREADY_MERGED, "the survivor is being merged; try again")
