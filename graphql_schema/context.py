"""The per-request context: the service clients, the caller (authenticated once, on first use),
the request id and this request's DataLoaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from graphql_schema.auth import ApiKeys, Principal, TokenVerifier, authenticate, require
from graphql_schema.budgets import CallerBudgets
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from graphql_schema.errors import ApiError
from graphql_schema.loaders import Loaders, create_loaders
from services.common.actor import Actor, ActorKind


@dataclass
class Services:
    """What lives as long as the app: the clients, the credential checkers and the callers'
    budgets."""

    identity: IdentityClient
    loyalty: LoyaltyClient
    tokens: TokenVerifier
    api_keys: ApiKeys
    budgets: CallerBudgets
    # ids identity confirmed, with the revocation feed's mark taken before it was asked
    known_members: dict[uuid.UUID, int] = field(default_factory=dict)
    locales: dict[uuid.UUID, str] = field(default_factory=dict)  # members' languages, as last seen

    def remember_locale(self, member_id: uuid.UUID, locale: str) -> None:
        if len(self.locales) > 100_000:
            self.locales.clear()
        self.locales[member_id] = locale

    def known_locale(self, member_id: uuid.UUID) -> str | None:
        return self.locales.get(member_id)


@dataclass
class Context:
    services: Services
    request: Request
    request_id: str | None = None
    """The ``X-Request-ID`` of this request, also sent on every internal call it makes."""
    loaders: Loaders = field(init=False)
    _principal: Principal | ApiError | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.loaders = create_loaders(self.services.identity, self.services.loyalty, self.actor)

    @property
    def identity(self) -> IdentityClient:
        return self.services.identity

    @property
    def loyalty(self) -> LoyaltyClient:
        return self.services.loyalty

    async def principal(self) -> Principal | ApiError:
        """Who is calling: checked at the first field that asks, then remembered."""
        if self._principal is None:
            try:
                self._principal = await authenticate(
                    self.request.headers.get("authorization"),
                    self.request.headers.get("x-api-key"),
                    self.services.tokens,
                    self.services.api_keys,
                )
            except ApiError as refused:
                self._principal = refused
        return self._principal

    async def require(self, *kinds: ActorKind) -> Principal:
        """The caller, signed in as one of ``kinds`` (any kind if none are given)."""
        return require(await self.principal(), *kinds)

    async def optional(self) -> Principal | None:
        """The caller if signed in; ``None`` if anonymous; an error if the credentials are bad."""
        principal = await self.principal()
        if isinstance(principal, ApiError):
            raise principal
        return None if principal.kind is ActorKind.ANONYMOUS else principal

    async def actor(self) -> Actor:
        """Who the services are told is acting (anonymous if nobody signed in)."""
        principal = await self.principal()
        if isinstance(principal, ApiError):
            raise principal
        return principal.actor


Info = StrawberryInfo[Context, None]
