"""Every SQL statement of the identity service (SQLAlchemy Core, one connection per unit of work)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.tables import (
    account_venues,
    accounts,
    api_keys,
    audit_log,
    consents,
    idempotency,
    identifiers,
    members,
    merges,
    outbox,
    partners,
    preferences,
    refresh_tokens,
    signing_keys,
    venues,
)

# ---- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: UUID
    status: contract.MemberStatus
    display_name: str | None
    locale: contract.Locale
    birth_date: date | None
    password_hash: str | None
    merged_into: UUID | None
    created_at: datetime
    erased_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: UUID
    email: str
    password_hash: str
    role: contract.AccountRole
    display_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    id: UUID
    family_id: UUID
    subject_kind: str
    subject_id: UUID
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    key: contract.ApiKey
    secret_hash: str
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class SigningKeyRow:
    kid: str
    private_key_pem: str
    public_jwk: dict[str, str]


@dataclass(frozen=True, slots=True)
class IdempotencyRow:
    request_hash: str
    response: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: UUID
    type: str
    payload: dict[str, Any]
    occurred_at: datetime


def _member_row(r: sa.Row[Any]) -> MemberRow:
    return MemberRow(
        id=r.id,
        status=contract.MemberStatus(r.status),
        display_name=r.display_name,
        locale=contract.Locale(r.locale),
        birth_date=r.birth_date,
        password_hash=r.password_hash,
        merged_into=r.merged_into,
        created_at=r.created_at,
        erased_at=r.erased_at,
    )


# ---- members ---------------------------------------------------------------------------------


async def insert_member(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    display_name: str | None,
    locale: contract.Locale,
    birth_date: date | None,
    password_hash: str,
    now: datetime,
) -> None:
    await conn.execute(
        members.insert().values(
            id=member_id,
            status=contract.MemberStatus.ACTIVE.value,
            display_name=display_name,
            locale=locale.value,
            birth_date=birth_date,
            password_hash=password_hash,
            created_at=now,
        )
    )
    await conn.execute(preferences.insert().values(member_id=member_id, updated_at=now))


async def member_row(
    conn: AsyncConnection, member_id: UUID, *, lock: bool = False
) -> MemberRow | None:
    stmt = sa.select(members).where(members.c.id == member_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _member_row(row)


async def lock_members(conn: AsyncConnection, member_ids: Iterable[UUID]) -> dict[UUID, MemberRow]:
    """Lock the rows in id order, so two commands locking the same pair never deadlock."""
    rows = await conn.execute(
        sa.select(members)
        .where(members.c.id.in_(sorted(set(member_ids))))
        .order_by(members.c.id)
        .with_for_update()
    )
    return {r.id: _member_row(r) for r in rows}


async def survivor_id(conn: AsyncConnection, member_id: UUID) -> UUID | None:
    """The member an id stands for today: itself, or the survivor it was merged into (one hop,
    since merges repoint every earlier absorbed member to the new survivor)."""
    value: UUID | None = await conn.scalar(
        sa.select(sa.func.coalesce(members.c.merged_into, members.c.id)).where(
            members.c.id == member_id
        )
    )
    return value


async def absorbed_password_hashes(conn: AsyncConnection, survivor: UUID) -> list[str]:
    rows = await conn.execute(
        sa.select(members.c.password_hash)
        .where(members.c.merged_into == survivor, members.c.password_hash.is_not(None))
        .order_by(members.c.id)
    )
    return [r.password_hash for r in rows]


async def load_member(conn: AsyncConnection, member_id: UUID) -> contract.Member | None:
    row = (await conn.execute(sa.select(members).where(members.c.id == member_id))).first()
    if row is None:
        return None
    return contract.Member(
        id=row.id,
        status=contract.MemberStatus(row.status),
        display_name=row.display_name,
        locale=contract.Locale(row.locale),
        created_at=row.created_at,
        identifiers=await identifiers_of(conn, member_id),
        preferences=await current_preferences(conn, member_id),
        merged_from=await absorbed_ids(conn, member_id),
        birth_date=row.birth_date,
    )


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


# ---- identifiers -----------------------------------------------------------------------------


def _identifier(r: sa.Row[Any]) -> contract.Identifier:
    return contract.Identifier(
        kind=contract.IdentifierKind(r.kind),
        value=r.value,
        linked_at=r.linked_at,
        verified=r.verified,
    )


async def insert_identifier(
    conn: AsyncConnection,
    *,
    member_id: UUID,
    kind: contract.IdentifierKind,
    value: str,
    now: datetime,
) -> contract.Identifier | None:
    """Link an identifier; ``None`` when it already belongs to someone (possibly this member).

    A concurrent insert of the same identifier waits for the other transaction, then yields to
    it: the conflict is seen without an exception (no wrapped driver error to decode, and the
    transaction stays usable to look up the owner).
    """
    row = (
        await conn.execute(
            insert(identifiers)
            .values(
                id=uuid.uuid4(), member_id=member_id, kind=kind.value, value=value, linked_at=now
            )
            .on_conflict_do_nothing(index_elements=[identifiers.c.kind, identifiers.c.value])
            .returning(identifiers)
        )
    ).first()
    return None if row is None else _identifier(row)


async def identifier(
    conn: AsyncConnection, kind: contract.IdentifierKind, value: str
) -> tuple[UUID, contract.Identifier] | None:
    """The owner of an identifier and the identifier."""
    row = (
        await conn.execute(
            sa.select(identifiers).where(
                identifiers.c.kind == kind.value, identifiers.c.value == value
            )
        )
    ).first()
    return None if row is None else (row.member_id, _identifier(row))


async def identifiers_of(conn: AsyncConnection, member_id: UUID) -> list[contract.Identifier]:
    rows = await conn.execute(
        sa.select(identifiers)
        .where(identifiers.c.member_id == member_id)
        .order_by(identifiers.c.linked_at, identifiers.c.kind, identifiers.c.value)
    )
    return [_identifier(r) for r in rows]


async def move_identifiers(conn: AsyncConnection, source: UUID, target: UUID) -> int:
    result = await conn.execute(
        identifiers.update().where(identifiers.c.member_id == source).values(member_id=target)
    )
    return result.rowcount


async def delete_identifiers(conn: AsyncConnection, member_id: UUID) -> int:
    result = await conn.execute(identifiers.delete().where(identifiers.c.member_id == member_id))
    return result.rowcount


# ---- consent and preferences -----------------------------------------------------------------


def _consent(r: sa.Row[Any]) -> contract.Consent:
    return contract.Consent(
        channel=contract.Channel(r.channel), granted=r.granted, at=r.at, source=r.source
    )


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
    return [_consent(r) for r in rows]


async def current_preferences(conn: AsyncConnection, member_id: UUID) -> contract.Preferences:
    ranked = (
        sa.select(
            consents,
            sa.func.row_number()
            .over(
                partition_by=consents.c.channel,
                order_by=(consents.c.at.desc(), consents.c.id.desc()),
            )
            .label("rank"),
        )
        .where(consents.c.member_id == member_id)
        .subquery()
    )
    latest = await conn.execute(
        sa.select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.channel)
    )
    row = (
        await conn.execute(sa.select(preferences).where(preferences.c.member_id == member_id))
    ).one()
    quiet = (
        None
        if row.quiet_start is None
        else contract.QuietHours(
            start=row.quiet_start, end=row.quiet_end, timezone=row.quiet_timezone
        )
    )
    return contract.Preferences(
        consents=[_consent(r) for r in latest],
        invitation_cap_per_30_days=row.invitation_cap_per_30_days,
        quiet_hours=quiet,
        interests=list(row.interests),
    )


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


async def move_consents(conn: AsyncConnection, source: UUID, target: UUID) -> None:
    await conn.execute(
        consents.update().where(consents.c.member_id == source).values(member_id=target)
    )


# ---- merges ----------------------------------------------------------------------------------


def _merge(r: sa.Row[Any]) -> contract.MergeResult:
    return contract.MergeResult(
        merge_id=r.id,
        survivor_id=r.survivor_id,
        absorbed_id=r.absorbed_id,
        merged_at=r.at,
        identifiers_moved=r.identifiers_moved,
    )


async def absorb(conn: AsyncConnection, *, survivor: UUID, absorbed: UUID) -> None:
    """Mark ``absorbed`` merged into ``survivor``, and repoint every member it had absorbed,
    so resolving any absorbed id stays one hop."""
    await conn.execute(
        members.update()
        .where(members.c.id == absorbed)
        .values(status=contract.MemberStatus.MERGED.value, merged_into=survivor)
    )
    await conn.execute(
        members.update().where(members.c.merged_into == absorbed).values(merged_into=survivor)
    )


async def insert_merge(
    conn: AsyncConnection,
    *,
    survivor: UUID,
    absorbed: UUID,
    reason: str,
    actor: str,
    identifiers_moved: int,
    now: datetime,
) -> contract.MergeResult:
    row = (
        await conn.execute(
            merges.insert()
            .values(
                id=uuid.uuid4(),
                survivor_id=survivor,
                absorbed_id=absorbed,
                reason=reason,
                actor=actor,
                at=now,
                identifiers_moved=identifiers_moved,
            )
            .returning(merges)
        )
    ).one()
    return _merge(row)


async def merges_involving(
    conn: AsyncConnection, member_ids: Iterable[UUID]
) -> list[contract.MergeResult]:
    ids = list(member_ids)
    rows = await conn.execute(
        sa.select(merges)
        .where(sa.or_(merges.c.survivor_id.in_(ids), merges.c.absorbed_id.in_(ids)))
        .order_by(merges.c.at, merges.c.id)
    )
    return [_merge(r) for r in rows]


async def absorbed_ids(conn: AsyncConnection, survivor: UUID) -> list[UUID]:
    rows = await conn.execute(
        sa.select(members.c.id).where(members.c.merged_into == survivor).order_by(members.c.id)
    )
    return [r.id for r in rows]


# ---- refresh tokens --------------------------------------------------------------------------


async def insert_refresh_token(
    conn: AsyncConnection,
    *,
    token_id: UUID,
    family_id: UUID,
    subject_kind: str,
    subject_id: UUID,
    token_hash: str,
    issued_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        refresh_tokens.insert().values(
            id=token_id,
            family_id=family_id,
            subject_kind=subject_kind,
            subject_id=subject_id,
            token_hash=token_hash,
            issued_at=issued_at,
            expires_at=expires_at,
        )
    )


async def refresh_token_for_update(conn: AsyncConnection, token_id: UUID) -> RefreshTokenRow | None:
    row = (
        await conn.execute(
            sa.select(refresh_tokens).where(refresh_tokens.c.id == token_id).with_for_update()
        )
    ).first()
    if row is None:
        return None
    return RefreshTokenRow(
        id=row.id,
        family_id=row.family_id,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        token_hash=row.token_hash,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


async def mark_refresh_token_used(
    conn: AsyncConnection, token_id: UUID, *, replaced_by: UUID, now: datetime
) -> None:
    await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.id == token_id)
        .values(used_at=now, replaced_by=replaced_by)
    )


async def revoke_family(conn: AsyncConnection, family_id: UUID, now: datetime) -> int:
    result = await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount


async def revoke_member_tokens(
    conn: AsyncConnection, member_ids: Iterable[UUID], now: datetime
) -> int:
    result = await conn.execute(
        refresh_tokens.update()
        .where(
            refresh_tokens.c.subject_kind == "member",
            refresh_tokens.c.subject_id.in_(list(member_ids)),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount


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


# ---- organisations ---------------------------------------------------------------------------


def _venue(r: sa.Row[Any]) -> contract.Venue:
    return contract.Venue(
        id=r.id,
        name=r.name,
        timezone=r.timezone,
        external_id=r.external_id,
        created_at=r.created_at,
    )


def _partner(r: sa.Row[Any]) -> contract.Partner:
    return contract.Partner(
        id=r.id, name=r.name, kind=r.kind, external_id=r.external_id, created_at=r.created_at
    )


async def insert_venue(
    conn: AsyncConnection, *, name: str, timezone: str, external_id: str | None, now: datetime
) -> contract.Venue | None:
    """The new venue, or ``None`` when a venue with this external id exists."""
    row = (
        await conn.execute(
            insert(venues)
            .values(
                id=uuid.uuid4(),
                name=name,
                timezone=timezone,
                external_id=external_id,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[venues.c.external_id])
            .returning(venues)
        )
    ).first()
    return None if row is None else _venue(row)


async def venue(
    conn: AsyncConnection, *, venue_id: UUID | None = None, external_id: str | None = None
) -> contract.Venue | None:
    where = venues.c.id == venue_id if venue_id is not None else venues.c.external_id == external_id
    row = (await conn.execute(sa.select(venues).where(where))).first()
    return None if row is None else _venue(row)


async def existing_venue_ids(conn: AsyncConnection, venue_ids: Iterable[UUID]) -> set[UUID]:
    rows = await conn.execute(sa.select(venues.c.id).where(venues.c.id.in_(list(venue_ids))))
    return {r.id for r in rows}


async def insert_partner(
    conn: AsyncConnection, *, name: str, kind: str, external_id: str | None, now: datetime
) -> contract.Partner | None:
    row = (
        await conn.execute(
            insert(partners)
            .values(id=uuid.uuid4(), name=name, kind=kind, external_id=external_id, created_at=now)
            .on_conflict_do_nothing(index_elements=[partners.c.external_id])
            .returning(partners)
        )
    ).first()
    return None if row is None else _partner(row)


async def partner(
    conn: AsyncConnection, *, partner_id: UUID | None = None, external_id: str | None = None
) -> contract.Partner | None:
    where = (
        partners.c.id == partner_id
        if partner_id is not None
        else partners.c.external_id == external_id
    )
    row = (await conn.execute(sa.select(partners).where(where))).first()
    return None if row is None else _partner(row)


# ---- staff and admin accounts ----------------------------------------------------------------


async def insert_account(
    conn: AsyncConnection,
    *,
    email: str,
    password_hash: str,
    role: contract.AccountRole,
    display_name: str | None,
    venue_ids: Sequence[UUID],
    now: datetime,
) -> contract.StaffAccount | None:
    """The new account, or ``None`` when the email is taken."""
    row = (
        await conn.execute(
            insert(accounts)
            .values(
                id=uuid.uuid4(),
                email=email,
                password_hash=password_hash,
                role=role.value,
                display_name=display_name,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[accounts.c.email])
            .returning(accounts)
        )
    ).first()
    if row is None:
        return None
    if venue_ids:
        await conn.execute(
            account_venues.insert(), [{"account_id": row.id, "venue_id": v} for v in venue_ids]
        )
    return contract.StaffAccount(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=contract.AccountRole(row.role),
        venue_ids=sorted(venue_ids),
        created_at=row.created_at,
    )


async def account_by_email(conn: AsyncConnection, email: str) -> AccountRow | None:
    row = (await conn.execute(sa.select(accounts).where(accounts.c.email == email))).first()
    return None if row is None else _account_row(row)


async def account_by_id(conn: AsyncConnection, account_id: UUID) -> AccountRow | None:
    row = (await conn.execute(sa.select(accounts).where(accounts.c.id == account_id))).first()
    return None if row is None else _account_row(row)


def _account_row(r: sa.Row[Any]) -> AccountRow:
    return AccountRow(
        id=r.id,
        email=r.email,
        password_hash=r.password_hash,
        role=contract.AccountRole(r.role),
        display_name=r.display_name,
        created_at=r.created_at,
    )


async def account_venue_ids(conn: AsyncConnection, account_id: UUID) -> list[UUID]:
    rows = await conn.execute(
        sa.select(account_venues.c.venue_id)
        .where(account_venues.c.account_id == account_id)
        .order_by(account_venues.c.venue_id)
    )
    return [r.venue_id for r in rows]


async def staff_account(conn: AsyncConnection, row: AccountRow) -> contract.StaffAccount:
    return contract.StaffAccount(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        venue_ids=await account_venue_ids(conn, row.id),
        created_at=row.created_at,
    )


# ---- partner API keys ------------------------------------------------------------------------


def _api_key_row(r: sa.Row[Any]) -> ApiKeyRow:
    return ApiKeyRow(
        key=contract.ApiKey(
            id=r.id,
            partner_id=r.partner_id,
            label=r.label,
            prefix=r.prefix,
            created_at=r.created_at,
            revoked_at=r.revoked_at,
        ),
        secret_hash=r.secret_hash,
        idempotency_key=r.idempotency_key,
    )


async def insert_api_key(
    conn: AsyncConnection,
    *,
    partner_id: UUID,
    label: str,
    prefix: str,
    secret_hash: str,
    idempotency_key: str | None,
    now: datetime,
) -> contract.ApiKey | None:
    """The new key, or ``None`` when its idempotency key (or, rarely, its prefix) is taken."""
    row = (
        await conn.execute(
            insert(api_keys)
            .values(
                id=uuid.uuid4(),
                partner_id=partner_id,
                label=label,
                prefix=prefix,
                secret_hash=secret_hash,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(api_keys)
        )
    ).first()
    return None if row is None else _api_key_row(row).key


async def api_key_by_idempotency_key(
    conn: AsyncConnection, partner_id: UUID, idempotency_key: str
) -> ApiKeyRow | None:
    row = (
        await conn.execute(
            sa.select(api_keys).where(
                api_keys.c.partner_id == partner_id, api_keys.c.idempotency_key == idempotency_key
            )
        )
    ).first()
    return None if row is None else _api_key_row(row)


async def api_key_by_prefix(conn: AsyncConnection, prefix: str) -> ApiKeyRow | None:
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.prefix == prefix))).first()
    return None if row is None else _api_key_row(row)


async def revoke_api_key(
    conn: AsyncConnection, key_id: UUID, now: datetime
) -> tuple[contract.ApiKey, bool] | None:
    """The key and whether this call revoked it (``False`` when it already was)."""
    row = (
        await conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(api_keys)
        )
    ).first()
    if row is not None:
        return _api_key_row(row).key, True
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
    return None if row is None else (_api_key_row(row).key, False)


# ---- signing keys ----------------------------------------------------------------------------


async def active_signing_key(conn: AsyncConnection) -> SigningKeyRow | None:
    row = (await conn.execute(sa.select(signing_keys).where(signing_keys.c.active))).first()
    if row is None:
        return None
    return SigningKeyRow(
        kid=row.kid, private_key_pem=row.private_key_pem, public_jwk=dict(row.public_jwk)
    )


async def insert_signing_key(
    conn: AsyncConnection, *, kid: str, private_key_pem: str, public_jwk: dict[str, str]
) -> None:
    """Insert an active key unless another replica got there first (at most one is active)."""
    await conn.execute(
        insert(signing_keys)
        .values(kid=kid, private_key_pem=private_key_pem, public_jwk=public_jwk, active=True)
        .on_conflict_do_nothing()
    )


async def public_jwks(conn: AsyncConnection) -> list[dict[str, str]]:
    rows = await conn.execute(
        sa.select(signing_keys.c.public_jwk).order_by(
            signing_keys.c.active.desc(), signing_keys.c.created_at.desc()
        )
    )
    return [dict(r.public_jwk) for r in rows]


# ---- idempotency -----------------------------------------------------------------------------


async def claim_idempotency_key(
    conn: AsyncConnection, scope: str, key: str, request_hash: str
) -> IdempotencyRow | None:
    """Claim a key for this transaction: ``None`` when claimed now, else the earlier request.

    A concurrent claim of the same key waits until the first transaction ends.
    """
    claimed = (
        await conn.execute(
            insert(idempotency)
            .values(scope=scope, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(idempotency.c.key)
        )
    ).first()
    if claimed is not None:
        return None
    row = (
        await conn.execute(
            sa.select(idempotency.c.request_hash, idempotency.c.response).where(
                idempotency.c.scope == scope, idempotency.c.key == key
            )
        )
    ).one()
    return IdempotencyRow(request_hash=row.request_hash, response=row.response)


async def record_idempotent_response(
    conn: AsyncConnection, scope: str, key: str, response: dict[str, Any]
) -> None:
    await conn.execute(
        idempotency.update()
        .where(idempotency.c.scope == scope, idempotency.c.key == key)
        .values(response=response)
    )


async def forget_idempotent_responses(conn: AsyncConnection, member_ids: Iterable[UUID]) -> None:
    await conn.execute(
        idempotency.delete().where(
            idempotency.c.response["member_id"].astext.in_([str(m) for m in member_ids])
        )
    )


# ---- outbox ----------------------------------------------------------------------------------


async def add_event(
    conn: AsyncConnection, event_type: contract.EventType, payload: dict[str, Any], now: datetime
) -> UUID:
    event_id = uuid.uuid4()
    await conn.execute(
        outbox.insert().values(
            event_id=event_id, type=event_type.value, payload=payload, occurred_at=now
        )
    )
    return event_id


async def pending_events(conn: AsyncConnection, limit: int) -> list[OutboxRow]:
    """The oldest undelivered events, locked; rows another relay holds are skipped."""
    rows = await conn.execute(
        sa.select(
            outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.payload, outbox.c.occurred_at
        )
        .where(outbox.c.delivered_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        OutboxRow(
            id=r.id, event_id=r.event_id, type=r.type, payload=r.payload, occurred_at=r.occurred_at
        )
        for r in rows
    ]


async def mark_delivered(conn: AsyncConnection, ids: Sequence[int], now: datetime) -> None:
    await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)))
        .values(delivered_at=now, attempts=outbox.c.attempts + 1, last_error=None)
    )


async def mark_failed(conn: AsyncConnection, ids: Sequence[int], error: str) -> None:
    await conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(list(ids)))
        .values(attempts=outbox.c.attempts + 1, last_error=error[:1000])
    )


# ---- audit -----------------------------------------------------------------------------------


async def audit(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        audit_log.insert().values(
            actor=actor, action=action, subject=subject, details=details or {}
        )
    )
