"""Use cases of the identity service: async functions, one unit of work each.

Expected failures raise ``Problem``s carrying the contract's ``ProblemCode``s. Every change other
services care about writes an outbox event in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, NotFound, Problem, Unauthenticated
from services.common.settings import Settings
from services.common.uow import UnitOfWork
from services.identity import contract, normalise, passwords, relay, repository, tokens
from services.identity.contract import EventType, ProblemCode

T = TypeVar("T")

REGISTER_SCOPE = "register_member"
_MERGE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What a creating command returns: the thing, and whether this call created it (``False``
    for an idempotent replay)."""

    value: T
    created: bool


def _now() -> datetime:
    return datetime.now(UTC)


# ---- problems --------------------------------------------------------------------------------


def _member_not_found(member_id: UUID) -> Problem:
    return NotFound(ProblemCode.MEMBER_NOT_FOUND, "no such member", member_id=str(member_id))


def _member_erased(member_id: UUID) -> Problem:
    return Problem(
        ProblemCode.MEMBER_ERASED, "this member was erased", status=410, member_id=str(member_id)
    )


def _forbidden(message: str = "not allowed for this actor") -> Problem:
    return Forbidden(ProblemCode.FORBIDDEN, message)


def _identifier_taken(kind: contract.IdentifierKind) -> Problem:
    return Problem(
        ProblemCode.IDENTIFIER_TAKEN,
        f"this {kind.value.replace('_', ' ')} belongs to another member",
        kind=kind.value,
    )


def _invalid_credentials() -> Problem:
    return Unauthenticated(ProblemCode.INVALID_CREDENTIALS, "wrong email or password")


def _refresh_invalid() -> Problem:
    return Unauthenticated(ProblemCode.REFRESH_TOKEN_INVALID, "the refresh token is not valid")


# ---- authorization (defence in depth: the gateway checks first) -----------------------------


def require_admin(actor: Actor) -> None:
    if actor.kind is not ActorKind.ADMIN:
        raise _forbidden("only a programme admin may do this")


def _acts_for(actor: Actor, *member_ids: UUID | None) -> bool:
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        return True
    return (
        actor.kind is ActorKind.MEMBER
        and actor.id is not None
        and any(m is not None and actor.id == str(m) for m in member_ids)
    )


def _authorize_member(actor: Actor, requested: UUID, survivor: UUID | None) -> UUID:
    """The member to act on (the survivor of ``requested``), if ``actor`` may act for them.

    A member asking about an id that is not theirs learns nothing, not even whether it exists.
    """
    if not _acts_for(actor, requested, survivor):
        raise _forbidden("a member may only act for themselves")
    if survivor is None:
        raise _member_not_found(requested)
    return survivor


async def _lock_survivor(
    conn: AsyncConnection, actor: Actor, member_id: UUID, *, erased_ok: bool = False
) -> repository.MemberRow:
    """Resolve ``member_id``, authorize, and lock the survivor's row against a concurrent merge
    or erasure. Erased members are refused unless ``erased_ok``."""
    for _ in range(_MERGE_ATTEMPTS):
        survivor = _authorize_member(
            actor, member_id, await repository.survivor_id(conn, member_id)
        )
        row = await repository.member_row(conn, survivor, lock=True)
        if row is None:  # pragma: no cover - members are never deleted
            raise _member_not_found(member_id)
        if row.status is contract.MemberStatus.ERASED and not erased_ok:
            raise _member_erased(member_id)
        if row.status is not contract.MemberStatus.MERGED:
            return row
        # merged while we waited for the lock: follow it to the new survivor
    raise Problem(ProblemCode.MEMBER_NOT_FOUND, "the member is being merged; try again", status=409)


# ---- events ----------------------------------------------------------------------------------


def _preferences_payload(prefs: contract.Preferences) -> dict[str, Any]:
    quiet = prefs.quiet_hours
    return {
        "consents": {c.channel.value: c.granted for c in prefs.consents},
        "invitation_cap_per_30_days": prefs.invitation_cap_per_30_days,
        "quiet_hours": None
        if quiet is None
        else {
            "start": quiet.start.isoformat(),
            "end": quiet.end.isoformat(),
            "timezone": quiet.timezone,
        },
        "interests": prefs.interests,
    }


