"""Shared pieces of the benchmarks: a fresh database, the platform's parts as separate
processes, a closed-loop load generator and the ledger's invariants.

Only public tools: the platform's own CLI, asyncpg, httpx and the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
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


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name (Linux); empty if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_seconds(pid: int, children: bool = False) -> float:
    """User and system CPU time of a process so far (with ``children``: of its children that
    ended, instead), 0 if it is gone."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def cpu_by_part(parts: Parts, url: str) -> dict[str, float]:
    """CPU seconds used so far by each part's process and by PostgreSQL's backends serving the
    benchmark's database: those running, and those that ended, which their server counts as
    its children's (of every database on that server; Linux only; empty elsewhere)."""
    if not Path("/proc/self/stat").exists():
        return {}
    used = {str(p.args[p.args.index("serve") + 1]): _cpu_seconds(p.pid) for p in parts.processes}
    database = f" {urlsplit(url).path.lstrip('/')} "
    backends = 0.0
    servers: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if command.startswith("postgres:") and database in command:
                backends += _cpu_seconds(int(entry.name))
                if fields := _stat(int(entry.name)):
                    servers.add(int(fields[1]))
    used["postgres"] = backends + sum(_cpu_seconds(pid, children=True) for pid in servers)
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
    # idle connections are let go before uvicorn's keep-alive timeout (5 s) ends them: a request
    # sent on a connection just as the server closes it fails with "Server disconnected"
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=3)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield Client(session, base)


def median(values: list[float]) -> float:
    return statistics.median(values)


async def register_members(parts: Parts, count: int) -> list[Any]:
    """``count`` members registered through identity's internal API; returns their ids."""
    import uuid

    ids: list[Any] = []
    async with http_client(parts.identity, 16) as client:

        async def one(i: int) -> None:
            body = {
                "email": f"bench.{i}.{secrets.token_hex(3)}@example.org",
                "password": "quiet-harbour-lantern-42",
            }
            headers = service_headers("identity", "system", "bench")
            status, reply = await client.post("/internal/members", body, headers)
            assert status == 201, reply
            ids.append(uuid.UUID(reply["id"]))

        await closed_loop("register", 16, count, one)
    return ids


# ---- the programme a benchmark runs against, set up through the parts' APIs -----------------

PASSWORD = "quiet-harbour-lantern-42"
SETUP_CONCURRENCY = 16
ISSUANCE_BATCH = 2000

LOGIN = """
mutation SignIn($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on Session { accessToken }
    ... on UserError { code message }
    ... on TooManyAttempts { retryAfterSeconds }
  }
}
"""
DASHBOARD = """
query Dashboard {
  me {
    account {
      balance
      pending
      tier { key name }
      progress { statusPoints pointsToNext next { key name } }
      history(first: 10) { nodes { kind points occurredAt summary lines { ruleKey points reason } } }
    }
  }
}
"""
EARN = """
mutation Earn($input: RecordEarnEventInput!) {
  recordEarnEvent(input: $input) {
    __typename
    ... on EarnRecorded { created points balance }
    ... on UserError { code message }
  }
}
"""
REGISTER_REFERRAL = """
mutation Refer($input: RegisterReferralInput!) {
  registerReferral(input: $input) {
    __typename
    ... on ReferralRegistered { created referral { reference status } }
    ... on UserError { code message }
  }
}
"""
CHECK_IN = """
mutation DoorCheckIn($input: RedeemInvitationInput!) {
  redeemInvitation(input: $input) {
    __typename
    ... on CheckedIn { invitationId memberName tierName guestsExpected checkedInAt }
    ... on AlreadyCheckedIn { invitationId memberName checkedInByYou }
    ... on Throttled { retryAfterSeconds }
    ... on UserError { code message }
  }
}
"""


@functools.cache
def _service_tokens() -> Any:
    from services.common.http import ServiceTokens

    return ServiceTokens(SECRET)


def service_headers(audience: str, kind: str, actor: str, **extra: str) -> dict[str, str]:
    """What a part sends another: the service credential (short-lived, signed once a minute)
    and the actor it acts for."""
    return {
        "authorization": _service_tokens().header(audience),
        "x-actor-kind": kind,
        "x-actor-id": actor,
        **extra,
    }


async def login(gateway: Client, email: str, password: str, portal: str = "MEMBER") -> str:
    """An access token through the gateway's ``login``."""
    variables = {"input": {"email": email, "password": password, "portal": portal}}
    status, body = await gateway.post("/graphql", {"query": LOGIN, "variables": variables})
    assert status == 200 and "errors" not in body, body
    session = body["data"]["login"]
    assert session["__typename"] == "Session", session
    return str(session["accessToken"])


