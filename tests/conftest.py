"""Test fixtures: a real PostgreSQL for every test that needs one.

By default an embedded PostgreSQL (the ``pgserver`` package) is started in a temporary folder.
Set ``LOYALTY_TEST_DATABASE_URL`` to run against another server instead. Either way each test
session works in a database of its own, created fresh, migrated with the real Alembic
histories, and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from hypothesis import settings
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import asyncpg_dsn, create_engine
from services.common.embedded import start_embedded
from services.common.migrate import upgrade_all
from services.common.roles import RuntimeUrls, runtime_urls

TEST_DATABASE_ENV = "LOYALTY_TEST_DATABASE_URL"

#: The runtime roles' passwords in every test database (the services connect as those roles,
#: never as the administrator that migrates).
TEST_ROLE_PASSWORDS: dict[str, str | None] = {
    "identity": "identity-runtime-test",
    "loyalty": "loyalty-runtime-test",
}

#: Every service started by the tests seals its signing and door keys with this secret, whatever
#: its service secret, since the tests' services share their databases.
KEY_ENCRYPTION_ENV = "LOYALTY_KEY_ENCRYPTION_SECRET"
os.environ.setdefault(KEY_ENCRYPTION_ENV, "tests-key-encryption-secret-0123456789abcdef")
KEY_ENCRYPTION_SECRET = os.environ[KEY_ENCRYPTION_ENV]

# Mutation runs replay the same examples for every mutant, so that a score can be reproduced.
settings.register_profile("mutation", derandomize=True, database=None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL, so that the fast tiers can run alone
    (``-m "not database"``, as the mutation run does)."""
    for item in items:
        if "database_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)


def _server_url() -> str:
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        return configured
    data_dir = Path(tempfile.gettempdir()) / "loyalty-test-postgres"
    _server, url = start_embedded(data_dir, cleanup_mode="stop")
    return url


async def _admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_server() -> str:
    """The URL of the PostgreSQL server the tests run against."""
    return _server_url()


def _new_database(server_url: str) -> tuple[str, str]:
    name = f"loyalty_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade_all(url, app_passwords=TEST_ROLE_PASSWORDS)
    return name, url


@pytest.fixture(scope="session")
def database_url(database_server: str) -> Iterator[str]:
    """The URL of a fresh, migrated database for this test session."""
    name, url = _new_database(database_server)
    try:
        yield url
    finally:
        asyncio.run(_admin(database_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def service_urls(url: str) -> RuntimeUrls:
    """The URLs the services use on the test database ``url``: their runtime roles'."""
    return runtime_urls(url, TEST_ROLE_PASSWORDS)


@pytest.fixture(scope="session")
def loyalty_database_url(database_url: str) -> str:
    """The session database as the loyalty service's runtime role."""
    return service_urls(database_url).loyalty


@pytest.fixture(scope="session")
def identity_database_url(database_url: str) -> str:
    """The session database as the identity service's runtime role."""
    return service_urls(database_url).identity


@pytest.fixture(scope="session")
def make_database(database_server: str) -> Iterator[Callable[[], str]]:
    """Make further migrated databases (dropped at the end of the session)."""
    made: list[str] = []

    def make() -> str:
        name, url = _new_database(database_server)
        made.append(name)
        return url

    try:
        yield make
    finally:
        for name in made:
            asyncio.run(_admin(database_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_database_url(make_database: Callable[[], str]) -> str:
    """A database of the test's own, for tests that change programme-wide state (rule sets)."""
    return make_database()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=20, application_name="tests")
    try:
        yield engine
    finally:
        await engine.dispose()
