"""Identity's signing keys at rest: sealed under a key-encryption key, the key id as associated
data; a wrong key-encryption secret stops the service at start; rotation and the migration of
keys stored before sealing."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime

import jwt
import pytest

from services.common.db import create_engine
from services.common.migrate import upgrade
from services.common.settings import Settings
from services.identity import tokens
from services.identity.api import create_app
from services.identity.sessions import sealing, signing_keys
from tests.conftest import TEST_ROLE_PASSWORDS, service_urls
from tests.integration import sealed_keys

SECRET = os.environ["LOYALTY_KEY_ENCRYPTION_SECRET"]
KEK = sealing.derive_kek(SECRET)
SERVICE_SECRET = "signing-keys-tests-service-secret-0123"


async def _rows(url: str) -> list[dict[str, object]]:
    return await sealed_keys.rows(url, "identity.signing_keys")


async def test_the_stored_signing_key_holds_no_private_key_material(
    fresh_database_url: str,
) -> None:
    app = create_app(
        Settings(environment="test"),
        database_url=service_urls(fresh_database_url).identity,
        service_secret=SERVICE_SECRET,
    )
    async with app.router.lifespan_context(app):
        key = await signing_keys.signing_key(app.state.engine)

    [row] = await _rows(fresh_database_url)
    sealed_keys.assert_stored_sealed(row, key, KEK)


async def test_a_wrong_key_encryption_secret_stops_the_service_at_start(
    fresh_database_url: str,
) -> None:
    url = service_urls(fresh_database_url).identity
    right = create_app(
        Settings(environment="test"), database_url=url, service_secret=SERVICE_SECRET
    )
    async with right.router.lifespan_context(right):
        kid = (await signing_keys.signing_key(right.state.engine)).kid
    before = await _rows(fresh_database_url)
    wrong = create_app(
        Settings(environment="test"),
        database_url=url,
        service_secret=SERVICE_SECRET,
        key_encryption_secret="another-key-encryption-secret-0123456789",
    )

    with pytest.raises(sealing.KeyEncryptionError) as refused:
        async with wrong.router.lifespan_context(wrong):
            pytest.fail("the service started with the wrong key-encryption secret")

    assert str(refused.value) == (
        f"the signing key {kid} does not open with the configured key-encryption secret "
        "(LOYALTY_KEY_ENCRYPTION_SECRET, else LOYALTY_SERVICE_SECRET): configure the secret "
        "it was sealed with"
    )
    assert await _rows(fresh_database_url) == before


def test_a_key_encryption_secret_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="key encryption secret must be at least 32 bytes"):
        Settings(key_encryption_secret="x" * 31)
    assert Settings(key_encryption_secret="x" * 32).key_encryption_secret_value() == "x" * 32


def _verify(token: str, jwks: dict[str, list[dict[str, str]]]) -> str:
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [k for k in jwks["keys"] if k["kid"] == kid]
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="gateway")
    return str(claims["sub"])


async def test_after_a_rotation_new_tokens_use_the_new_sealed_key_and_old_ones_still_verify(
    fresh_database_url: str,
) -> None:
    engine = create_engine(service_urls(fresh_database_url).identity, pool_size=1)
    try:
        old = await signing_keys.open_signing_key(engine, KEK)
        member = uuid.uuid4()
        now = datetime.now(UTC)
        issue = {
            "issuer": "identity",
            "audience": "gateway",
            "subject": member,
            "kind": "member",
            "ttl_seconds": 600,
            "now": now,
        }
        before = tokens.issue_access_token(old, **issue)  # type: ignore[arg-type]

        new = await signing_keys.rotate_signing_key(engine, KEK)
        after = tokens.issue_access_token(await signing_keys.signing_key(engine), **issue)  # type: ignore[arg-type]
        published = await signing_keys.jwks(engine)
        restarted = await signing_keys.open_signing_key(engine, KEK)  # as a replica starting
    finally:
        await engine.dispose()

    assert new.kid != old.kid
    assert restarted.kid == new.kid
    assert [k["kid"] for k in published["keys"]] == [new.kid, old.kid]
    assert _verify(before, published) == _verify(after, published) == str(member)
    rows = await _rows(fresh_database_url)
    assert [(r["kid"], r["active"]) for r in rows] == [(old.kid, False), (new.kid, True)]
    for row, key in zip(rows, (old, new), strict=True):
        sealed_keys.assert_sealed(bytes(row["private_key_sealed"]), key, KEK)  # type: ignore[arg-type]


def _back_to_clear_keys(url: str, key: tokens.SigningKey) -> None:
    """The database as it was before keys were sealed, holding ``key`` as PEM."""
    sealed_keys.back_to_clear_keys(
        url,
        service="identity",
        table="identity.signing_keys",
        revision="0005",
        secret=SECRET,
        key=key,
    )


def test_the_migration_seals_the_keys_stored_in_clear(fresh_database_url: str) -> None:
    key = tokens.SigningKey.generate()
    _back_to_clear_keys(fresh_database_url, key)

    upgrade(
        "identity",
        fresh_database_url,
        app_password=TEST_ROLE_PASSWORDS["identity"],
        key_encryption_secret=SECRET,
    )

    [row] = asyncio.run(_rows(fresh_database_url))
    sealed_keys.assert_migrated(row, key, KEK)


def test_without_a_key_encryption_secret_the_migration_changes_nothing_and_says_what_to_set(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tokens.SigningKey.generate()
    _back_to_clear_keys(fresh_database_url, key)
    monkeypatch.delenv("LOYALTY_KEY_ENCRYPTION_SECRET")
    monkeypatch.delenv("LOYALTY_SERVICE_SECRET", raising=False)

    with pytest.raises(RuntimeError) as refused:
        upgrade("identity", fresh_database_url, app_password=TEST_ROLE_PASSWORDS["identity"])

    assert str(refused.value) == (
        "identity's signing keys are to be sealed at rest: set LOYALTY_KEY_ENCRYPTION_SECRET "
        "(or LOYALTY_SERVICE_SECRET) to the secret the identity service is given, then "
        "migrate again"
    )
    [row] = asyncio.run(_rows(fresh_database_url))
    assert (row["kid"], row["private_key_pem"]) == (key.kid, sealed_keys.pem_of(key))
