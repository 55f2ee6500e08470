"""Who is calling: access tokens verified against identity's published keys (no call per
request), partner API keys verified by identity and remembered briefly."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio

from graphql_schema import auth
from graphql_schema.auth import ApiKeys, TokenVerifier, authenticate
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.errors import ApiError
from graphql_schema.revocations import RevocationFeed
from services.common.actor import ActorKind
from services.common.http import ServiceTokens
from services.identity import contract as ic
from services.identity import tokens

SECRET = "unit-tests-service-secret-0123456789"


@pytest_asyncio.fixture
async def identity(services: Any) -> AsyncIterator[IdentityClient]:
    client = IdentityClient(
        "http://identity", ServiceTokens(SECRET), httpx.MockTransport(services.identity)
    )
    try:
        yield client
    finally:
        await client.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def feed(identity: IdentityClient) -> RevocationFeed:
    """The revocations, loaded (none), on a clock of their own."""
    revocations = RevocationFeed(identity, wait=1.0, max_staleness=60.0)
    await revocations.load()
    assert revocations.current
    return revocations


@pytest.fixture
def verifier(
    identity: IdentityClient, services: Any, clock: Clock, feed: RevocationFeed
) -> TokenVerifier:
    return TokenVerifier(
        identity,
        issuer=services.ISSUER,
        audience=services.AUDIENCE,
        revocations=feed,
        clock=clock,
    )


async def refused(verifier: TokenVerifier, token: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await verifier.verify(token)
    assert caught.value.code == "UNAUTHENTICATED"
    return caught.value


def _segments(token: str) -> tuple[str, dict[str, Any], str]:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return header, claims, signature


def _encode(claims: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


async def test_a_valid_token_gives_its_claims_and_the_keys_are_fetched_once(
    verifier: TokenVerifier, services: Any
) -> None:
    member_id = uuid.uuid4()
    for _ in range(3):
        claims = await verifier.verify(services.token(member_id))
        assert (claims["sub"], claims["kind"]) == (str(member_id), "member")
    assert services.jwks_fetches() == 1


async def test_an_expired_token_is_refused(verifier: TokenVerifier, services: Any) -> None:
    expired = services.token(uuid.uuid4(), now=datetime.now(UTC) - timedelta(hours=1))
    assert "expired" in (await refused(verifier, expired)).message


async def test_a_tampered_token_is_refused(verifier: TokenVerifier, services: Any) -> None:
    header, claims, signature = _segments(services.token(uuid.uuid4()))
    for change in ({"sub": str(uuid.uuid4())}, {"kind": "admin"}, {"exp": claims["exp"] + 9999}):
        await refused(verifier, f"{header}.{_encode({**claims, **change})}.{signature}")
    await refused(verifier, f"{header}.{_encode(claims)}.{signature[:-4]}AAAA")


async def test_a_token_signed_by_another_key_is_refused_even_under_a_known_key_id(
    verifier: TokenVerifier, services: Any
) -> None:
    stranger = tokens.SigningKey.generate()
    impostor = tokens.SigningKey(services.key.kid, stranger.private_key, stranger.public_jwk)
    await refused(verifier, services.token(uuid.uuid4(), key=impostor))
    await refused(verifier, services.token(uuid.uuid4(), key=stranger))


async def test_wrong_audience_or_issuer_is_refused(verifier: TokenVerifier, services: Any) -> None:
    await refused(verifier, services.token(uuid.uuid4(), audience="another-app"))
    await refused(verifier, services.token(uuid.uuid4(), issuer="someone-else"))


async def test_only_eddsa_is_accepted_so_no_algorithm_confusion(
    verifier: TokenVerifier, services: Any
) -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": services.ISSUER,
        "aud": services.AUDIENCE,
        "sub": str(uuid.uuid4()),
        "kind": "admin",
        "iat": now,
        "exp": now + 600,
    }
    headers = {"kid": services.key.kid}
    unsigned = jwt.encode(claims, None, algorithm="none", headers=headers)
    hmac_with_public_key = jwt.encode(
        claims, services.key.public_jwk["x"].encode(), algorithm="HS256", headers=headers
    )
    for token in (unsigned, hmac_with_public_key, "not-a-token", ""):
        await refused(verifier, token)


async def test_an_unknown_key_id_refetches_the_keys_so_rotation_works_but_not_on_every_request(
    verifier: TokenVerifier, services: Any, clock: Clock
) -> None:
    await verifier.verify(services.token(uuid.uuid4()))
    clock.now += auth.JWKS_MIN_REFRESH
    services.keys.insert(0, tokens.SigningKey.generate())  # identity rotates its key
    assert (await verifier.verify(services.token(uuid.uuid4())))["kind"] == "member"
    assert services.jwks_fetches() == 2
    stranger = tokens.SigningKey.generate()
    clock.now += auth.JWKS_MIN_REFRESH
    for _ in range(5):  # unknown keys cannot make the gateway hammer identity
        await refused(verifier, services.token(uuid.uuid4(), key=stranger))
        clock.now += auth.JWKS_MIN_REFRESH / 10
    assert services.jwks_fetches() == 3


async def test_the_keys_are_refreshed_after_their_time_to_live(
    verifier: TokenVerifier, services: Any, clock: Clock
) -> None:
    token = services.token(uuid.uuid4())
    await verifier.verify(token)
    services.keys[:] = [tokens.SigningKey.generate()]  # the old key is withdrawn
    clock.now += auth.JWKS_TTL / 2
    await verifier.verify(token)
    clock.now += auth.JWKS_TTL
    await refused(verifier, token)


async def test_a_bearer_header_must_be_well_formed_and_name_a_known_kind(
    verifier: TokenVerifier, identity: IdentityClient, services: Any, feed: RevocationFeed
) -> None:
    keys = ApiKeys(identity, feed)
    member_id = uuid.uuid4()
    principal = await authenticate(f"Bearer {services.token(member_id)}", None, verifier, keys)
    assert (principal.kind, principal.id) == (ActorKind.MEMBER, str(member_id))
    staff = await authenticate(f"bearer {services.token(member_id, 'staff')}", None, verifier, keys)
    assert staff.kind is ActorKind.STAFF
    for header in (f"Basic {services.token(member_id)}", "Bearer", "Bearer "):
        with pytest.raises(ApiError, match="Bearer"):
            await authenticate(header, None, verifier, keys)
    with pytest.raises(ApiError) as caught:
        await authenticate(f"Bearer {services.token(member_id, 'root')}", None, verifier, keys)
    assert caught.value.code == "UNAUTHENTICATED"
    assert (await authenticate(None, None, verifier, keys)).kind is ActorKind.ANONYMOUS


async def test_a_partner_key_is_verified_by_identity_and_remembered_briefly_by_its_digest(
    identity: IdentityClient, services: Any, clock: Clock, feed: RevocationFeed
) -> None:
    keys = ApiKeys(identity, feed, clock=clock)
    for _ in range(3):
        principal = await keys.verify(services.GOOD_API_KEY)
        assert (principal.kind, principal.id) == (ActorKind.PARTNER, str(services.PARTNER_ID))
    verifications = services.internal_calls("/internal/api-keys/verify")
    assert len(verifications) == 1
    assert verifications[0].headers["authorization"].startswith("Bearer ")
    cached = keys._valid
    assert services.GOOD_API_KEY not in cached  # remembered by digest only
    assert hashlib.sha256(services.GOOD_API_KEY.encode()).hexdigest() in cached

    clock.now += auth.API_KEY_TTL + 1  # a key is asked of identity again after the TTL
    await keys.verify(services.GOOD_API_KEY)
    assert len(services.internal_calls("/internal/api-keys/verify")) == 2
    keys.forget(str(services.KEY_ID))  # revoked through this gateway: forgotten at once
    assert not cached


async def test_a_bad_partner_key_is_refused_and_remembered_as_refused_briefly_by_its_digest(
    identity: IdentityClient, services: Any, clock: Clock, feed: RevocationFeed
) -> None:
    keys = ApiKeys(identity, feed, clock=clock)

    async def refused(key: str) -> None:
        with pytest.raises(ApiError) as caught:
            await keys.verify(key)
        assert (caught.value.code, caught.value.message) == (
            "UNAUTHENTICATED",
            "the API key is not valid",
        )

    for _ in range(3):
        await refused("lk_wrong")
    assert len(services.internal_calls("/internal/api-keys/verify")) == 1  # asked once
    assert not keys._valid
    assert list(keys._refused) == [hashlib.sha256(b"lk_wrong").hexdigest()]  # never the key
    await refused("lk_other")  # each key is asked of identity once
    assert len(services.internal_calls("/internal/api-keys/verify")) == 2

    clock.now += auth.API_KEY_TTL - 0.001  # still within the time it is remembered
    await refused("lk_wrong")
    assert len(services.internal_calls("/internal/api-keys/verify")) == 2
    clock.now += 0.001  # at its end: asked again
    await refused("lk_wrong")
    assert len(services.internal_calls("/internal/api-keys/verify")) == 3
    principal = await keys.verify(services.GOOD_API_KEY)  # a good key is never held back
    assert principal.kind is ActorKind.PARTNER


async def test_through_the_api_bad_tokens_and_keys_get_unauthenticated(
    make_gateway: Any, services: Any
) -> None:
    member_id = services.add_member()
    async with make_gateway() as gateway:
        ok = await gateway.post("{ me { id } }", token=services.token(member_id))
        assert ok == {"data": {"me": {"id": str(member_id)}}}
        expired = services.token(member_id, now=datetime.now(UTC) - timedelta(hours=1))
        for body in (
            await gateway.post("{ me { id } }", token=expired),
            await gateway.post("{ me { id } }", headers={"x-api-key": "lk_wrong"}),
            await gateway.post("{ me { id } }"),
        ):
            assert body["data"] is None
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
        partner = await gateway.post("{ me { id } }", headers={"x-api-key": services.GOOD_API_KEY})
        assert partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        staff = await gateway.post("{ me { id } }", token=services.token(uuid.uuid4(), "staff"))
        assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_key_the_revocations_name_is_asked_of_identity_again_and_refused(
    identity: IdentityClient, services: Any, clock: Clock, feed: RevocationFeed
) -> None:
    keys = ApiKeys(identity, feed, clock=clock)
    await keys.verify(services.GOOD_API_KEY)
    await keys.verify(services.GOOD_API_KEY)
    assert len(services.internal_calls("/internal/api-keys/verify")) == 1  # remembered
    at = datetime.now(UTC)
    services.revocations.append(
        ic.Revocation(
            id=1,
            kind=ic.RevocationKind.API_KEY,
            subject=str(services.KEY_ID),
            revoked_at=at,
            expires_at=at + timedelta(hours=1),
        )
    )
    await feed.poll()

    def revoked(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/internal/api-keys/verify":
            return services.problem(401, "API_KEY_INVALID", "the API key is not valid")
        return None

    services.overrides.append(revoked)
    with pytest.raises(ApiError) as caught:
        await keys.verify(services.GOOD_API_KEY)
    assert (caught.value.code, caught.value.message) == (
        "UNAUTHENTICATED",
        "the API key is not valid",
    )
    assert len(services.internal_calls("/internal/api-keys/verify")) == 2
    assert not keys._valid


def _scope_change(n: int, key_id: uuid.UUID) -> ic.Revocation:
    at = datetime.now(UTC)
    return ic.Revocation(
        id=n,
        kind=ic.RevocationKind.API_KEY_SCOPE,
        subject=str(key_id),
        revoked_at=at,
        expires_at=at + timedelta(hours=1),
    )


async def test_a_key_whose_scope_changed_is_asked_of_identity_again_and_remembered_anew(
    identity: IdentityClient, services: Any, clock: Clock, feed: RevocationFeed
) -> None:
    keys = ApiKeys(identity, feed, clock=clock)
    await keys.verify(services.GOOD_API_KEY)
    await keys.verify(services.GOOD_API_KEY)
    assert len(services.internal_calls("/internal/api-keys/verify")) == 1  # remembered
    services.revocations.append(_scope_change(1, uuid.uuid4()))  # another key's: no effect
    await feed.poll()
    await keys.verify(services.GOOD_API_KEY)
    assert len(services.internal_calls("/internal/api-keys/verify")) == 1

    services.revocations.append(_scope_change(2, services.KEY_ID))
    await feed.poll()
    for _ in range(3):  # asked again once, then remembered with what identity says now
        principal = await keys.verify(services.GOOD_API_KEY)
        assert (principal.kind, principal.id) == (ActorKind.PARTNER, str(services.PARTNER_ID))
    assert len(services.internal_calls("/internal/api-keys/verify")) == 2
    assert not feed.api_key_revoked(str(services.KEY_ID))  # a scope change is no revocation


async def test_a_scope_change_told_while_identity_answers_is_not_remembered_from_before_it(
    identity: IdentityClient, services: Any, clock: Clock, feed: RevocationFeed
) -> None:
    """Identity may answer with the former scope while the change commits: when the feed brings
    the change before the answer arrives, the answer serves that request only."""
    keys = ApiKeys(identity, feed, clock=clock)

    def change_while_answering(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/internal/api-keys/verify" and len(services.calls) == 1:
            page = [_scope_change(1, services.KEY_ID)]
            feed.apply(ic.RevocationPage(cursor=1, revocations=page, more=False))
        return None

    services.overrides.append(change_while_answering)
    await keys.verify(services.GOOD_API_KEY)
    assert not keys._valid
    await keys.verify(services.GOOD_API_KEY)
    await keys.verify(services.GOOD_API_KEY)
    assert len(services.internal_calls("/internal/api-keys/verify")) == 2
    assert len(keys._valid) == 1
