"""A partner's webhook endpoint for the tests: a real HTTP server on loopback that checks every
message with the Standard Webhooks library's own verifier (``Webhook.verify``), independent of
the code that signs, and answers with the statuses a test scripts (then 204)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    message_id: str
    signatures: int  # how many signatures the header carried
    payload: dict[str, Any]
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)  # any of them must verify
    statuses: deque[int] = field(default_factory=deque)  # answers to give first
    received: list[Received] = field(default_factory=list)  # verified, whatever the answer
    refused: int = 0  # messages no secret verified
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            signatures = len(headers["webhook-signature"].split(" "))
            self.received.append(
                Received(headers["webhook-id"], signatures, payload, body, headers)
            )
            self._arrived.set()
            status = self.statuses.popleft() if self.statuses else 204
            return Response(status_code=status)
        self.refused += 1
        return Response(status_code=400)

    def payloads(self, event_type: str) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.payload["type"] == event_type]

    async def wait_for(self, count: int) -> None:
        """Until ``count`` messages were received (at most 10 s)."""
        async with asyncio.timeout(10):
            while len(self.received) < count:
                await self._arrived.wait()
                self._arrived.clear()


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A receiver listening on ``http://127.0.0.1:<port>/hooks`` while the block runs."""
    receiver = Receiver()
    app = Starlette(routes=[Route("/hooks", receiver._hook, methods=["POST"])])
    listening = socket.create_server(("127.0.0.1", 0))  # the kernel queues early connections
    receiver.url = f"http://127.0.0.1:{listening.getsockname()[1]}/hooks"
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        listening.close()
