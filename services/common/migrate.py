"""Apply each service's Alembic history; the version table lives inside the service's schema.

Migrations run as each service's owner role (``SET ROLE``), so that the tables belong to it and
not to the administrator; then the runtime role's rights are applied (``roles.apply_grants``).
The URL is an administrator's (a superuser, or a role with CREATEROLE that creates the roles)
or, when the roles are set up already, one that is a member of each owner role.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from alembic import command
from alembic.config import Config

import migrations
from services.common.db import asyncpg_dsn
from services.common.roles import ServiceRoles, apply_grants, ensure_roles, service_roles

SERVICES = ("identity", "loyalty")
MIGRATIONS_ROOT = Path(migrations.__file__).parent


def alembic_config(
    service: str, url: str, role: str | None = None, key_encryption_secret: str | None = None
) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_ROOT / service))
    config.attributes["database_url"] = url
    config.attributes["schema"] = service
    config.attributes["role"] = role
    if key_encryption_secret is not None:  # signing keys (identity) and door keys (loyalty)
        config.attributes["key_encryption_secret"] = key_encryption_secret
    return config


def upgrade(
    service: str,
    url: str,
    revision: str = "head",
    *,
    role_prefix: str = "",
    app_password: str | None = None,
    key_encryption_secret: str | None = None,
) -> None:
    """Set the service's roles up (when ``url`` may create roles), migrate as its owner, then
    apply the runtime role's rights."""
    roles = service_roles(service, role_prefix)
    asyncio.run(_prepare(url, roles, app_password))
    command.upgrade(alembic_config(service, url, roles.owner, key_encryption_secret), revision)
    asyncio.run(_grant(url, roles))


def upgrade_all(
    url: str,
    *,
    role_prefix: str = "",
    app_passwords: Mapping[str, str | None] | None = None,
    key_encryption_secret: str | None = None,
) -> None:
    for service in SERVICES:
        upgrade(
            service,
            url,
            role_prefix=role_prefix,
            app_password=(app_passwords or {}).get(service),
            key_encryption_secret=key_encryption_secret,
        )


async def _prepare(url: str, roles: ServiceRoles, app_password: str | None) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        can_create = await conn.fetchval(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        if can_create:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('loyalty-roles'))")
                await ensure_roles(conn, roles, app_password)
    finally:
        await conn.close()


async def _grant(url: str, roles: ServiceRoles) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            await conn.execute(f'SET LOCAL ROLE "{roles.owner}"')
            await apply_grants(conn, roles)
    finally:
        await conn.close()
