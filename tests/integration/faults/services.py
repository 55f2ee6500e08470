"""The services under test as separate processes (``loyalty serve identity|loyalty``, as in
production), each connecting as its own runtime role, that a test can kill with SIGKILL and start
again on the same port; and their callers, which retry until they get a definite answer."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.common.actor import Actor
from services.common.http import ServiceTokens
from tests.conftest import service_urls

ROOT = Path(__file__).resolve().parents[3]
SECRET = "fault-injection-service-secret-0123456789"
READY_SECONDS = 60
#: How many times a killed service is started before the harness gives up.
STARTS = 5
#: The services' log level (their logs are kept in the test's temporary folder).
LOG_LEVEL_ENV = "LOYALTY_FAULTS_LOG_LEVEL"
#: How long a caller keeps trying one request before the harness calls it lost.
PATIENCE_SECONDS = int(os.environ.get("LOYALTY_FAULTS_PATIENCE_SECONDS", "60"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(database_url: str) -> dict[str, str]:
    urls = service_urls(database_url)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    return {
        **inherited,
        "LOYALTY_DATABASE_URL": urls.loyalty,
        "LOYALTY_IDENTITY_DATABASE_URL": urls.identity,
        "LOYALTY_KEY_ENCRYPTION_SECRET": os.environ["LOYALTY_KEY_ENCRYPTION_SECRET"],
        "LOYALTY_SERVICE_SECRET": SECRET,
        "LOYALTY_ENVIRONMENT": "test",
        "LOYALTY_PASSWORD_HASH_COST": "low",
        "LOYALTY_DB_POOL_SIZE": "4",
        # the background work the faults aim at runs often: the outbox relay, the points and
        # experiences jobs (attendance earns left over), the referrals job (effects left over)
        "LOYALTY_RELAY_INTERVAL_SECONDS": "0.1",
        "LOYALTY_POINTS_JOB_INTERVAL_SECONDS": "1",
        "LOYALTY_REFERRALS_JOB_INTERVAL_SECONDS": "1",
        "LOYALTY_LOG_LEVEL": os.environ.get(LOG_LEVEL_ENV, "CRITICAL"),
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class ServiceProcess:
    """One service on a fixed loopback port, started again on the same port after a kill."""

    part: str
    port: int
    env: dict[str, str]
    extra: list[str]
    log: Any
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    failed_starts: int = 0  # exits while starting again after a kill

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "services.cli", "serve", self.part]
        command += ["--port", str(self.port), "--no-migrate", *self.extra]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        self.starts += 1

    async def ready(self) -> None:
        if not await self._ready():
            raise AssertionError(f"{self.part} did not become ready: {self._tail()}")

    async def _ready(self) -> bool:
        """Whether the process answers ``/readyz``; ``False`` if it exited first."""
        deadline = time.monotonic() + READY_SECONDS
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                assert self.process is not None
                if self.process.poll() is not None:
                    return False
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.part} did not become ready: {self._tail()}")
                await asyncio.sleep(0.1)

    def _tail(self) -> str:
        return Path(self.log.name).read_bytes()[-3000:].decode(errors="replace")

    async def kill_and_restart(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it, then start it again, as a supervisor
        would: again if it stops while starting (a service that loses its database connection
        while it starts exits, to be started again)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        for _ in range(STARTS):
            self.start()
            if await self._ready():
                return
            self.failed_starts += 1
        raise AssertionError(f"{self.part} did not start {STARTS} times: {self._tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Services:
    loyalty: ServiceProcess
    identity: ServiceProcess

    def by_name(self, name: str) -> ServiceProcess:
        return self.loyalty if name == "loyalty" else self.identity


@asynccontextmanager
async def running_services(database_url: str, logs: Path) -> AsyncIterator[Services]:
    """Loyalty, then identity (its outbox relay delivering to loyalty), on the migrated database
    ``database_url``; each part's output is kept in the folder ``logs``."""
    env = _env(database_url)
    loyalty_port, identity_port = _free_port(), _free_port()
    with (
        (logs / "loyalty.log").open("w+b") as loyalty_log,
        (logs / "identity.log").open("w+b") as identity_log,
    ):
        loyalty = ServiceProcess("loyalty", loyalty_port, env, [], loyalty_log)
        identity = ServiceProcess(
            "identity",
            identity_port,
            env,
            ["--loyalty-url", f"http://127.0.0.1:{loyalty_port}"],
            identity_log,
        )
        services = Services(loyalty, identity)
        try:
            for part in (loyalty, identity):
                part.start()
            for part in (loyalty, identity):
                await part.ready()
            yield services
        finally:
            for part in (identity, loyalty):
                part.stop()


class Lost(AssertionError):
    """A request that got no definite answer within the harness's patience."""


@dataclass
class Tally:
    """What the callers saw: answers by status, and the retries the faults caused."""

    answers: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    #: 5xx answers whose body was not the JSON problem ``INTERNAL_ERROR`` (must stay empty)
    bad_errors: list[str] = field(default_factory=list)


class Caller:
    """A service's internal API as the gateway calls it (a service token and an actor), retrying
    the same request, unchanged, after a dropped connection or a 5xx until the answer is
    definite."""

    def __init__(self, base: str, audience: str, tally: Tally) -> None:
        self.client = httpx.AsyncClient(
            base_url=base,
            timeout=httpx.Timeout(20, connect=2),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self.audience = audience
        self.tokens = ServiceTokens(SECRET)
        self.tally = tally

    async def aclose(self) -> None:
        await self.client.aclose()

    async def call(
        self, method: str, path: str, actor: Actor, *, label: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"authorization": self.tokens.header(self.audience), **actor.headers()}
        deadline = time.monotonic() + PATIENCE_SECONDS
        attempt = 0
        while True:
            try:
                response = await self.client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as error:
                self.tally.retries[f"{label}: {type(error).__name__}"] += 1
            else:
                if response.status_code < 500:
                    self.tally.answers[f"{label}: {response.status_code}"] += 1
                    return response
                self.tally.retries[f"{label}: {response.status_code}"] += 1
                if not _is_internal_error(response):
                    self.tally.bad_errors.append(f"{label}: {response.text[:300]}")
            if time.monotonic() > deadline:
                raise Lost(f"{method} {path} ({label}) got no definite answer")
            attempt += 1
            await asyncio.sleep(min(0.02 * 2**attempt, 0.25))


def _is_internal_error(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == "INTERNAL_ERROR"
