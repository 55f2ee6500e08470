"""Organisations' use cases: venues, partners, and the staff and admin accounts that act for
them. Each creation is audited; a repeat of the same creation returns what the first made."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor
from services.common.problems import InvalidInput, NotFound, Problem
from services.common.uow import UnitOfWork
from services.identity import audit, contract, normalise, password_policy, passwords
from services.identity.access import require_admin
from services.identity.contract import ProblemCode
from services.identity.organisations import queries
from services.identity.outcome import Outcome


def _now() -> datetime:
    return datetime.now(UTC)


# ---- venues and partners ---------------------------------------------------------------------


async def create_venue(
    engine: AsyncEngine, actor: Actor, body: contract.CreateVenue
) -> Outcome[contract.Venue]:
    """Create a venue; with an ``external_id`` a repeat returns the venue created first."""
    require_admin(actor)
    _check_timezone(body.timezone)
    async with UnitOfWork(engine) as uow:
        venue = await queries.insert_venue(
            uow.conn,
            name=body.name,
            timezone=body.timezone,
            external_id=body.external_id,
            now=_now(),
        )
        if venue is None:
            existing = await queries.venue(uow.conn, external_id=body.external_id)
            assert existing is not None
            return Outcome(existing, created=False)
        await audit.record(
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
        venue = await queries.venue(uow.conn, venue_id=venue_id)
    if venue is None:
        raise NotFound(ProblemCode.VENUE_NOT_FOUND, "no such venue", venue_id=str(venue_id))
    return venue


async def create_partner(
    engine: AsyncEngine, actor: Actor, body: contract.CreatePartner
) -> Outcome[contract.Partner]:
    """Create a partner; with an ``external_id`` a repeat returns the partner created first."""
    require_admin(actor)
    async with UnitOfWork(engine) as uow:
        partner = await queries.insert_partner(
            uow.conn, name=body.name, kind=body.kind, external_id=body.external_id, now=_now()
        )
        if partner is None:
            existing = await queries.partner(uow.conn, external_id=body.external_id)
            assert existing is not None
            return Outcome(existing, created=False)
        await audit.record(
            uow.conn, actor=actor.label(), action="partner.created", subject=str(partner.id)
        )
        await uow.commit()
    return Outcome(partner, created=True)


# ---- staff and admin accounts ----------------------------------------------------------------


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
    password_policy.require_acceptable(body.password, email=email, display_name=body.display_name)
    password_hash = await passwords.hash_password(body.password)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        missing = set(venue_ids) - await queries.existing_venue_ids(conn, venue_ids)
        if missing:
            raise NotFound(
                ProblemCode.VENUE_NOT_FOUND,
                "no such venue",
                venue_ids=sorted(str(v) for v in missing),
            )
        account = await queries.insert_account(
            conn,
            email=email,
            password_hash=password_hash,
            role=body.role,
            display_name=body.display_name,
            venue_ids=venue_ids,
            now=_now(),
        )
        if account is not None:
            await audit.record(
                conn,
                actor=actor_label,
                action="account.created",
                subject=str(account.id),
                details={"role": body.role.value},
            )
            await uow.commit()
            return Outcome(account, created=True)
        existing_row = await queries.account_by_email(conn, email)
        assert existing_row is not None
        existing = await queries.staff_account(conn, existing_row)
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
    password_policy.require_acceptable(password, email=normalised)
    async with UnitOfWork(engine) as uow:
        row = await queries.account_by_email(uow.conn, normalised)
        existing = None if row is None else await queries.staff_account(uow.conn, row)
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
                row = await queries.account_by_email(uow.conn, normalised)
                existing = None if row is None else await queries.staff_account(uow.conn, row)
    if existing is None or existing.role is not contract.AccountRole.ADMIN:
        raise Problem(ProblemCode.EMAIL_TAKEN, "a staff account already uses this email")
    return existing
