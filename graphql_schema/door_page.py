"""The door page for venue staff, at ``/door``, and the keys it checks door passes with, at
``/door/keys.json``.

The page (``static/door.js``, plain JavaScript, no build step) signs staff in, checks members in
through the GraphQL API with a typed code or a scanned QR token, and keeps working without
network for a while: it verifies a pass's signature in the browser against the loyalty
service's published keys, queues the scans and uploads them with ``redeemInvitations`` once back
online. Like every page of the gateway it loads nothing from elsewhere (see ``pages``).

A service worker (``/door/sw.js``, from ``static/door-sw.js``) keeps the page and its files, so
that it opens again without network; its cache is named after a digest of those files, so a new
version of the page replaces the old one.

The keys are the loyalty service's JWKS, passed on as they are and kept here for ``KEYS_TTL``
seconds, so that door devices asking for them cost the service little; a device keeps its own
copy for when the network is gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphql_schema.clients.loyalty import LoyaltyClient
from graphql_schema.pages import SECURITY_HEADERS, STATIC_DIR, Page

KEYS_TTL = 60.0  # seconds the gateway keeps the keys before asking the loyalty service again
KEYS_MAX_AGE = 300  # seconds a browser may keep them without asking (Cache-Control)

DOOR = Page(
    title="Door · check-in",
    scripts=("door.js",),
    styles=("door.css",),
    body='<main id="door" class="door"><p class="loading">Loading the door page…</p></main>',
)


OFFLINE_FILES = ("door.js", "door.css", "vendor/jsqr/jsQR.js", "door-sw.js")


def service_worker() -> str:
    """The service worker's script: the version of the page's files, then ``door-sw.js``."""
    digest = hashlib.sha256(DOOR.html().encode())
    for name in OFFLINE_FILES:
        digest.update((STATIC_DIR / name).read_bytes())
    script = (STATIC_DIR / "door-sw.js").read_text()
    return f'var VERSION = "{digest.hexdigest()[:16]}";\n{script}'


class DoorKeys:
    """The loyalty service's door-pass keys, fetched at most once per ``KEYS_TTL`` seconds."""

    def __init__(
        self, loyalty: Callable[[], LoyaltyClient], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._loyalty = loyalty
        self._clock = clock
        self._keys: dict[str, Any] | None = None
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> dict[str, Any]:
        async with self._lock:
            if self._keys is None or self._clock() - self._fetched >= KEYS_TTL:
                jwks = await self._loyalty().door_keys()
                self._keys = {"keys": [k for k in jwks.get("keys", []) if isinstance(k, dict)]}
                self._fetched = self._clock()
            return self._keys


def routes(loyalty: Callable[[], LoyaltyClient]) -> list[Route]:
    """``/door``, ``/door/sw.js`` and ``/door/keys.json``; ``loyalty`` gives the app's loyalty
    client."""
    keys = DoorKeys(loyalty)
    worker = service_worker()

    async def page(request: Request) -> Response:
        return DOOR.response(request)

    async def sw(request: Request) -> Response:
        scope = f"{request.scope.get('root_path', '')}/door"
        return Response(
            worker,
            media_type="text/javascript",
            headers={
                **SECURITY_HEADERS,
                "Service-Worker-Allowed": scope,
                "Cache-Control": "no-cache",
            },
        )

    async def door_keys(_: Request) -> Response:
        try:
            jwks = await keys.get()
        except (httpx.HTTPError, KeyError):
            return JSONResponse(
                {"code": "UNAVAILABLE", "message": "the door keys cannot be read now"},
                status_code=503,
                headers={"Cache-Control": "no-store", "Retry-After": "5"},
            )
        return JSONResponse(
            jwks,
            headers={
                "Cache-Control": f"public, max-age={KEYS_MAX_AGE}",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return [
        Route("/door", page, methods=["GET"]),
        Route("/door/sw.js", sw, methods=["GET"]),
        Route("/door/keys.json", door_keys, methods=["GET"]),
    ]
