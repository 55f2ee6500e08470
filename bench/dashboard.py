"""The member dashboard: ``me`` with balance, tier, progress and the last 10 history entries,
through the gateway over HTTP, against F2 (a minimal Starlette + asyncpg endpoint returning the
same data). Saturation throughput with 16 clients, then latency at half of the gateway's
saturation rate (an open loop). Every body is validated; the ledger is checked after the run.

Usage: ``uv run python bench/dashboard.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import harness
import httpx

from services.common.http import ServiceTokens

CONCURRENCY = 16
MEMBERS = 200
EARNS_PER_MEMBER = 15

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


async def populate(parts: harness.Parts, venue: str) -> list[tuple[uuid.UUID, str]]:
    """Members with a history, and an access token for each (through the gateway)."""
    tokens = ServiceTokens(harness.SECRET)
    members: list[tuple[uuid.UUID, str]] = []
    rng = random.Random(11)
    async with (
        harness.http_client(parts.identity, CONCURRENCY) as identity,
        harness.http_client(parts.loyalty, CONCURRENCY) as loyalty,
        harness.http_client(parts.gateway, CONCURRENCY) as gateway,
    ):

        async def one(i: int) -> None:
            email = f"dash.{i}.{uuid.uuid4().hex[:6]}@example.org"
            system = {
                "authorization": tokens.header("identity"),
                "x-actor-kind": "system",
                "x-actor-id": "bench",
            }
            status, member = await identity.post(
                "/internal/members", {"email": email, "password": "bench-password"}, system
            )
            assert status == 201, member
            staff = {
                "authorization": tokens.header("loyalty"),
                "x-actor-kind": "staff",
                "x-actor-venues": venue,
            }
            for n in range(EARNS_PER_MEMBER):
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
                body = {"member_id": member["id"], "external_id": f"dash-{i}-{n}", "event": event}
                status, reply = await loyalty.post("/internal/earn", body, staff)
                assert status == 201, reply
            status, login = await gateway.post(
                "/graphql",
                {
                    "query": "mutation($i: LoginInput!) { login(input: $i) { ... on Session { accessToken } } }",
                    "variables": {"i": {"email": email, "password": "bench-password"}},
                },
            )
            members.append((uuid.UUID(member["id"]), login["data"]["login"]["accessToken"]))

        await harness.closed_loop("populate", CONCURRENCY, MEMBERS, one)
    return members


def _check_account(account: dict[str, Any]) -> None:
    assert account["balance"] > 0, account
    assert len(account["history"]) == 10 or len(account["history"]["nodes"]) == 10, account


async def gateway_calls(
    parts: harness.Parts,
    members: list[tuple[uuid.UUID, str]],
    total: int,
    rate: float | None,
    name: str,
) -> harness.Run:
    async with harness.http_client(parts.gateway, CONCURRENCY * 4) as client:

        async def call(i: int) -> None:
            _, token = members[i % len(members)]
            status, body = await client.post(
                "/graphql", {"query": DASHBOARD}, {"authorization": f"Bearer {token}"}
            )
            assert status == 200 and "errors" not in body, body
            account = body["data"]["me"]["account"]
            assert account["balance"] > 0 and len(account["history"]["nodes"]) == 10, account
            assert account["progress"]["statusPoints"] >= 0

        if rate is None:
            return await harness.closed_loop(name, CONCURRENCY, total, call)
        return await harness.open_loop(name, rate, total, call)


async def floor_calls(
    base: str, members: list[tuple[uuid.UUID, str]], total: int, name: str
) -> harness.Run:
    async with harness.http_client(base, CONCURRENCY) as client:

        async def call(i: int) -> None:
            member, _ = members[i % len(members)]
            status, body = await client.get(f"/dashboard/{member}")
            assert status == 200 and body["balance"] > 0 and len(body["history"]) == 10, body

        return await harness.closed_loop(name, CONCURRENCY, total, call)


def start_floor(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = harness.free_port()
    env = {**os.environ, "LOYALTY_BENCH_FLOOR_DSN": harness._dsn(url)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "floor_app:app",
            "--app-dir",
            str(harness.ROOT / "bench"),
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
    raise RuntimeError("the F2 floor did not start")


async def measure(
    url: str, parts: harness.Parts, venue: str, total: int, floor_base: str
) -> dict[str, harness.Run]:
    members = await populate(parts, venue)
    runs: dict[str, harness.Run] = {}
    await floor_calls(floor_base, members, 300, "warm-up")
    await gateway_calls(parts, members, 300, None, "warm-up")
    runs["f2"] = await floor_calls(floor_base, members, total, "F2 floor: Starlette + asyncpg")
    runs["gateway"] = await gateway_calls(
        parts, members, total, None, "gateway, GraphQL `me` (saturated)"
    )
    half = runs["gateway"].throughput / 2
    runs["half"] = await gateway_calls(
        parts, members, max(int(half * 10), 200), half, f"gateway at half saturation ({half:.0f}/s)"
    )
    return runs


def main(total: int) -> None:
    with harness.database() as url:
        credentials = json.loads(harness.cli("seed-demo", "--json", url=url))
        venue = credentials["staff"][0]["venueId"]
        floor, floor_base = start_floor(url)
        try:
            with harness.platform_processes(url) as parts:
                runs = asyncio.run(measure(url, parts, venue, total, floor_base))
        finally:
            floor.terminate()
            floor.wait()
        ledger = asyncio.run(harness.check_ledger(url))
    harness.report(
        f"Member dashboard, {CONCURRENCY} clients, {MEMBERS} members with {EARNS_PER_MEMBER} earns each",
        [r.line() for r in runs.values()]
        + [f"ledger after the run: {ledger['entries']} entries, invariants hold"],
        {"gateway / F2": runs["gateway"].throughput / runs["f2"].throughput},
        {"gateway / F2": 0.25},
    )
    p99 = runs["half"].percentile(99)
    print(
        f"p99 at half saturation: {p99:.1f} ms ({'meets' if p99 < 50 else 'ABOVE'} the aim of 50 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    main(parser.parse_args().requests)
