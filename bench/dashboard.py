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
import uuid

import harness

CONCURRENCY = 16
MEMBERS = 200
EARNS_PER_MEMBER = 15


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
                "/graphql", {"query": harness.DASHBOARD}, {"authorization": f"Bearer {token}"}
            )
            harness.check_dashboard(status, body)

        if rate is None:
            return await harness.closed_loop(name, CONCURRENCY, total, call)
        return await harness.open_loop(name, rate, total, call)


async def measure(
    url: str, parts: harness.Parts, venue: str, total: int, floor_base: str
) -> dict[str, harness.Run]:
    members = await harness.members_with_history(parts, venue, MEMBERS, EARNS_PER_MEMBER)
    runs: dict[str, harness.Run] = {}
    await harness.floor_dashboards(floor_base, members, 300, "warm-up")
    await gateway_calls(parts, members, 300, None, "warm-up")
    runs["f2"] = await harness.floor_dashboards(
        floor_base, members, total, "F2 floor: Starlette + asyncpg"
    )
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
        floor, floor_base = harness.start_floor(url)
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
