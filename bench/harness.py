"""Shared pieces of the benchmarks: a fresh database, the platform's parts as separate
processes, a closed-loop load generator and the ledger's invariants.

Only public tools: the platform's own CLI, asyncpg, httpx and the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-service-secret-" + secrets.token_hex(8)
DATABASE_ENV = "LOYALTY_BENCH_DATABASE_URL"


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A fresh, migrated database: on ``LOYALTY_BENCH_DATABASE_URL``'s server, or embedded."""
    server_url = os.environ.get(DATABASE_ENV)
    keep: Any = None
    if not server_url:
        from services.common.embedded import start_embedded

        keep, server_url = start_embedded(Path(tempfile.gettempdir()) / "loyalty-bench-postgres")
    name = f"loyalty_bench_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_dsn(server_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        cli("migrate", url=url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        del keep


#: Each caller's budget per minute in the benchmarks (``LOYALTY_RATE_LIMIT_COST_PER_WINDOW``,
#: unless the environment sets it): the earn benchmark's one box-office account records about
#: 300 earns a second at a cost of 7 each, over the default budget of 20,000 a minute. The
#: budgets are still checked on every request, so their cost is measured.
BENCH_BUDGET = "100000000"


def _env(url: str) -> dict[str, str]:
    return {
        "LOYALTY_RATE_LIMIT_COST_PER_WINDOW": BENCH_BUDGET,
        **os.environ,
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_SERVICE_SECRET": SECRET,
        "LOYALTY_ENVIRONMENT": "production",
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_PASSWORD_HASH_COST": "low",
        "LOYALTY_DB_POOL_SIZE": "20",
    }


def cli(*args: str, url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=_env(url),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Parts:
    identity: str
    loyalty: str
    gateway: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)


@contextlib.contextmanager
def platform_processes(url: str, *, gateway: bool = True) -> Iterator[Parts]:
    """Identity, loyalty and the gateway as three processes on loopback ports."""
    ports = {name: free_port() for name in ("identity", "loyalty", "gateway")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    commands = {
        "loyalty": ["loyalty"],
        "identity": ["identity", "--loyalty-url", urls["loyalty"]],
        "gateway": [
            "gateway",
            "--identity-url",
            urls["identity"],
            "--loyalty-url",
            urls["loyalty"],
        ],
    }
    if not gateway:
        del commands["gateway"], urls["gateway"]
    parts = Parts(urls["identity"], urls["loyalty"], urls.get("gateway", ""))
    try:
        for name, extra in commands.items():
            parts.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "services.cli",
                        "serve",
                        extra[0],
                        "--port",
                        str(ports[name]),
                        "--no-migrate",
                        *extra[1:],
                    ],
                    cwd=ROOT,
                    env=_env(url),
                    stdout=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 60
        for base in urls.values():
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{base} did not become ready")
                time.sleep(0.2)
        yield parts
    finally:
        for process in parts.processes:
            process.terminate()
        for process in parts.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_part(parts: Parts, url: str) -> dict[str, float]:
    """CPU seconds used so far by each part's process and by PostgreSQL's backends serving the
    benchmark's database (Linux only; empty elsewhere)."""
    if not Path("/proc/self/stat").exists():
        return {}
    used = {str(p.args[p.args.index("serve") + 1]): _cpu_seconds(p.pid) for p in parts.processes}
    database = f" {urlsplit(url).path.lstrip('/')} "
    backends = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if command.startswith("postgres:") and database in command:
                backends += _cpu_seconds(int(entry.name))
    used["postgres"] = backends
    return used


def cpu_line(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """CPU milliseconds per request, by part, between two ``cpu_by_part`` readings."""
    each = {k: (after[k] - before[k]) * 1000 / requests for k in after if k in before}
    parts = ", ".join(f"{k} {v:.1f}" for k, v in each.items())
    return f"  CPU per request (ms): {parts}; total {sum(each.values()):.1f}"


@dataclass
class Run:
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.throughput:9.0f} req/s   p50 {self.percentile(50):6.1f} ms"
            f"   p99 {self.percentile(99):6.1f} ms   ({self.requests} requests)"
        )


async def closed_loop(
    name: str, concurrency: int, total: int, call: Callable[[int], Awaitable[None]]
) -> Run:
    """``concurrency`` workers send ``total`` requests back to back; ``call(i)`` must validate."""
    counter = iter(range(total))
    latencies: list[float] = []

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(name, total, time.perf_counter() - start, latencies)


