"""Least privilege in the database: each service's runtime role can do what the service does and
nothing that would bypass the ledger's protections (SQLSTATE 42501, insufficient privilege)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from services.common.db import asyncpg_dsn

INSUFFICIENT_PRIVILEGE = "42501"


@pytest_asyncio.fixture(loop_scope="session")
async def as_loyalty(loyalty_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(loyalty_database_url))
    try:
        yield conn
    finally:
        await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def as_identity(identity_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(identity_database_url))
    try:
        yield conn
    finally:
        await conn.close()


async def _refused(conn: asyncpg.Connection, sql: str) -> str:
    with pytest.raises(asyncpg.PostgresError) as refused:
        await conn.execute(sql)
    return str(refused.value.sqlstate)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_runtime_roles_are_neither_superuser_nor_owner_nor_bypass_rls(
    as_loyalty: asyncpg.Connection, as_identity: asyncpg.Connection
) -> None:
    for conn, name in ((as_loyalty, "loyalty_app"), (as_identity, "identity_app")):
        row = await conn.fetchrow(
            "SELECT current_user AS who, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
            "FROM pg_roles WHERE rolname = current_user"
        )
        assert dict(row) == {
            "who": name,
            "rolsuper": False,
            "rolbypassrls": False,
            "rolcreaterole": False,
            "rolcreatedb": False,
        }
    owners = await as_loyalty.fetch(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'loyalty'"
    )
    assert [r["tableowner"] for r in owners] == ["loyalty_owner"]


@pytest.mark.asyncio(loop_scope="session")
async def test_the_loyalty_role_cannot_switch_triggers_off_by_replication_role(
    as_loyalty: asyncpg.Connection,
) -> None:
    sql = "SET session_replication_role = replica"
    assert await _refused(as_loyalty, sql) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize("table", ["journal_entries", "postings", "award_lines", "accounts"])
@pytest.mark.asyncio(loop_scope="session")
async def test_the_loyalty_role_cannot_disable_a_ledger_trigger(
    as_loyalty: asyncpg.Connection, table: str
) -> None:
    sql = f"ALTER TABLE loyalty.{table} DISABLE TRIGGER ALL"
    assert await _refused(as_loyalty, sql) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE loyalty.journal_entries SET points = points + 1",
        "DELETE FROM loyalty.journal_entries",
        "UPDATE loyalty.postings SET delta = delta * 2",
        "DELETE FROM loyalty.postings",
        "UPDATE loyalty.award_lines SET points = 0",
        "DELETE FROM loyalty.award_lines",
        "TRUNCATE loyalty.postings",
        "UPDATE loyalty.accounts SET balance = 1000000",
        "DROP FUNCTION loyalty.apply_posting()",
        "CREATE OR REPLACE FUNCTION loyalty.forbid_change() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
    ],
)
@pytest.mark.asyncio(loop_scope="session")
async def test_the_loyalty_role_cannot_rewrite_the_ledger_or_balances(
    as_loyalty: asyncpg.Connection, sql: str
) -> None:
    assert await _refused(as_loyalty, sql) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM identity.members",
        "INSERT INTO identity.audit_log DEFAULT VALUES",
    ],
)
@pytest.mark.asyncio(loop_scope="session")
async def test_the_loyalty_role_cannot_reach_identity_schema(
    as_loyalty: asyncpg.Connection, sql: str
) -> None:
    assert await _refused(as_loyalty, sql) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM loyalty.journal_entries",
        "UPDATE loyalty.accounts SET balance = 1",
    ],
)
@pytest.mark.asyncio(loop_scope="session")
async def test_the_identity_role_cannot_reach_loyalty_schema(
    as_identity: asyncpg.Connection, sql: str
) -> None:
    assert await _refused(as_identity, sql) == INSUFFICIENT_PRIVILEGE


@pytest.mark.asyncio(loop_scope="session")
async def test_a_posting_by_the_runtime_role_still_moves_the_balance_through_the_trigger(
    as_loyalty: asyncpg.Connection,
) -> None:
    import uuid

    member, entry = uuid.uuid4(), uuid.uuid4()
    async with as_loyalty.transaction():
        await as_loyalty.execute("INSERT INTO loyalty.members (member_id) VALUES ($1)", member)
        await as_loyalty.execute(
            "INSERT INTO loyalty.accounts (member_id, kind, balance) "
            "VALUES ($1, 'available', 0), ($1, 'pending', 0)",
            member,
        )
        await as_loyalty.execute(
            "INSERT INTO loyalty.journal_entries (id, kind, source, external_id, member_id, "
            "points, occurred_at, actor, explanation) VALUES ($1, 'adjust', 'roles-test', $2, "
            "$3, 40, now(), 'test', '{}'::jsonb)",
            entry,
            str(entry),
            member,
        )
        await as_loyalty.execute(
            "INSERT INTO loyalty.postings (entry_id, account_id, delta) "
            "SELECT $1::uuid, id, 40 FROM loyalty.accounts WHERE member_id = $2 AND kind = 'available' "
            "UNION ALL SELECT $1::uuid, id, -40 FROM loyalty.accounts "
            "WHERE member_id IS NULL AND kind = 'issued'",
            entry,
            member,
        )
    balance = await as_loyalty.fetchval(
        "SELECT balance FROM loyalty.accounts WHERE member_id = $1 AND kind = 'available'", member
    )
    assert balance == 40


CHECK_VIOLATION = "23514"


@pytest.mark.parametrize(
    ("balance", "message"),
    [
        ("1", "a member account opens with balance 0, not 1: balances move only through postings"),
        (
            "1000000",
            "a member account opens with balance 0, not 1000000: balances move only through "
            "postings",
        ),
        (
            "NULL",
            "a member account opens with balance 0, not NULL: balances move only through postings",
        ),
    ],
)
@pytest.mark.asyncio(loop_scope="session")
async def test_the_loyalty_role_cannot_open_an_account_with_a_balance(
    as_loyalty: asyncpg.Connection, balance: str, message: str
) -> None:
    import uuid

    member = uuid.uuid4()
    await as_loyalty.execute("INSERT INTO loyalty.members (member_id) VALUES ($1)", member)
    with pytest.raises(asyncpg.PostgresError) as refused:
        await as_loyalty.execute(
            "INSERT INTO loyalty.accounts (member_id, kind, balance) "
            f"VALUES ($1, 'available', {balance})",
            member,
        )
    assert (refused.value.sqlstate, str(refused.value)) == (CHECK_VIOLATION, message)
    opened = await as_loyalty.fetchval(
        "SELECT count(*) FROM loyalty.accounts WHERE member_id = $1", member
    )
    assert opened == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_the_loyalty_role_opens_accounts_at_zero_and_programme_accounts_without_balance(
    as_loyalty: asyncpg.Connection,
) -> None:
    import uuid

    member = uuid.uuid4()
    async with as_loyalty.transaction():
        await as_loyalty.execute("INSERT INTO loyalty.members (member_id) VALUES ($1)", member)
        await as_loyalty.execute(
            "INSERT INTO loyalty.accounts (member_id, kind, balance) "
            "VALUES ($1, 'available', 0), ($1, 'pending', 0)",
            member,
        )
    rows = await as_loyalty.fetch(
        "SELECT kind, balance FROM loyalty.accounts WHERE member_id = $1 ORDER BY kind", member
    )
    assert [tuple(r) for r in rows] == [("available", 0), ("pending", 0)]