def check_dashboard(status: int, body: Any) -> None:
    """The whole dashboard answered, for a member with a history of at least ten entries."""
    assert status == 200 and "errors" not in body, body
    account = body["data"]["me"]["account"]
    assert account["balance"] > 0 and len(account["history"]["nodes"]) == 10, account
    assert account["progress"]["statusPoints"] >= 0, account


def earn_variables(
    member: Any, external_id: str, amount: Any, occurred_at: Any, venue: str
) -> dict[str, Any]:
    return {
        "input": {
            "memberId": str(member),
            "externalId": external_id,
            "trigger": "PURCHASE",
            "occurredAt": occurred_at.isoformat(),
            "amount": str(amount),
            "currency": "EUR",
            "category": "ticket",
            "venueId": venue,
        }
    }


async def members_with_history(
    parts: Parts, venue: str, count: int, earns_each: int
) -> list[tuple[Any, str]]:
    """``count`` members with ``earns_each`` ticket purchases over the last months, and an access
    token for each (signed in through the gateway): (member id, token)."""
    import random
    import uuid
    from datetime import UTC, datetime, timedelta

    members: list[tuple[Any, str]] = []
    rng = random.Random(11)
    venues = {"x-actor-venues": venue}
    async with (
        http_client(parts.identity, SETUP_CONCURRENCY) as identity,
        http_client(parts.loyalty, SETUP_CONCURRENCY) as loyalty,
        http_client(parts.gateway, SETUP_CONCURRENCY) as gateway,
    ):

        async def one(i: int) -> None:
            email = f"dash.{i}.{uuid.uuid4().hex[:6]}@example.org"
            body = {"email": email, "password": PASSWORD}
            system = service_headers("identity", "system", "bench")
            status, member = await identity.post("/internal/members", body, system)
            assert status == 201, member
            for n in range(earns_each):
                event = {
                    "trigger": "purchase",
                    "occurred_at": (
                        datetime.now(UTC) - timedelta(days=rng.randrange(0, 170))
                    ).isoformat(),
                    "amount": f"{rng.randrange(10, 120)}.00",
                    "currency": "EUR",
                    "category": "ticket",
                    "venue_id": venue,
                }
                earn = {"member_id": member["id"], "external_id": f"dash-{i}-{n}", "event": event}
                staff = service_headers("loyalty", "staff", "bench", **venues)
                status, reply = await loyalty.post("/internal/earn", earn, staff)
                assert status == 201, reply
            members.append((uuid.UUID(member["id"]), await login(gateway, email, PASSWORD)))

        await closed_loop("populate", SETUP_CONCURRENCY, count, one)
    return members


