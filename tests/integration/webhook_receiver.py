"""A partner's webhook endpoint for the tests: a real HTTP server on loopback that checks every
message with the Standard Webhooks library's own verifier (``Webhook.verify``), independent of
the code that signs, and answers with the statuses a test scripts (then 204)."""

from __future__ import annotations

import asyncio
import contextlib
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


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)  # any of them must verify
    statuses: deque[int] = field(default_factory=deque)  # answers to give first
    received: list[Received] = field(default_factory=list)  # verified, whatever the answer
    refused: int = 0  # messages no secret verified
    url: str = ""

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            signatures = len(headers["webhook-signature"].split(" "))
            self.received.append(Received(headers["webhook-id"], signatures, payload))
            status = self.statuses.popleft() if self.statuses else 204
            return Response(status_code=status)
        self.refused += 1
        return Response(status_code=400)

    def payloads(self, event_type: str) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.payload["type"] == event_type]

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        for _ in range(int(timeout / 0.02)):
            if len(self.received) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{len(self.received)} messages received, {count} expected")


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """A receiver listening on ``http://127.0.0.1:<port>/hooks`` while the block runs."""
    receiver = Receiver()
    app = Starlette(routes=[Route("/hooks", receiver._hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
