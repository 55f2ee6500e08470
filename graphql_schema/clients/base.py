"""What both service clients share: the service credential, the actor, the request id, and
turning a service's problem reply into a typed exception.

Every internal call carries ``Authorization`` (a service token for the service's audience), the
actor headers (``x-actor-kind``, ``x-actor-id``, ``x-actor-venues``) and the public request's
``X-Request-ID``, so the services' logs correlate with the gateway's."""

from __future__ import annotations

from typing import Any

import httpx
from asgi_correlation_id import correlation_id
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel

from services.common.actor import Actor
from services.common.http import ServiceTokens

SERVICE_UNAUTHENTICATED = "SERVICE_UNAUTHENTICATED"


class ServiceProblem(Exception):
    """An expected failure reported by a service: ``code`` is from its contract."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class ServiceUnavailable(Exception):
    """The service failed or could not be reached: masked for the client."""


class ServiceClient:
    audience: str

    def __init__(
        self,
        base_url: str,
        tokens: ServiceTokens,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        if transport is None:
            # Over the network, httpx's API on aiohttp's connection handling: the same client
            # code at a fraction of the CPU per call (the gateway makes one or two per request).
            transport = AiohttpTransport(limits=limits)
        self.http = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, limits=limits
        )
        self.tokens = tokens

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.request(method, path, **kwargs))[1]

    async def ready(self) -> bool:
        """Whether the service answers its ``/readyz``: it runs and reaches its database."""
        try:
            response = await self.http.get("/readyz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def request(
        self,
        method: str,
        path: str,
        *,
        actor: Actor | None = None,
        json: BaseModel | dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        read_timeout: float | None = None,
    ) -> tuple[int, Any]:
        """Send a request; the reply's status and body, or ``ServiceProblem`` for a 4xx."""
        headers = {"authorization": self.tokens.header(self.audience)}
        if actor is not None:
            headers.update(actor.headers())
        request_id = correlation_id.get()
        if request_id:
            headers["x-request-id"] = request_id
        content = None
        if isinstance(json, BaseModel):
            content = json.model_dump_json(exclude_unset=False).encode()
            headers["content-type"] = "application/json"
            json = None
        try:
            extra: dict[str, Any] = {} if read_timeout is None else {"timeout": read_timeout}
            response = await self.http.request(
                method, path, headers=headers, json=json, content=content, params=params, **extra
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{self.audience} unreachable: {exc!r}") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"{self.audience} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ServiceUnavailable(f"{self.audience} answered with no JSON") from exc
        if response.status_code >= 400:
            if body.get("code") == SERVICE_UNAUTHENTICATED:  # our credential: a misconfiguration
                raise ServiceUnavailable(f"{self.audience} refused the service credential")
            raise ServiceProblem(
                response.status_code,
                str(body.get("code", "ERROR")),
                str(body.get("message", "")),
                dict(body.get("details") or {}),
            )
        return response.status_code, body
