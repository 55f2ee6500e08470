"""Who is calling: a bearer token signed by identity (members, staff, admins), verified here
against identity's published keys without a call per request, or a partner's API key. Both are
checked against the revocations the gateway follows (see ``revocations``)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.errors import ApiError, forbidden, unauthenticated
from graphql_schema.revocations import RevocationFeed
from services.common.actor import Actor, ActorKind, PartnerScope
from services.identity import contract as ic

ALGORITHMS = ["EdDSA"]  # what identity signs with; nothing else is accepted
JWKS_TTL = 300.0  # the keys are refetched this often, so withdrawn keys stop working
JWKS_MIN_REFRESH = 1.0  # an unknown key id refetches the keys, but at most this often
API_KEY_TTL = 30.0

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: ActorKind
    id: str | None = None
    venues: frozenset[str] = field(default_factory=frozenset)
    scope: ic.PartnerScope | None = None  # a partner's key: what it may do
    key_id: str | None = None  # a partner's key: which one

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.id, self.venues, actor_scope(self.scope))


ANONYMOUS = Principal(ActorKind.ANONYMOUS)


def actor_scope(scope: ic.PartnerScope | None) -> PartnerScope | None:
    """A key's scope as it travels with the partner's calls, for the services to check again."""
    if scope is None:
        return None
    venues = None if scope.venue_ids is None else frozenset(str(v) for v in scope.venue_ids)
    return PartnerScope(frozenset(scope.triggers), venues, scope.register_referrals)


class TokenVerifier:
    """Verifies access tokens with identity's JWKS, cached and refetched on an unknown key id
    (identity rotated its key), at most once per ``JWKS_MIN_REFRESH`` seconds whatever the
    callers send; a token whose session or member was revoked is refused."""

    def __init__(
        self,
        identity: IdentityClient,
        *,
        issuer: str,
        audience: str,
        revocations: RevocationFeed,
        clock: Clock = time.monotonic,
    ) -> None:
        self.identity = identity
        self.revocations = revocations
        self.issuer = issuer
        self.audience = audience
        self.clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched = -math.inf
        self._lock = asyncio.Lock()

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            age = self.clock() - self._fetched
            if age < JWKS_MIN_REFRESH or (not force and age < JWKS_TTL):
                return  # someone else just fetched them
            jwks = await self.identity.jwks()
            self._keys = {
                k["kid"]: jwt.PyJWK(dict(k), algorithm=ALGORITHMS[0]).key
                for k in jwks.get("keys", [])
                if isinstance(k, dict) and "kid" in k and k.get("kty") == "OKP"
            }
            self._fetched = self.clock()

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthenticated("the access token is malformed") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise unauthenticated("the access token names no signing key")
        if self.clock() - self._fetched > JWKS_TTL:
            await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        key = self._keys.get(kid)
        if key is None:
            raise unauthenticated("the access token was not signed by a known key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("the access token has expired") from None
        except jwt.PyJWTError:
            raise unauthenticated("the access token is not valid") from None
        self.revocations.check(claims)
        return claims


@dataclass(frozen=True, slots=True)
class _Remembered:
    until: float
    principal: Principal
    key_id: str
    scope_mark: int  # the revocation feed's scope changes known before identity was asked


class ApiKeys:
    """Partner API keys, verified by identity; a valid key is remembered briefly (by its hash),
    but never once the revocations say it was revoked or its scope changed, nor while they are
    not current. A refused key is remembered as refused as briefly (by its hash too), so a
    client sending made-up keys costs identity one question a key, not one a request: no key
    refused once is ever valid later (a key's secret is drawn when it is issued, and a revoked
    key stays revoked)."""

    def __init__(
        self,
        identity: IdentityClient,
        revocations: RevocationFeed,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.identity = identity
        self.revocations = revocations
        self.clock = clock
        self._valid: dict[str, _Remembered] = {}
        self._refused: dict[str, float] = {}  # a refused key's digest: until when

    def _still_good(self, cached: _Remembered) -> bool:
        feed = self.revocations
        return (
            cached.until > self.clock()
            and feed.current
            and not feed.api_key_revoked(cached.key_id)
            and not feed.scope_changed_since(cached.key_id, cached.scope_mark)
        )

    async def verify(self, api_key: str) -> Principal:
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        cached = self._valid.get(digest)
        if cached is not None:
            if self._still_good(cached):
                return cached.principal
            del self._valid[digest]
        refused_until = self._refused.get(digest)
        if refused_until is not None and refused_until > self.clock():
            raise unauthenticated("the API key is not valid")
        mark = self.revocations.scope_mark
        try:
            partner = await self.identity.verify_api_key(api_key)
        except ServiceProblem:
            self._valid.pop(digest, None)
            if len(self._refused) > 10_000:
                self._refused.clear()
            self._refused[digest] = self.clock() + API_KEY_TTL
            raise unauthenticated("the API key is not valid") from None
        self._refused.pop(digest, None)
        principal = Principal(
            ActorKind.PARTNER,
            str(partner.partner_id),
            scope=partner.scope,
            key_id=str(partner.key_id),
        )
        if len(self._valid) > 10_000:
            self._valid.clear()
        remembered = _Remembered(self.clock() + API_KEY_TTL, principal, str(partner.key_id), mark)
        if self._still_good(remembered):  # not if the scope changed while identity answered
            self._valid[digest] = remembered
        return principal

    def forget(self, key_id: str) -> None:
        """A key revoked through this gateway stops working here at once (other replicas as soon
        as the revocation reaches them)."""
        for digest, cached in list(self._valid.items()):
            if cached.key_id == key_id:
                del self._valid[digest]


KINDS = {"member": ActorKind.MEMBER, "staff": ActorKind.STAFF, "admin": ActorKind.ADMIN}


async def authenticate(
    authorization: str | None, api_key: str | None, tokens: TokenVerifier, keys: ApiKeys
) -> Principal:
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated("use an 'Authorization: Bearer <token>' header")
        claims = await tokens.verify(token.strip())
        kind = KINDS.get(str(claims.get("kind")))
        if kind is None:
            raise unauthenticated("the access token names no known kind of account")
        return Principal(kind, str(claims["sub"]), frozenset(claims.get("venues") or ()))
    if api_key:
        return await keys.verify(api_key)
    return ANONYMOUS


def require(principal: Principal | ApiError, *kinds: ActorKind) -> Principal:
    """The caller, if signed in as one of ``kinds``; otherwise a coded error."""
    if isinstance(principal, ApiError):
        raise principal
    if principal.kind is ActorKind.ANONYMOUS:
        raise unauthenticated()
    if kinds and principal.kind not in kinds:
        raise forbidden()
    return principal