async def open_loop(
    name: str, rate: float, total: int, call: Callable[[int], Awaitable[None]]
) -> Run:
    """Requests started at a fixed ``rate`` whatever the latency (no coordinated omission)."""
    latencies: list[float] = []
    start = time.perf_counter()

    async def one(i: int, due: float) -> None:
        await call(i)
        latencies.append(time.perf_counter() - due)

    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return Run(name, total, time.perf_counter() - start, latencies)


async def check_ledger(url: str) -> dict[str, int]:
    """The ledger's invariants after a run; raises if any is broken."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT entry_id FROM loyalty.postings GROUP BY entry_id "
            "HAVING sum(delta) <> 0) u"
        )
        drift = await conn.fetchval(
            "SELECT count(*) FROM loyalty.accounts a WHERE a.member_id IS NOT NULL AND a.balance <> "
            "(SELECT coalesce(sum(delta), 0) FROM loyalty.postings p WHERE p.account_id = a.id)"
        )
        negative = await conn.fetchval("SELECT count(*) FROM loyalty.accounts WHERE balance < 0")
        held = await conn.fetchval(
            "SELECT coalesce(sum(balance), 0) FROM loyalty.accounts WHERE member_id IS NOT NULL"
        )
        programme = await conn.fetchval(
            "SELECT coalesce(sum(p.delta), 0) FROM loyalty.postings p JOIN loyalty.accounts a "
            "ON a.id = p.account_id WHERE a.member_id IS NULL"
        )
        entries = await conn.fetchval("SELECT count(*) FROM loyalty.journal_entries")
    finally:
        await conn.close()
    assert unbalanced == 0, f"{unbalanced} journal entries do not sum to zero"
    assert drift == 0, f"{drift} balances differ from their postings"
    assert negative == 0, f"{negative} negative balances"
    assert held == -programme, "the liability differs from what members hold"
    return {"entries": int(entries), "held": int(held)}


def zipf_members(members: list[Any], count: int, s: float = 1.1, seed: int = 7) -> list[Any]:
    """``count`` draws from ``members``, Zipf-like: a few members are much busier than most."""
    import random

    rng = random.Random(seed)
    weights = [1 / (rank**s) for rank in range(1, len(members) + 1)]
    return rng.choices(members, weights=weights, k=count)


def report(title: str, lines: list[str], ratios: dict[str, float], aims: dict[str, float]) -> None:
    print(f"\n{title}\n{'=' * len(title)}\nmachine: {machine()}")
    for line in lines:
        print(line)
    for name, value in ratios.items():
        aim = aims.get(name)
        verdict = (
            ""
            if aim is None
            else ("  meets the aim" if value >= aim else f"  BELOW the aim of {aim}")
        )
        print(f"ratio {name:<28} {value:5.2f}{verdict}")
    print(json.dumps({"ratios": {k: round(v, 3) for k, v in ratios.items()}}))


class Client:
    """A light HTTP client for load (aiohttp): the load generator must not starve the server
    of CPU on a small machine."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        async with self.session.post(self.base + path, json=body, headers=headers) as response:
            return response.status, await response.json(loads=json.loads)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.get(self.base + path, headers=headers) as response:
            return response.status, await response.json(loads=json.loads)


@contextlib.asynccontextmanager
async def http_client(base: str, concurrency: int) -> AsyncIterator[Client]:
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield Client(session, base)


def median(values: list[float]) -> float:
    return statistics.median(values)


async def register_members(parts: Parts, count: int) -> list[Any]:
    """``count`` members registered through identity's internal API; returns their ids."""
    import uuid

    from services.common.http import ServiceTokens

    tokens = ServiceTokens(SECRET)
    ids: list[Any] = []
    async with http_client(parts.identity, 16) as client:

        async def one(i: int) -> None:
            body = {
                "email": f"bench.{i}.{secrets.token_hex(3)}@example.org",
                "password": "quiet-harbour-lantern-42",
            }
            headers = {
                "authorization": tokens.header("identity"),
                "x-actor-kind": "system",
                "x-actor-id": "bench",
            }
            status, reply = await client.post("/internal/members", body, headers)
            assert status == 201, reply
            ids.append(uuid.UUID(reply["id"]))

        await closed_loop("register", 16, count, one)
    return ids
