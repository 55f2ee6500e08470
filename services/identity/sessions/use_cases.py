"""Sessions' use cases: log in (a new refresh-token family), refresh (rotate within the family).

Members sign in on the member portal, staff and admins on theirs. Access tokens are short-lived
JWTs signed with the shared Ed25519 key; refresh tokens are opaque and stored as digests.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.problems import InvalidInput, Problem, Unauthenticated
from services.common.settings import Settings
from services.common.uow import UnitOfWork
from services.identity import contract, normalise, passwords, tokens
from services.identity.contract import ProblemCode
from services.identity.members import queries as members
from services.identity.organisations import queries as organisations
from services.identity.revocations.use_cases import revoke
from services.identity.sessions import queries, throttle
from services.identity.sessions.signing_keys import signing_key


def _invalid_credentials() -> Problem:
    return Unauthenticated(ProblemCode.INVALID_CREDENTIALS, "wrong email or password")


def _refresh_invalid() -> Problem:
    return Unauthenticated(ProblemCode.REFRESH_TOKEN_INVALID, "the refresh token is not valid")


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
    await queries.insert_refresh_token(
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
        session=family_id,
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
    holds a connection. A failure takes about as long whether or not the email is known. Attempts
    are throttled per account and per client address (see ``throttle``): past the limit, the
    answer is ``TOO_MANY_ATTEMPTS`` with the seconds to wait, known email or not, and no password
    is checked.
    """
    try:
        email: str | None = normalise.email(body.email)
    except InvalidInput:
        email = None
    account_key = f"account:{email or body.email.strip().lower()}"
    address_key = f"address:{body.client_address}" if body.client_address else None
    await _reserve_attempt(engine, account_key, address_key)
    key = await signing_key(engine)
    candidates: list[str] = []
    subject_id: UUID | None = None
    subject_kind = "member"
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        if email is None:
            pass
        elif body.portal is contract.Portal.MEMBER:
            found = await members.identifier(conn, contract.IdentifierKind.EMAIL, email)
            member = None if found is None else await members.member_row(conn, found[0])
            if member is not None and member.status is contract.MemberStatus.ACTIVE:
                subject_id = member.id
                # only the member's own password: an identifier that moved here in a merge
                # signs in with the survivor's, never with the duplicate's
                if member.password_hash is not None:
                    candidates.append(member.password_hash)
        else:
            account = await organisations.account_by_email(conn, email)
            if account is not None:
                subject_id, subject_kind = account.id, account.role.value
                candidates.append(account.password_hash)
    if not await _any_password_matches(candidates, body.password) or subject_id is None:
        raise _invalid_credentials()
    now = datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        await queries.forgive(uow.conn, account=account_key, address=address_key)
        venues = (
            await organisations.account_venue_ids(uow.conn, subject_id)
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


async def _reserve_attempt(engine: AsyncEngine, account: str, address: str | None) -> None:
    """Count this attempt against its account and address, or refuse it when either has spent
    its window's attempts (then nothing is counted)."""
    limits = {account: throttle.PER_ACCOUNT}
    if address is not None:
        limits[address] = throttle.PER_ADDRESS
    now = datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        counts = await queries.lock_counts(uow.conn, sorted(limits), now)
        reserved, waits = {}, []
        for name, limit in limits.items():
            reserved[name], wait = throttle.reserve(counts[name], limit, now)
            if wait is not None:
                waits.append(wait)
        if waits:
            seconds = throttle.retry_after_seconds(max(waits))
            raise Problem(
                ProblemCode.TOO_MANY_ATTEMPTS,
                f"too many sign-in attempts: try again in {seconds} seconds",
                status=429,
                retry_after_seconds=seconds,
            )
        await queries.save_counts(uow.conn, reserved)
        await queries.forget_old_counts(uow.conn, now - 2 * throttle.PER_ADDRESS.window)
        await uow.commit()


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

    Presenting a spent token again means it leaked: the whole family is revoked, its access
    tokens with it (gateways refuse their ``sid`` at once), and ``REFRESH_TOKEN_REUSED``
    returned. The token row is locked, so of two concurrent uses of one
    token exactly one rotates it.
    """
    token_id = tokens.refresh_token_id(body.refresh_token)
    if token_id is None:
        raise _refresh_invalid()
    key = await signing_key(engine)
    now = datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = await queries.refresh_token_for_update(conn, token_id)
        if row is None or not tokens.same_digest(
            row.token_hash, tokens.sha256_hex(body.refresh_token)
        ):
            raise _refresh_invalid()
        if row.used_at is not None:
            await queries.revoke_family(conn, row.family_id, now)
            await revoke(conn, contract.RevocationKind.SESSION, [row.family_id], now)
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
        await queries.mark_refresh_token_used(conn, row.id, replaced_by=new_id, now=now)
        await uow.commit()
    return session


async def _current_subject(
    conn: AsyncConnection, row: queries.RefreshTokenRow
) -> tuple[str, list[UUID]]:
    """The subject's kind and venues today; a subject that no longer may sign in is refused."""
    if row.subject_kind == "member":
        member = await members.member_row(conn, row.subject_id)
        if member is None or member.status is not contract.MemberStatus.ACTIVE:
            raise _refresh_invalid()
        return "member", []
    account = await organisations.account_by_id(conn, row.subject_id)
    if account is None:
        raise _refresh_invalid()
    return account.role.value, await organisations.account_venue_ids(conn, account.id)
