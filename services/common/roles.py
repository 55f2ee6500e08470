"""Least privilege in the database: a migration owner and a runtime role per service.

Each service's schema, tables and functions belong to ``<prefix><service>_owner``; migrations
run as that role. The service itself connects as ``<prefix><service>_app``: not a superuser, not
the owner (so it can neither alter nor disable the ledger's triggers), no BYPASSRLS, no rights
on the other service's schema, and only the table rights that ``GRANTS`` lists. A table that
``GRANTS`` does not name gets SELECT and INSERT only (fail closed), now and when a later
migration creates it (default privileges).

``apply_grants`` is the one place the policy is applied: ``upgrade_all`` runs it after every
migration, and it is idempotent.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe
from typing import Any, Protocol

from sqlalchemy.engine import make_url

#: Rights of the runtime role beyond SELECT and INSERT, per schema and table. Ledger tables
#: (journal entries, postings, award lines, door scans) are absent on purpose.
#: ``accounts``: ``UPDATE (id)`` only lets the posting path lock rows (``FOR UPDATE`` needs an
#: UPDATE right on some column; postings refer to the id, so it cannot change once used);
#: balances change only through the ``apply_posting`` trigger, owned by the owner and run with
#: its rights (SECURITY DEFINER).
GRANTS: dict[str, dict[str, str]] = {
    "loyalty": {
        "accounts": "UPDATE (id)",
        "door_keys": "UPDATE, DELETE",
        "door_throttle": "UPDATE, DELETE",
        "experiences": "UPDATE, DELETE",
        "guest_referral_intents": "UPDATE, DELETE",
        "inbox": "UPDATE, DELETE",
        "invitation_guests": "UPDATE, DELETE",
        "invitations": "UPDATE, DELETE",
        "issuances": "UPDATE, DELETE",
        "lots": "UPDATE",
        "member_contacts": "UPDATE, DELETE",
        "members": "UPDATE",
        "outbox": "UPDATE, DELETE",
        "partner_webhooks": "UPDATE, DELETE",
        "redemptions": "UPDATE",
        "referral_codes": "UPDATE, DELETE",
        "referral_effects": "UPDATE, DELETE",
        # erasure replaces an erased referee's keyed hash in the links recorded for them
        "referral_events": "UPDATE (key, payload)",
        "referral_parties": "UPDATE, DELETE",
        "referrals": "UPDATE, DELETE",
        "rewards": "UPDATE",
        # publishing locks the table (LOCK TABLE ... SHARE ROW EXCLUSIVE needs the table-wide
        # UPDATE right); the immutability trigger, which this role cannot disable, refuses every
        # UPDATE
        "rule_sets": "UPDATE",
        "suppressions": "UPDATE, DELETE",
        "webhook_deliveries": "UPDATE, DELETE",
    },
    "identity": {
        "account_venues": "UPDATE, DELETE",
        "accounts": "UPDATE, DELETE",
        "api_keys": "UPDATE, DELETE",
        "consents": "UPDATE, DELETE",
        "idempotency": "UPDATE, DELETE",
        "identifier_keys": "UPDATE, DELETE",
        "identifier_verifications": "UPDATE, DELETE",
        "identifiers": "UPDATE, DELETE",
        "login_throttle": "UPDATE, DELETE",
        "members": "UPDATE, DELETE",
        "merges": "UPDATE",
        "outbox": "UPDATE, DELETE",
        "partners": "UPDATE, DELETE",
        "preferences": "UPDATE, DELETE",
        "refresh_tokens": "UPDATE, DELETE",
        "revocations": "DELETE",
        "signing_keys": "UPDATE",
        "venues": "UPDATE, DELETE",
    },
}

#: Trigger functions that must write what the runtime role may not: they run as their owner.
DEFINER_FUNCTIONS: dict[str, tuple[str, ...]] = {"loyalty": ("apply_posting()",)}


class Executor(Protocol):
    async def execute(self, query: str, *args: object) -> str: ...
    async def fetch(self, query: str, *args: object) -> list[Any]: ...
    async def fetchval(self, query: str, *args: object) -> object: ...


@dataclass(frozen=True)
class ServiceRoles:
    service: str
    owner: str
    app: str


def service_roles(service: str, prefix: str = "") -> ServiceRoles:
    """The two roles of ``service``; ``prefix`` (setting ``LOYALTY_DATABASE_ROLE_PREFIX``) lets
    several installations share one PostgreSQL server."""
    if service not in GRANTS:
        raise ValueError(f"unknown service {service!r}")
    return ServiceRoles(service, f"{prefix}{service}_owner", f"{prefix}{service}_app")


def runtime_url(url: str, roles: ServiceRoles, password: str | None) -> str:
    """``url`` (the migration one) with the service's runtime role as its user."""
    return (
        make_url(url)
        .set(username=roles.app, password=password)
        .render_as_string(hide_password=False)
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_roles(conn: Executor, roles: ServiceRoles, app_password: str | None) -> None:
    """As an administrator (superuser, or a role with CREATEROLE): create both roles if missing,
    give the schema and everything in it to the owner, and let the runtime role connect.
    ``app_password`` (when given) becomes the runtime role's password."""
    owner, app, schema = _ident(roles.owner), _ident(roles.app), _ident(roles.service)
    exists = "SELECT 1 FROM pg_roles WHERE rolname = $1"
    if not await conn.fetchval(exists, roles.owner):
        await conn.execute(f"CREATE ROLE {owner} NOLOGIN")
    if not await conn.fetchval(exists, roles.app):
        await conn.execute(f"CREATE ROLE {app} LOGIN")
    await conn.execute(
        f"ALTER ROLE {app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "NOBYPASSRLS NOINHERIT"
    )
    await conn.execute(f"ALTER ROLE {owner} NOSUPERUSER NOBYPASSRLS")
    if app_password is not None:
        await conn.execute(f"ALTER ROLE {app} PASSWORD {_literal(app_password)}")
    if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        await conn.execute(f"GRANT {owner} TO current_user")
    database = _ident(str(await conn.fetchval("SELECT current_database()")))
    await conn.execute(f"GRANT CONNECT ON DATABASE {database} TO {app}")
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner}")
    await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {owner}")
    # Objects migrated earlier by another role (before these roles existed) change hands.
    for kind, name in await conn.fetch(
        """
        SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
               quote_ident(n.nspname) || '.' || quote_ident(c.relname)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'S')
           AND pg_get_userbyid(c.relowner) <> $2
           AND NOT (c.relkind = 'S' AND EXISTS (
               SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
        """,
        roles.service,
        roles.owner,
    ):
        await conn.execute(f"ALTER {kind} {name} OWNER TO {owner}")
    for (signature,) in await conn.fetch(
        """
        SELECT p.oid::regprocedure::text FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1 AND pg_get_userbyid(p.proowner) <> $2
        """,
        roles.service,
        roles.owner,
    ):
        await conn.execute(f"ALTER FUNCTION {signature} OWNER TO {owner}")