# ---- members ---------------------------------------------------------------------------------


def _request_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
    concurrent requests, gives one member: the others get ``IDENTIFIER_TAKEN``."""
    del actor  # anyone may register; the actor is recorded by the gateway's own logs
    email = normalise.email(body.email)
    phone = normalise.phone(body.phone) if body.phone and body.phone.strip() else None
    birth_date = _birth_date(body.birth_date)
    display_name = body.display_name
    request_hash = _request_hash(
        {
            "email": email,
            "phone": phone,
            "display_name": display_name,
            "locale": body.locale.value,
            "birth_date": birth_date,
        }
    )
    password_hash = await passwords.hash_password(body.password)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        if body.idempotency_key is not None:
            earlier = await repository.claim_idempotency_key(
                conn, REGISTER_SCOPE, body.idempotency_key, request_hash
            )
            if earlier is not None:
                return await _replay_registration(conn, body, earlier, request_hash)
        member_id = uuid.uuid4()
        await repository.insert_member(
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
        for kind, value in wanted:
            linked = await repository.insert_identifier(
                conn, member_id=member_id, kind=kind, value=value, now=now
            )
            if linked is None:
                raise _identifier_taken(kind)
        member = await repository.load_member(conn, member_id)
        assert member is not None
        await repository.add_event(
            conn,
            EventType.MEMBER_REGISTERED,
            {
                "member_id": str(member_id),
                "locale": body.locale.value,
                "birth_date": birth_date.isoformat() if birth_date else None,
                "preferences": _preferences_payload(member.preferences),
            },
            now,
        )
        if body.idempotency_key is not None:
            await repository.record_idempotent_response(
                conn, REGISTER_SCOPE, body.idempotency_key, {"member_id": str(member_id)}
            )
        await uow.commit()
    relay.wake(engine)
    return Outcome(member, created=True)


async def _replay_registration(
    conn: AsyncConnection,
    body: contract.RegisterMember,
    earlier: repository.IdempotencyRow,
    request_hash: str,
) -> Outcome[contract.Member]:
    reused = Problem(
        ProblemCode.IDEMPOTENCY_KEY_REUSED,
        "this idempotency key was used for a different registration",
    )
    if earlier.request_hash != request_hash or earlier.response is None:
        raise reused
    member_id = UUID(earlier.response["member_id"])
    original = await repository.member_row(conn, member_id)
    # the password is part of the request, but only its argon2 hash is kept: verify against it
    if original is None or not await passwords.verify_password(
        original.password_hash, body.password
    ):
        raise reused
    survivor = await repository.survivor_id(conn, member_id)
    member = await repository.load_member(conn, survivor or member_id)
    assert member is not None
    return Outcome(member, created=False)


async def get_member(engine: AsyncEngine, actor: Actor, member_id: UUID) -> contract.Member:
    """The member an id stands for: merged ids resolve to their survivor."""
    async with UnitOfWork(engine) as uow:
        survivor = _authorize_member(
            actor, member_id, await repository.survivor_id(uow.conn, member_id)
        )
        member = await repository.load_member(uow.conn, survivor)
    if member is None:  # pragma: no cover - members are never deleted
        raise _member_not_found(member_id)
    return member


async def resolve(
    engine: AsyncEngine, actor: Actor, kind: contract.IdentifierKind, raw_value: str
) -> contract.Resolution:
    """Which member an email, phone, card, ticketing id or device belongs to."""
    if actor.kind in (ActorKind.ANONYMOUS, ActorKind.MEMBER):
        raise _forbidden("resolving identifiers is for staff, partners and the system")
    value = normalise.normalise(kind, raw_value)
    async with UnitOfWork(engine) as uow:
        found = await repository.identifier(uow.conn, kind, value)
        survivor = None if found is None else await repository.survivor_id(uow.conn, found[0])
    if survivor is None:
        raise NotFound(ProblemCode.MEMBER_NOT_FOUND, "no member has this identifier")
    return contract.Resolution(member_id=survivor, kind=kind, value=value)


async def link_identifier(
    engine: AsyncEngine, actor: Actor, member_id: UUID, body: contract.LinkIdentifier
) -> Outcome[contract.Identifier]:
    """Link an identifier to a member. Linking one the member already has is a no-op; one that
    belongs to someone else is a conflict, never a takeover (also under concurrency)."""
    value = normalise.normalise(body.kind, body.value)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        member = await _lock_survivor(conn, actor, member_id)
        linked = await repository.insert_identifier(
            conn, member_id=member.id, kind=body.kind, value=value, now=now
        )
        if linked is None:
            found = await repository.identifier(conn, body.kind, value)
            if found is not None and found[0] == member.id:
                return Outcome(found[1], created=False)
            raise _identifier_taken(body.kind)
        await repository.add_event(
            conn,
            EventType.IDENTIFIER_LINKED,
            {"member_id": str(member.id), "kind": body.kind.value},
            now,
        )
        await uow.commit()
    relay.wake(engine)
    return Outcome(linked, created=True)


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
        member = await _lock_survivor(conn, actor, member_id)
        await repository.append_consents(
            conn,
            member.id,
            [(c.channel, c.granted) for c in body.consents],
            source=body.source,
            now=now,
        )
        await repository.update_preferences(
            conn,
            member.id,
            cap=body.invitation_cap_per_30_days,
            quiet_hours=quiet,
            clear_quiet_hours=body.clear_quiet_hours,
            interests=interests,
            now=now,
        )
        prefs = await repository.current_preferences(conn, member.id)
        await repository.add_event(
            conn,
            EventType.PREFERENCES_UPDATED,
            {"member_id": str(member.id), "preferences": _preferences_payload(prefs)},
            now,
        )
        await uow.commit()
    relay.wake(engine)
    return prefs


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
            survivor_id = await repository.survivor_id(conn, body.survivor_id)
            if survivor_id is None:
                raise _member_not_found(body.survivor_id)
            if survivor_id == body.absorbed_id:
                raise Problem(
                    ProblemCode.SAME_MEMBER, "the survivor was already merged into this member"
                )
            locked = await repository.lock_members(conn, [survivor_id, body.absorbed_id])
            survivor, absorbed = locked.get(survivor_id), locked.get(body.absorbed_id)
            if absorbed is None:
                raise _member_not_found(body.absorbed_id)
            assert survivor is not None
            if absorbed.status is contract.MemberStatus.MERGED:
                raise Problem(
                    ProblemCode.ALREADY_MERGED,
                    "this member was already merged",
                    survivor_id=str(absorbed.merged_into),
                )
            for row in (survivor, absorbed):
                if row.status is contract.MemberStatus.ERASED:
                    raise _member_erased(row.id)
            if survivor.status is contract.MemberStatus.MERGED:
                continue  # merged away while we waited for the lock: resolve again
            moved = await repository.move_identifiers(conn, absorbed.id, survivor.id)
            await repository.move_consents(conn, absorbed.id, survivor.id)
            await repository.revoke_member_tokens(conn, [absorbed.id], now)
            await repository.absorb(conn, survivor=survivor.id, absorbed=absorbed.id)
            result = await repository.insert_merge(
                conn,
                survivor=survivor.id,
                absorbed=absorbed.id,
                reason=body.reason,
                actor=actor.label(),
                identifiers_moved=moved,
                now=now,
            )
            await repository.add_event(
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


async def export_member(
    engine: AsyncEngine, actor: Actor, member_id: UUID
) -> contract.MemberExport:
    """Everything identity holds on a member (and on the duplicates merged into them)."""
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        survivor = _authorize_member(
            actor, member_id, await repository.survivor_id(conn, member_id)
        )
        member = await repository.load_member(conn, survivor)
        assert member is not None
        ids = [survivor, *member.merged_from]
        export = contract.MemberExport(
            member=member,
            consent_history=await repository.consent_history(conn, survivor),
            merges=await repository.merges_involving(conn, ids),
            sessions=await repository.member_sessions(conn, ids),
            exported_at=_now(),
        )
    return export


async def erase_member(engine: AsyncEngine, actor: Actor, member_id: UUID) -> contract.Erasure:
    """Erase by pseudonymising: identifiers deleted, personal fields emptied, sessions ended;
    the bare id stays so loyalty's ledger remains consistent. Erasing twice changes nothing."""
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await _lock_survivor(conn, actor, member_id, erased_ok=True)
        if row.status is contract.MemberStatus.ERASED:
            assert row.erased_at is not None
            return contract.Erasure(member_id=row.id, erased_at=row.erased_at)
        absorbed = await repository.absorbed_ids(conn, row.id)
        prefs = await repository.current_preferences(conn, row.id)
        withdrawn = [(c.channel, False) for c in prefs.consents if c.granted]
        await repository.append_consents(conn, row.id, withdrawn, source="erasure", now=now)
        await repository.delete_identifiers(conn, row.id)
        await repository.erase_member(conn, row.id, now)
        await repository.revoke_member_tokens(conn, [row.id, *absorbed], now)
        await repository.forget_idempotent_responses(conn, [row.id, *absorbed])
        await repository.audit(
            conn, actor=actor.label(), action="member.erased", subject=str(row.id)
        )
        await repository.add_event(
            conn,
            EventType.MEMBER_ERASED,
            {"member_id": str(row.id), "erased_at": now.isoformat()},
            now,
        )
        await uow.commit()
    relay.wake(engine)
    return contract.Erasure(member_id=row.id, erased_at=now)


