"""Organisations' SQL: venues, partners, staff and admin accounts, partner API keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity import contract
from services.identity.tables import account_venues, accounts, api_keys, partners, venues


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: UUID
    email: str
    password_hash: str
    role: contract.AccountRole
    display_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    key: contract.ApiKey
    secret_hash: str
    idempotency_key: str | None


# ---- venues and partners ---------------------------------------------------------------------


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


def _scope(r: sa.Row[Any]) -> contract.PartnerScope:
    venues = r.allowed_venue_ids
    return contract.PartnerScope(
        triggers=list(r.allowed_triggers),
        venue_ids=None if venues is None else sorted(venues),
        register_referrals=r.may_register_referrals,
    )


def _scope_values(scope: contract.PartnerScope) -> dict[str, Any]:
    return {
        "allowed_triggers": sorted(set(scope.triggers)),
        "allowed_venue_ids": None if scope.venue_ids is None else sorted(set(scope.venue_ids)),
        "may_register_referrals": scope.register_referrals,
    }


def _api_key_row(r: sa.Row[Any]) -> ApiKeyRow:
    return ApiKeyRow(
        key=contract.ApiKey(
            id=r.id,
            partner_id=r.partner_id,
            label=r.label,
            prefix=r.prefix,
            created_at=r.created_at,
            revoked_at=r.revoked_at,
            scope=_scope(r),
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
    scope: contract.PartnerScope,
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
                **_scope_values(scope),
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


async def api_key_by_id(conn: AsyncConnection, key_id: UUID) -> contract.ApiKey | None:
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
    return None if row is None else _api_key_row(row).key


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


async def set_scope(
    conn: AsyncConnection, key_id: UUID, scope: contract.PartnerScope, now: datetime
) -> contract.ApiKey | None:
    row = (
        await conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id)
            .values(scope_updated_at=now, **_scope_values(scope))
            .returning(api_keys)
        )
    ).first()
    return None if row is None else _api_key_row(row).key