def start_floor(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """F2, the dashboard's HTTP floor (``floor_app.py`` under uvicorn): the process and its URL."""
    import uuid

    port = free_port()
    env = {**os.environ, "LOYALTY_BENCH_FLOOR_DSN": _dsn(url)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "floor_app:app",
            "--app-dir",
            str(ROOT / "bench"),
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/dashboard/{uuid.uuid4()}", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the F2 floor did not start")


async def floor_dashboards(
    base: str, members: list[tuple[Any, str]], total: int, name: str, concurrency: int = 16
) -> Run:
    """F2 saturated: ``total`` dashboards of ``members`` from ``concurrency`` clients."""
    async with http_client(base, concurrency) as client:

        async def call(i: int) -> None:
            member, _ = members[i % len(members)]
            status, body = await client.get(f"/dashboard/{member}")
            assert status == 200 and body["balance"] > 0 and len(body["history"]) == 10, body

        return await closed_loop(name, concurrency, total, call)


async def partners(parts: Parts, count: int) -> list[tuple[Any, str]]:
    """``count`` partners, each with a key that may register referrals: (partner id, key)."""
    import uuid

    made = []
    async with http_client(parts.identity, 4) as client:
        for n in range(count):
            headers = service_headers("identity", "admin", "bench")
            status, partner = await client.post(
                "/internal/partners", {"name": f"Partner {n}"}, headers
            )
            assert status == 201, partner
            scope = {"triggers": ["purchase"], "register_referrals": True}
            status, issued = await client.post(
                f"/internal/partners/{partner['id']}/api-keys", {"scope": scope}, headers
            )
            assert status == 201, issued
            made.append((uuid.UUID(partner["id"]), str(issued["secret"])))
    return made


async def referral_codes(parts: Parts, members: list[Any]) -> list[str]:
    """Each member's referral code, in the order given."""
    found: list[str] = []
    async with http_client(parts.loyalty, 8) as client:
        for member in members:
            headers = service_headers("loyalty", "admin", "bench")
            status, code = await client.get(f"/internal/members/{member}/referral-code", headers)
            assert status == 200, code
            found.append(str(code["code"]))
    return found


@dataclass(frozen=True)
class Pass:
    """An accepted invitation, as its member carries it to the door."""

    invitation_id: str
    name: str
    guests: int
    code: str  # canonical, as stored (and as a door device may type it)
    token: str  # what the QR code holds


class Evening:
    """Staff accounts, members, one evening at the venue, and its accepted invitations, made
    through the services' internal APIs (and staff signed in through the gateway)."""

    def __init__(self, url: str, parts: Parts, venue: str) -> None:
        self.url = url
        self.parts = parts
        self.venue = venue

    async def staff(self, count: int, prefix: str = "door") -> list[tuple[str, str]]:
        """``count`` staff accounts of the venue: (id, bearer token)."""
        import uuid

        made: list[tuple[str, str]] = []
        async with (
            http_client(self.parts.identity, SETUP_CONCURRENCY) as identity,
            http_client(self.parts.gateway, SETUP_CONCURRENCY) as gateway,
        ):

            async def one(i: int) -> None:
                email = f"{prefix}.{i}.{uuid.uuid4().hex[:6]}@example.org"
                body = {"email": email, "password": PASSWORD, "venue_ids": [self.venue]}
                status, account = await identity.post(
                    "/internal/staff", body, service_headers("identity", "admin", "bench")
                )
                assert status == 201, account
                made.append((account["id"], await login(gateway, email, PASSWORD, "STAFF")))

            await closed_loop("staff", SETUP_CONCURRENCY, count, one)
        return made

    async def members(self, count: int, interest: str) -> dict[str, str]:
        """``count`` members who agree to be invited by email to what interests them: their
        names by id."""
        import uuid

        names: dict[str, str] = {}
        async with http_client(self.parts.identity, SETUP_CONCURRENCY) as identity:

            async def one(i: int) -> None:
                name = f"Member {i} {uuid.uuid4().hex[:4]}"
                body = {
                    "email": f"guest.{i}.{uuid.uuid4().hex[:6]}@example.org",
                    "password": PASSWORD,
                    "display_name": name,
                }
                system = service_headers("identity", "system", "bench")
                status, member = await identity.post("/internal/members", body, system)
                assert status == 201, member
                preferences = {
                    "consents": [{"channel": "email", "granted": True}],
                    "interests": [interest],
                    "source": "bench",
                }
                async with identity.session.put(
                    f"{identity.base}/internal/members/{member['id']}/preferences",
                    json=preferences,
                    headers=system,
                ) as response:
                    assert response.status == 200, await response.text()
                names[member["id"]] = name

            await closed_loop("members", SETUP_CONCURRENCY, count, one)
        return names

    async def experience(self, staff_id: str, seats: int, interest: str) -> str:
        """An evening at the venue, its door open, each of the ``seats`` members invited."""
        import uuid
        from datetime import UTC, datetime, timedelta

        now = datetime.now(UTC).replace(microsecond=0)
        body = {
            "key": f"bench-door-{uuid.uuid4().hex[:8]}",
            "venue_id": self.venue,
            "texts": {
                "title_en": "Meet the company",
                "title_fr": "Rencontre avec la troupe",
                "description_en": "After the show.",
                "description_fr": "Après le spectacle.",
            },
            "starts_at": (now + timedelta(minutes=60)).isoformat(),
            "ends_at": (now + timedelta(hours=3)).isoformat(),
            "seats": seats * 2,  # every member, and a guest for half of them
            "guest_allowance": 1,
            "invitations_open_at": (now - timedelta(minutes=1)).isoformat(),
            "invitations_close_at": (now + timedelta(minutes=50)).isoformat(),
            "interests": [interest],
        }

        def staff() -> dict[str, str]:
            return service_headers("loyalty", "staff", staff_id, **{"x-actor-venues": self.venue})

        async with http_client(self.parts.loyalty, 1) as loyalty:
            status, experience = await loyalty.post("/internal/experiences", body, staff())
            assert status == 201, experience
            await self.contacts_known(seats, interest)
            invited: set[str] = set()
            for _ in range(seats // ISSUANCE_BATCH + 10):
                # one issuance writes its invitations in one statement: a few thousand at most
                batch = min(ISSUANCE_BATCH, seats - len(invited))
                status, report = await loyalty.post(
                    f"/internal/experiences/{experience['id']}/issuances",
                    {"key": uuid.uuid4().hex, "count": batch},
                    staff(),
                )
                assert status == 201, report
                invited |= {i["member_id"] for i in report["invitations"]}
                if len(invited) == seats:
                    return str(experience["id"])
                await asyncio.sleep(1)
        raise RuntimeError(f"only {len(invited)} of {seats} members were invited")

    async def contacts_known(self, count: int, interest: str) -> None:
        """Wait until identity's outbox has brought every member's preferences to loyalty."""
        conn = await asyncpg.connect(_dsn(self.url))
        try:
            for _ in range(1200):
                known = await conn.fetchval(
                    "SELECT count(*) FROM loyalty.member_contacts WHERE $1 = ANY(interests)",
                    interest,
                )
                if known == count:
                    return
                await asyncio.sleep(0.5)
        finally:
            await conn.close()
        raise RuntimeError(f"loyalty knows the preferences of {known} of {count} members")

    async def accept(self, experience_id: str, names: dict[str, str]) -> list[Pass]:
        """Every member accepts (half of them with a guest): their passes."""
        passes: list[Pass] = []
        members = list(names)
        async with http_client(self.parts.loyalty, SETUP_CONCURRENCY) as loyalty:

            async def one(i: int) -> None:
                member = members[i]
                headers = service_headers("loyalty", "member", member)
                status, mine = await loyalty.get(f"/internal/members/{member}/invitations", headers)
                assert status == 200, mine
                [invitation] = [x for x in mine if x["experience"]["id"] == experience_id]
                guests = [{"name": f"Friend of {i}"}] if i % 2 else []
                body = {"member_id": member, "action": "accept", "guests": guests}
                status, answered = await loyalty.post(
                    f"/internal/invitations/{invitation['id']}/respond", body, headers
                )
                assert status == 200 and answered["state"] == "accepted", answered
                door = answered["door"]
                code = door["code"].replace("-", "")
                passes.append(Pass(answered["id"], names[member], len(guests), code, door["token"]))

            await closed_loop("accept", SETUP_CONCURRENCY, len(members), one)
        return passes


async def settle(url: str) -> None:
    """After a setup's bulk writes: fresh planner statistics (as autovacuum would have them in
    a running programme), and a moment for identity's outbox to drain."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    await asyncio.sleep(5)


async def check_door(
    url: str,
    experience_id: str,
    served: list[Pass],
    floor: list[Pass],
    unsure: list[Pass] | None = None,
) -> str:
    """Each invitation checked in at most once, and every check-in accounted for: ``served``
    were checked in by the loyalty service (through the gateway or not), ``floor`` by a bare
    update, ``unsure`` were sent but their answer was lost (a timeout): checked in or not;
    seats taken never exceed seats. Raises if any of it fails."""
    import uuid

    unsure = unsure or []
    conn = await asyncpg.connect(_dsn(url))
    try:
        checked = await conn.fetchval(
            "SELECT count(*) FROM loyalty.invitations WHERE experience_id = $1 "
            "AND state = 'checked_in'",
            uuid.UUID(experience_id),
        )
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT invitation_id FROM loyalty.door_scans "
            "WHERE outcome = 'checked_in' GROUP BY invitation_id HAVING count(*) > 1) t"
        )
        scans = await conn.fetchval(
            "SELECT count(*) FROM loyalty.door_scans WHERE outcome = 'checked_in' "
            "AND invitation_id = ANY($1::uuid[])",
            [p.invitation_id for p in served],
        )
        earns = await conn.fetchval(
            "SELECT count(*) FROM loyalty.journal_entries WHERE external_id = ANY($1::text[])",
            [f"experience-invitation:{p.invitation_id}" for p in served],
        )
        overbooked = await conn.fetchval(
            "SELECT count(*) FROM loyalty.experiences WHERE seats_taken > seats"
        )
    finally:
        await conn.close()
    known = len(served) + len(floor)
    assert known <= checked <= known + len(unsure), (checked, len(served), len(floor), len(unsure))
    assert twice == 0, f"{twice} invitations were checked in twice"
    assert scans == len(served), f"{scans} check-in scans for {len(served)} check-ins"
    assert earns == len(served), f"{earns} attendance earns for {len(served)} check-ins"
    assert overbooked == 0, f"{overbooked} experiences have more seats taken than seats"
    lost = f" ({checked - known} of {len(unsure)} whose answer was lost)" if unsure else ""
    return (
        f"door after the run: {checked} invitations checked in{lost}, each once; {scans} check-in "
        f"scans and {earns} attendance earns for the {len(served)} checked in by the service; "
        "no experience has more seats taken than seats"
    )
