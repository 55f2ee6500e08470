"""Loyalty's door keys at rest: sealed under loyalty's own key-encryption key, the key id as
associated data; a wrong key-encryption secret stops the service at start and signs nothing; the
migration of keys stored as PEM before sealing keeps the passes they signed valid and the
published key set unchanged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic import command
from starlette.applications import Starlette

from services.common import sealing
from services.common.db import create_engine
from services.common.migrate import alembic_config, upgrade
from services.common.settings import Settings
from services.identity.sessions import sealing as identity_sealing
from services.loyalty.api import create_app
from services.loyalty.experiences import door_pass, signing
from services.loyalty.experiences.door_codes import ALPHABET, DoorCode, check_symbol
from tests.conftest import KEY_ENCRYPTION_SECRET, TEST_ROLE_PASSWORDS, service_urls
from tests.integration import sealed_keys

SECRET = KEY_ENCRYPTION_SECRET
KEK = signing.derive_kek(SECRET)
SERVICE_SECRET = "door-keys-tests-service-secret-0123456789"
WRONG_SECRET = "another-key-encryption-secret-0123456789"


async def _rows(url: str) -> list[dict[str, object]]:
    return await sealed_keys.rows(url, "loyalty.door_keys")


def _app(url: str, key_encryption_secret: str | None = None) -> Starlette:
    return create_app(
        Settings(environment="test"),
        database_url=service_urls(url).loyalty,
        service_secret=SERVICE_SECRET,
        key_encryption_secret=key_encryption_secret,
    )


@asynccontextmanager
async def _serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://loyalty") as client:
            yield client


def _a_pass() -> door_pass.DoorPass:
    now = datetime.now(UTC).replace(microsecond=0)
    payload = ALPHABET[:7]
    return door_pass.DoorPass(
        invitation_id=uuid.uuid4(),
        experience_id=uuid.uuid4(),
        venue_id="venue-1",
        code=DoorCode(payload + check_symbol(payload)),
        guests=1,
        issued_at=now,
        not_before=now - timedelta(hours=1),
        expires_at=now + timedelta(hours=1),
        name="Inès",
    )


async def test_the_stored_door_key_holds_no_private_key_material(
    fresh_database_url: str,
) -> None:
    app = _app(fresh_database_url)
    async with _serving(app) as client:
        key = await signing.door_key(app.state.engine)
        published = (await client.get("/.well-known/jwks.json")).json()

    [row] = await _rows(fresh_database_url)
    sealed_keys.assert_stored_sealed(row, key, KEK)
    sealed = bytes(row["private_key_sealed"])  # type: ignore[arg-type]
    # identity's key-encryption key, from the same secret, does not open loyalty's door key
    with pytest.raises(sealing.KeyEncryptionError):
        sealing.unseal(identity_sealing.derive_kek(SECRET), key.kid, sealed)
    assert published == {"keys": [key.public_jwk]}


async def test_a_wrong_key_encryption_secret_stops_the_service_at_start(
    fresh_database_url: str,
) -> None:
    right = _app(fresh_database_url)
    async with _serving(right):
        kid = (await signing.door_key(right.state.engine)).kid
    before = await _rows(fresh_database_url)
    wrong = _app(fresh_database_url, WRONG_SECRET)

    with pytest.raises(sealing.KeyEncryptionError) as refused:
        async with _serving(wrong):
            pytest.fail("the service started with the wrong key-encryption secret")

    assert str(refused.value) == (
        f"the door key {kid} does not open with the configured key-encryption secret "
        "(LOYALTY_KEY_ENCRYPTION_SECRET, else LOYALTY_SERVICE_SECRET): configure the secret "
        "it was sealed with"
    )
    assert await _rows(fresh_database_url) == before


async def test_without_the_right_key_encryption_key_nothing_is_signed(
    fresh_database_url: str,
) -> None:
    right = _app(fresh_database_url)
    async with _serving(right):
        kid = (await signing.door_key(right.state.engine)).kid
    url = service_urls(fresh_database_url).loyalty
    engine = create_engine(url, pool_size=1, application_name="door-keys-tests")
    try:
        with pytest.raises(sealing.KeyEncryptionError) as refused:
            await signing.open_door_key(engine, signing.derive_kek(WRONG_SECRET))
        assert str(refused.value).startswith(f"the door key {kid} does not open")
        # the wrong key is not kept: a pass is still refused, never signed with a new key
        with pytest.raises(sealing.KeyEncryptionError):
            await signing.door_key(engine)
    finally:
        await engine.dispose()
    unopened = create_engine(fresh_database_url, pool_size=1, application_name="door-keys-tests")
    try:  # an engine that was given no key-encryption key signs nothing either
        with pytest.raises(sealing.KeyEncryptionError) as none:
            await signing.door_key(unopened)
    finally:
        await unopened.dispose()
    assert str(none.value) == "no key-encryption key was given for the door keys"
    assert [r["kid"] for r in await _rows(fresh_database_url)] == [kid]


def _back_to_clear_keys(url: str, key: signing.DoorKey) -> None:
    """The database as it was before door keys were sealed, holding ``key`` as PEM."""
    sealed_keys.back_to_clear_keys(
        url, service="loyalty", table="loyalty.door_keys", revision="0010", secret=SECRET, key=key
    )


def test_the_migration_seals_the_keys_stored_in_clear_and_their_passes_still_verify(
    fresh_database_url: str,
) -> None:
    key = signing.DoorKey.generate()
    issued = _a_pass()
    token = signing.sign(key, issued)  # a pass handed out before the keys were sealed
    _back_to_clear_keys(fresh_database_url, key)

    upgrade(
        "loyalty",
        fresh_database_url,
        app_password=TEST_ROLE_PASSWORDS["loyalty"],
        key_encryption_secret=SECRET,
    )

    [row] = asyncio.run(_rows(fresh_database_url))
    sealed_keys.assert_migrated(row, key, KEK)

    async def served() -> tuple[object, object, object]:
        app = _app(fresh_database_url)
        async with _serving(app) as client:
            published = (await client.get("/.well-known/jwks.json")).json()
            engine = app.state.engine
            opened = await signing.door_key(engine)
            again = signing.sign(opened, issued)
            return (
                published,
                (opened.kid, await signing.verify(engine, token)),
                await signing.verify(engine, again),
            )

    published, (kid, verified), resigned = asyncio.run(served())
    assert published == {"keys": [key.public_jwk]}  # the same key set as before sealing
    assert kid == key.kid
    assert verified == resigned == issued


def test_without_a_key_encryption_secret_the_migration_changes_nothing_and_says_what_to_set(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = signing.DoorKey.generate()
    _back_to_clear_keys(fresh_database_url, key)
    monkeypatch.delenv("LOYALTY_KEY_ENCRYPTION_SECRET")
    monkeypatch.delenv("LOYALTY_SERVICE_SECRET", raising=False)

    with pytest.raises(RuntimeError) as refused:
        upgrade("loyalty", fresh_database_url, app_password=TEST_ROLE_PASSWORDS["loyalty"])

    assert str(refused.value) == (
        "loyalty's door keys are to be sealed at rest: set LOYALTY_KEY_ENCRYPTION_SECRET "
        "(or LOYALTY_SERVICE_SECRET) to the secret the loyalty service is given, then "
        "migrate again"
    )
    [row] = asyncio.run(_rows(fresh_database_url))
    assert (row["kid"], row["private_key_pem"]) == (key.kid, sealed_keys.pem_of(key))


def test_a_downgrade_unseals_the_keys_as_they_were(fresh_database_url: str) -> None:
    key = signing.DoorKey.generate()
    _back_to_clear_keys(fresh_database_url, key)
    upgrade(
        "loyalty",
        fresh_database_url,
        app_password=TEST_ROLE_PASSWORDS["loyalty"],
        key_encryption_secret=SECRET,
    )

    command.downgrade(
        alembic_config("loyalty", fresh_database_url, "loyalty_owner", SECRET), "0010"
    )

    [row] = asyncio.run(_rows(fresh_database_url))
    assert (row["kid"], row["private_key_pem"]) == (key.kid, sealed_keys.pem_of(key))