async def apply_grants(conn: Executor, roles: ServiceRoles) -> None:
    """As the owner, after the migrations: the runtime role's rights on its own schema, exactly
    as ``GRANTS`` says (idempotent: everything is revoked first, in one transaction)."""
    owner, app, schema = _ident(roles.owner), _ident(roles.app), _ident(roles.service)
    policy = GRANTS[roles.service]
    await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app}, PUBLIC")
    await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
    await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {app}")
    await conn.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {app}")
    await conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {app}")
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1", roles.service
    )
    present = {str(row[0]) for row in tables}
    for table, rights in sorted(policy.items()):
        if rights and table in present:
            await conn.execute(f"GRANT {rights} ON {schema}.{_ident(table)} TO {app}")
    for function in DEFINER_FUNCTIONS.get(roles.service, ()):
        await conn.execute(
            f"ALTER FUNCTION {schema}.{function} SECURITY DEFINER "
            "SET search_path = pg_catalog, pg_temp"
        )
    await conn.execute(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema} FROM PUBLIC")
    default = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}"
    await conn.execute(f"{default} GRANT SELECT, INSERT ON TABLES TO {app}")
    await conn.execute(f"{default} GRANT USAGE ON SEQUENCES TO {app}")
    await conn.execute(f"{default} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")


@dataclass(frozen=True)
class RuntimeUrls:
    """Where each service connects at run time, as its runtime role."""

    identity: str
    loyalty: str


def runtime_urls(
    url: str, passwords: dict[str, str | None] | None = None, *, prefix: str = ""
) -> RuntimeUrls:
    """Both services' runtime URLs on the server and database of ``url``."""
    secrets = passwords or {}
    return RuntimeUrls(
        identity=runtime_url(url, service_roles("identity", prefix), secrets.get("identity")),
        loyalty=runtime_url(url, service_roles("loyalty", prefix), secrets.get("loyalty")),
    )


ROLES_FILE = ".roles.json"


def embedded_role_passwords(data_dir: Path) -> dict[str, str | None]:
    """The runtime roles' passwords for the embedded database, kept in its data folder (only
    the owner of the folder can read them); made at the first start."""
    path = data_dir / ROLES_FILE
    try:
        stored = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        stored = {}
    passwords: dict[str, str | None] = {}
    for service in GRANTS:
        value = stored.get(service)
        passwords[service] = value if isinstance(value, str) and value else token_urlsafe(32)
    if passwords != stored:
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(passwords, file)
    os.chmod(path, 0o600)
    return passwords


def passwords_from_urls(urls: RuntimeUrls, *, prefix: str = "") -> dict[str, str | None]:
    """The runtime roles' passwords that the configured runtime URLs carry (for the roles'
    set-up), when their users are the runtime roles."""
    found: dict[str, str | None] = {}
    for service, url in (("identity", urls.identity), ("loyalty", urls.loyalty)):
        parsed = make_url(url)
        if parsed.username == service_roles(service, prefix).app and parsed.password:
            found[service] = str(parsed.password)
    return found
