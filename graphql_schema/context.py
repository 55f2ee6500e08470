"""The per-request context: the service clients, and the caller, authenticated once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from graphql_schema.auth import ApiKeys, Principal, TokenVerifier, authenticate, require
from graphql_schema.clients.identity import IdentityClient
from graphql_schema.clients.loyalty import LoyaltyClient
from graphql_schema.errors import ApiError
from services.common.actor import ActorKind


@dataclass
class Services:
    """What lives as long as the app: the clients and the credential checkers."""

    identity: IdentityClient
    loyalty: LoyaltyClient
    tokens: TokenVerifier
    api_keys: ApiKeys
    known_members: set[uuid.UUID] = field(default_factory=set)  # ids identity confirmed
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
    _principal: Principal | ApiError | None = None
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def identity(self) -> IdentityClient:
        return self.services.identity

    @property
    def loyalty(self) -> LoyaltyClient:
        return self.services.loyalty

    async def principal(self) -> Principal | ApiError:
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
        return require(await self.principal(), *kinds)

    async def optional(self) -> Principal | None:
        """The caller if signed in; ``None`` if anonymous; an error if the credentials are bad."""
        principal = await self.principal()
        if isinstance(principal, ApiError):
            raise principal
        return None if principal.kind is ActorKind.ANONYMOUS else principal


Info = StrawberryInfo[Context, None]