# ---- sessions --------------------------------------------------------------------------------

_SIGNING_KEYS: dict[str, tokens.SigningKey] = {}


def _engine_key(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


async def signing_key(engine: AsyncEngine) -> tokens.SigningKey:
    """The active Ed25519 signing key, created by the first replica to start and shared by all
    (at most one key is active; a replica that loses the race uses the winner's)."""
    cached = _SIGNING_KEYS.get(_engine_key(engine))
    if cached is not None:
        return cached
    async with UnitOfWork(engine) as uow:
        row = await repository.active_signing_key(uow.conn)
        if row is None:
            fresh = tokens.SigningKey.generate()
            await repository.insert_signing_key(
                uow.conn,
                kid=fresh.kid,
                private_key_pem=fresh.private_pem(),
                public_jwk=fresh.public_jwk,
            )
            row = await repository.active_signing_key(uow.conn)
            assert row is not None
        await uow.commit()
    key = tokens.SigningKey.from_pem(row.kid, row.private_key_pem, row.public_jwk)
    _SIGNING_KEYS[_engine_key(engine)] = key
    return key


async def jwks(engine: AsyncEngine) -> dict[str, Any]:
    """The public keys that verify access tokens, as a JSON Web Key Set."""
    async with UnitOfWork(engine) as uow:
        keys = await repository.public_jwks(uow.conn)
    return tokens.jwks(keys)


async def _open_session(
    conn: AsyncConnection,
    settings: Settings,
    key: tokens.SigningKey,
    *,
    subject_kind: str,
    subject_id: UUID,
    venues: list[UUID],
    family_id: UUID,
    now: datetime,
) -> tuple[contract.Session, UUID]:
    token_id = uuid.uuid4()
    refresh_token, digest = tokens.new_refresh_token(token_id)
    await repository.insert_refresh_token(
        conn,
        token_id=token_id,
        family_id=family_id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        token_hash=digest,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    access_token = tokens.issue_access_token(
        key,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        subject=subject_id,
        kind=subject_kind,
        venues=venues,
        ttl_seconds=settings.access_token_ttl_seconds,
        now=now,
    )
    session = contract.Session(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl_seconds,
        subject_kind=subject_kind,
        subject_id=subject_id,
    )
    return session, token_id


async def login(engine: AsyncEngine, settings: Settings, body: contract.Login) -> contract.Session:
    """Check an email and password and open a session (a new refresh-token family).

    The lookup and the password check happen before the writing transaction, so a slow hash never
    holds a connection. A failure takes about as long whether or not the email is known.
    """
    try:
        email: str | None = normalise.email(body.email)
    except InvalidInput:
        email = None
    key = await signing_key(engine)
    candidates: list[str] = []
    subject_id: UUID | None = None
    subject_kind = "member"
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        if email is None:
            pass
        elif body.portal is contract.Portal.MEMBER:
            found = await repository.identifier(conn, contract.IdentifierKind.EMAIL, email)
            member = None if found is None else await repository.member_row(conn, found[0])
            if member is not None and member.status is contract.MemberStatus.ACTIVE:
                subject_id = member.id
                if member.password_hash is not None:
                    candidates.append(member.password_hash)
                # a duplicate merged into this member may still sign in with its own password
                candidates.extend(await repository.absorbed_password_hashes(conn, member.id))
        else:
            account = await repository.account_by_email(conn, email)
            if account is not None:
                subject_id, subject_kind = account.id, account.role.value
                candidates.append(account.password_hash)
    if not await _any_password_matches(candidates, body.password) or subject_id is None:
        raise _invalid_credentials()
    now = _now()
    async with UnitOfWork(engine) as uow:
        venues = (
            await repository.account_venue_ids(uow.conn, subject_id)
            if subject_kind != "member"
            else []
        )
        session, _ = await _open_session(
            uow.conn,
            settings,
            key,
            subject_kind=subject_kind,
            subject_id=subject_id,
            venues=venues,
            family_id=uuid.uuid4(),
            now=now,
        )
        await uow.commit()
    return session


async def _any_password_matches(hashes: list[str], password: str) -> bool:
    if not hashes:
        await passwords.verify_password(None, password)
        return False
    for password_hash in hashes:
        if await passwords.verify_password(password_hash, password):
            return True
    return False


async def refresh_session(
    engine: AsyncEngine, settings: Settings, body: contract.Refresh
) -> contract.Session:
    """Rotate a refresh token: the old one is spent and a new pair issued in the same family.

    Presenting a spent token again means it leaked: the whole family is revoked and
    ``REFRESH_TOKEN_REUSED`` returned. The token row is locked, so of two concurrent uses of one
    token exactly one rotates it.
    """
    token_id = tokens.refresh_token_id(body.refresh_token)
    if token_id is None:
        raise _refresh_invalid()
    key = await signing_key(engine)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await repository.refresh_token_for_update(conn, token_id)
        if row is None or not tokens.same_digest(
            row.token_hash, tokens.sha256_hex(body.refresh_token)
        ):
            raise _refresh_invalid()
        if row.used_at is not None:
            await repository.revoke_family(conn, row.family_id, now)
            await uow.commit()
            raise Unauthenticated(
                ProblemCode.REFRESH_TOKEN_REUSED,
                "this refresh token was already used; every session of its family is revoked",
            )
        if row.revoked_at is not None or row.expires_at <= now:
            raise _refresh_invalid()
        subject_kind, venues = await _current_subject(conn, row)
        session, new_id = await _open_session(
            conn,
            settings,
            key,
            subject_kind=subject_kind,
            subject_id=row.subject_id,
            venues=venues,
            family_id=row.family_id,
            now=now,
        )
        await repository.mark_refresh_token_used(conn, row.id, replaced_by=new_id, now=now)
        await uow.commit()
    return session


async def _current_subject(
    conn: AsyncConnection, row: repository.RefreshTokenRow
) -> tuple[str, list[UUID]]:
    """The subject's kind and venues today; a subject that no longer may sign in is refused."""
    if row.subject_kind == "member":
        member = await repository.member_row(conn, row.subject_id)
        if member is None or member.status is not contract.MemberStatus.ACTIVE:
            raise _refresh_invalid()
        return "member", []
    account = await repository.account_by_id(conn, row.subject_id)
    if account is None:
        raise _refresh_invalid()
    return account.role.value, await repository.account_venue_ids(conn, account.id)


# ---- organisations and credentials -----------------------------------------------------------


async def create_venue(
    engine: AsyncEngine, actor: Actor, body: contract.CreateVenue
) -> Outcome[contract.Venue]:
    """Create a venue; with an ``external_id`` a repeat returns the venue created first."""
    require_admin(actor)
    _check_timezone(body.timezone)
    async with UnitOfWork(engine) as uow:
        venue = await repository.insert_venue(
            uow.conn,
            name=body.name,
            timezone=body.timezone,
            external_id=body.external_id,
            now=_now(),
        )
        if venue is None:
            existing = await repository.venue(uow.conn, external_id=body.external_id)
            assert existing is not None
            return Outcome(existing, created=False)
        await repository.audit(
            uow.conn, actor=actor.label(), action="venue.created", subject=str(venue.id)
        )
        await uow.commit()
    return Outcome(venue, created=True)


def _check_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None


async def get_venue(engine: AsyncEngine, venue_id: UUID) -> contract.Venue:
    async with UnitOfWork(engine) as uow:
        venue = await repository.venue(uow.conn, venue_id=venue_id)
    if venue is None:
        raise NotFound(ProblemCode.VENUE_NOT_FOUND, "no such venue", venue_id=str(venue_id))
    return venue


async def create_partner(
    engine: AsyncEngine, actor: Actor, body: contract.CreatePartner
) -> Outcome[contract.Partner]:
    """Create a partner; with an ``external_id`` a repeat returns the partner created first."""
    require_admin(actor)
    async with UnitOfWork(engine) as uow:
        partner = await repository.insert_partner(
            uow.conn, name=body.name, kind=body.kind, external_id=body.external_id, now=_now()
        )
        if partner is None:
            existing = await repository.partner(uow.conn, external_id=body.external_id)
            assert existing is not None
            return Outcome(existing, created=False)
        await repository.audit(
            uow.conn, actor=actor.label(), action="partner.created", subject=str(partner.id)
        )
        await uow.commit()
    return Outcome(partner, created=True)


async def create_staff_account(
    engine: AsyncEngine, actor: Actor, body: contract.CreateStaffAccount
) -> Outcome[contract.StaffAccount]:
    """Create a staff (or admin) account for some venues. A repeat of the identical request
    returns the account; any other request for a taken email gets ``EMAIL_TAKEN``."""
    require_admin(actor)
    return await _create_account(engine, actor.label(), body)


async def _create_account(
    engine: AsyncEngine, actor_label: str, body: contract.CreateStaffAccount
) -> Outcome[contract.StaffAccount]:
    email = normalise.email(body.email)
    venue_ids = sorted(set(body.venue_ids))
    password_hash = await passwords.hash_password(body.password)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        missing = set(venue_ids) - await repository.existing_venue_ids(conn, venue_ids)
        if missing:
            raise NotFound(
                ProblemCode.VENUE_NOT_FOUND,
                "no such venue",
                venue_ids=sorted(str(v) for v in missing),
            )
        account = await repository.insert_account(
            conn,
            email=email,
            password_hash=password_hash,
            role=body.role,
            display_name=body.display_name,
            venue_ids=venue_ids,
            now=_now(),
        )
        if account is not None:
            await repository.audit(
                conn,
                actor=actor_label,
                action="account.created",
                subject=str(account.id),
                details={"role": body.role.value},
            )
            await uow.commit()
            return Outcome(account, created=True)
        existing_row = await repository.account_by_email(conn, email)
        assert existing_row is not None
        existing = await repository.staff_account(conn, existing_row)
    identical = (
        existing.role is body.role
        and existing.display_name == body.display_name
        and existing.venue_ids == venue_ids
        and await passwords.verify_password(existing_row.password_hash, body.password)
    )
    if not identical:
        raise Problem(ProblemCode.EMAIL_TAKEN, "an account with this email already exists")
    return Outcome(existing, created=False)


async def create_admin(engine: AsyncEngine, email: str, password: str) -> contract.StaffAccount:
    """Create a programme admin (the CLI's ``create-admin``). An existing admin with this email
    is returned unchanged; an email taken by a staff account is ``EMAIL_TAKEN``."""
    if not 8 <= len(password) <= 128:
        raise InvalidInput("a password has 8 to 128 characters")
    normalised = normalise.email(email)
    async with UnitOfWork(engine) as uow:
        row = await repository.account_by_email(uow.conn, normalised)
        existing = None if row is None else await repository.staff_account(uow.conn, row)
    if existing is None:
        body = contract.CreateStaffAccount(
            email=normalised, password=password, role=contract.AccountRole.ADMIN
        )
        try:
            return (await _create_account(engine, "system:cli", body)).value
        except Problem as problem:
            if problem.code != ProblemCode.EMAIL_TAKEN:
                raise
            async with UnitOfWork(engine) as uow:  # created concurrently: report what is there
                row = await repository.account_by_email(uow.conn, normalised)
                existing = None if row is None else await repository.staff_account(uow.conn, row)
    if existing is None or existing.role is not contract.AccountRole.ADMIN:
        raise Problem(ProblemCode.EMAIL_TAKEN, "a staff account already uses this email")
    return existing


async def issue_api_key(
    engine: AsyncEngine, actor: Actor, partner_id: UUID, body: contract.IssueApiKey
) -> Outcome[contract.IssuedApiKey]:
    """Issue a partner API key. Its secret is shown once: an idempotent retry returns the key's
    metadata with ``secret=None``."""
    require_admin(actor)
    now = _now()
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        if await repository.partner(conn, partner_id=partner_id) is None:
            raise NotFound(
                ProblemCode.PARTNER_NOT_FOUND, "no such partner", partner_id=str(partner_id)
            )
        for _ in range(3):
            prefix, full_key = tokens.new_api_key()
            key = await repository.insert_api_key(
                conn,
                partner_id=partner_id,
                label=body.label,
                prefix=prefix,
                secret_hash=tokens.sha256_hex(full_key),
                idempotency_key=body.idempotency_key,
                now=now,
            )
            if key is not None:
                break
            if body.idempotency_key is not None:
                earlier = await repository.api_key_by_idempotency_key(
                    conn, partner_id, body.idempotency_key
                )
                if earlier is not None:
                    if earlier.key.label != body.label:
                        raise Problem(
                            ProblemCode.IDEMPOTENCY_KEY_REUSED,
                            "this idempotency key was used for a different API key",
                        )
                    return Outcome(contract.IssuedApiKey(key=earlier.key, secret=None), False)
            # otherwise the random prefix collided: draw another
        else:  # pragma: no cover - three prefix collisions in a row
            raise RuntimeError("could not draw a unique API key prefix")
        await repository.audit(
            conn,
            actor=actor.label(),
            action="api_key.issued",
            subject=str(key.id),
            details={"partner_id": str(partner_id), "prefix": key.prefix},
        )
        await uow.commit()
    return Outcome(contract.IssuedApiKey(key=key, secret=full_key), created=True)


async def revoke_api_key(engine: AsyncEngine, actor: Actor, key_id: UUID) -> contract.ApiKey:
    """Revoke a partner API key; revoking it again changes nothing."""
    require_admin(actor)
    async with UnitOfWork(engine) as uow:
        revoked = await repository.revoke_api_key(uow.conn, key_id, _now())
        if revoked is None:
            raise NotFound(ProblemCode.API_KEY_NOT_FOUND, "no such API key", key_id=str(key_id))
        key, changed = revoked
        if changed:
            await repository.audit(
                uow.conn, actor=actor.label(), action="api_key.revoked", subject=str(key_id)
            )
            await uow.commit()
    return key


async def verify_api_key(
    engine: AsyncEngine, body: contract.VerifyApiKey
) -> contract.PartnerPrincipal:
    """The partner a key belongs to; unknown, malformed and revoked keys are ``API_KEY_INVALID``."""
    invalid = Unauthenticated(ProblemCode.API_KEY_INVALID, "the API key is not valid")
    prefix = tokens.api_key_prefix(body.api_key)
    if prefix is None:
        raise invalid
    async with UnitOfWork(engine) as uow:
        row = await repository.api_key_by_prefix(uow.conn, prefix)
    digest = tokens.sha256_hex(body.api_key)
    if row is None or not tokens.same_digest(row.secret_hash, digest) or row.key.revoked_at:
        raise invalid
    return contract.PartnerPrincipal(partner_id=row.key.partner_id, key_id=row.key.id)
