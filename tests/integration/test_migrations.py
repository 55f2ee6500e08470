from __future__ import annotations

import ast
import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import asyncpg_dsn, create_engine
from services.common.migrate import alembic_config, upgrade
from services.common.roles import service_roles
from services.loyalty.referrals import registration_queries
from tests.conftest import TEST_ROLE_PASSWORDS, service_urls


async def test_each_service_keeps_its_version_table_inside_its_own_schema(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'alembic_version' ORDER BY table_schema"
            )
        )
        assert [r.table_schema for r in rows] == ["identity", "loyalty"]


def test_no_migration_imports_the_application_s_code() -> None:
    """A revision does what it did when it was written: what it needs of the application's code
    (a key's label, a conversion) is written out in it, never imported, so that a later change
    to the application cannot change what an old migration does."""
    versions = sorted((Path(__file__).parents[2] / "migrations").glob("*/versions/*.py"))
    assert len(versions) > 10
    imported: dict[str, set[str]] = {}
    for version in versions:
        for node in ast.walk(ast.parse(version.read_text())):
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {node.module or ""}
            else:
                continue
            for name in names:
                if name.split(".")[0] in {"services", "graphql_schema", "tests"}:
                    imported.setdefault(version.name, set()).add(name)
    assert imported == {}


# ---- the loyalty history down to 0007 and back --------------------------------------------

REFERRER_INDEX = "ix_referrals_current_referrer_id_registered_at"
REFERRERS, PER_REFERRER = 200, 10


async def _indexes_and_version(url: str) -> tuple[str, list[str]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        version = await conn.fetchval("SELECT version_num FROM loyalty.alembic_version")
        names = await conn.fetch(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'loyalty' "
            "AND tablename = 'referrals' AND indexname LIKE 'ix_referrals_current_referrer%' "
            "ORDER BY 1"
        )
    finally:
        await conn.close()
    return str(version), [r["indexname"] for r in names]


async def _fill_and_explain_the_cap_count(url: str) -> tuple[int, list[str]]:
    """Referrals written by the runtime role (its rights survived the round trip), analysed as
    autovacuum would, and the indexes the registration's own statement reads."""
    engine = create_engine(service_urls(url).loyalty, pool_size=1)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    """
                    INSERT INTO loyalty.referrals
                        (id, referrer_id, code, channel, partner_id, reference,
                         referee_email_hash, consent_method, consent_given_at, registered_at,
                         holds_until, request_hash, actor, terms, current_referrer_id)
                    SELECT gen_random_uuid(), r, 'ABCDEFGH', 'partner', gen_random_uuid(),
                           'ref-' || n, md5(n::text), 'online_form', t.at,
                           t.at - n * interval '1 hour', t.at + interval '30 days',
                           md5(n::text), 'partner:test', '{}', r
                      FROM generate_series(1, CAST(:total AS int)) AS n,
                           (SELECT CAST(:now AS timestamptz) AS at) AS t,
                           LATERAL (SELECT CAST(lpad(to_hex(n % CAST(:referrers AS int) + 1),
                                    32, '0') AS uuid) AS r) AS who
                    """
                ),
                {"now": now, "total": REFERRERS * PER_REFERRER, "referrers": REFERRERS},
            )
        admin = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await admin.execute("ANALYZE loyalty.referrals")
        finally:
            await admin.close()
        async with engine.connect() as conn:
            count = await conn.scalar(sa.text("SELECT count(*) FROM loyalty.referrals"))
            plan = await conn.scalar(
                sa.text("EXPLAIN (FORMAT JSON) " + registration_queries._CONTEXT.text),
                {
                    "partner": uuid.uuid4(),
                    "channel": "partner",
                    "reference": "ref-1",
                    "hashes": ["x"],
                    "window_start": now - timedelta(days=30),
                    "referrer": uuid.UUID(int=7),
                    "cap_start": now - timedelta(days=30),
                },
            )
    finally:
        await engine.dispose()
    return int(count or 0), sorted(set(_index_names(plan)))


def _index_names(plan: object) -> list[str]:
    if isinstance(plan, dict):
        own = [plan["Index Name"]] if "Index Name" in plan else []
        return own + [name for value in plan.values() for name in _index_names(value)]
    if isinstance(plan, list):
        return [name for value in plan for name in _index_names(value)]
    return []


def test_the_loyalty_history_goes_down_to_0007_and_up_again_keeping_the_runtime_rights(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    head = ScriptDirectory.from_config(alembic_config("loyalty", url)).get_current_head()
    assert asyncio.run(_indexes_and_version(url)) == (
        head,
        ["ix_referrals_current_referrer_id_converted_at", REFERRER_INDEX],
    )

    command.downgrade(alembic_config("loyalty", url, service_roles("loyalty").owner), "0007")
    assert asyncio.run(_indexes_and_version(url)) == (
        "0007",
        ["ix_referrals_current_referrer_id_converted_at"],
    )

    upgrade("loyalty", url, app_password=TEST_ROLE_PASSWORDS["loyalty"])
    assert asyncio.run(_indexes_and_version(url)) == (
        head,
        ["ix_referrals_current_referrer_id_converted_at", REFERRER_INDEX],
    )
    count, used = asyncio.run(_fill_and_explain_the_cap_count(url))
    assert count == REFERRERS * PER_REFERRER
    assert REFERRER_INDEX in used


async def _claims(url: str, *, insert: bool = False) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if insert:
            await conn.execute(
                "INSERT INTO identity.idempotency (scope, key, request_hash, response) VALUES "
                "('register_member', 'legacy', 'digest', "
                """'{"member_id": "m", "taken": "email", "would_be": {"display_name": "Ada"}}'), """
                "('another_scope', 'kept', 'digest', NULL)"
            )
        rows = await conn.fetch("SELECT scope FROM identity.idempotency ORDER BY scope")
        return [r["scope"] for r in rows]
    finally:
        await conn.close()


def test_identity_0005_forgets_the_registration_claims_that_kept_personal_data(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    command.downgrade(alembic_config("identity", url, service_roles("identity").owner), "0004")
    assert asyncio.run(_claims(url, insert=True)) == ["another_scope", "register_member"]

    upgrade("identity", url, app_password=TEST_ROLE_PASSWORDS["identity"])

    assert asyncio.run(_claims(url)) == ["another_scope"]
