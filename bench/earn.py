"""Earn throughput: 16 concurrent clients, members drawn Zipf-like, 5% duplicate keys.

(a) through the gateway over HTTP (GraphQL ``recordEarnEvent`` with a staff token),
(b) straight into the loyalty service's internal API over HTTP,
(c) the F1 floor: a bare asyncpg pool running the same writes in one transaction.

Every response is validated, and the ledger's invariants are checked after the run.
Usage: ``uv run python bench/earn.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import harness

CONCURRENCY = 16
MEMBERS = 2000
DUPLICATE_SHARE = 0.05


@dataclass(frozen=True)
class Earn:
    member: uuid.UUID
    external_id: str
    amount: Decimal
    occurred_at: datetime


def workload(prefix: str, total: int, members: list[uuid.UUID], seed: int) -> list[Earn]:
    rng = random.Random(seed)
    chosen = harness.zipf_members(members, total, seed=seed)
    earns: list[Earn] = []
    for i, member in enumerate(chosen):
        if earns and rng.random() < DUPLICATE_SHARE:
            earns.append(rng.choice(earns))  # the same request again: one entry, same answer
            continue
        amount = Decimal(rng.randrange(800, 9000)) / 100
        earns.append(Earn(member, f"{prefix}-{i}", amount, datetime.now(UTC)))
    return earns


def _event(earn: Earn, venue: str) -> dict[str, Any]:
    return {
        "trigger": "purchase",
        "occurred_at": earn.occurred_at.isoformat(),
        "amount": str(earn.amount),
        "currency": "EUR",
        "category": "ticket",
        "venue_id": venue,
    }


async def run_service(
    parts: harness.Parts, earns: list[Earn], venue: str, name: str
) -> harness.Run:
    async with harness.http_client(parts.loyalty, CONCURRENCY) as client:

        async def call(i: int) -> None:
            earn = earns[i]
            body = {
                "member_id": str(earn.member),
                "external_id": earn.external_id,
                "event": _event(earn, venue),
            }
            headers = harness.service_headers(
                "loyalty", "staff", "bench", **{"x-actor-venues": venue}
            )
            status, reply = await client.post("/internal/earn", body, headers)
            assert status in (200, 201), reply
            entry = reply["entry"]
            assert entry["external_id"] == earn.external_id, entry
            # the award explains itself (the daily cap may lower it for the busiest members)
            assert (
                entry["points"]
                == sum(line["points"] for line in entry["lines"])
                <= 4 * int(earn.amount)
            )

        return await harness.closed_loop(name, CONCURRENCY, len(earns), call)


async def run_gateway(
    parts: harness.Parts, earns: list[Earn], venue: str, staff: dict[str, str], name: str
) -> harness.Run:
    async with harness.http_client(parts.gateway, CONCURRENCY) as client:
        token = await harness.login(client, staff["email"], staff["password"], "STAFF")
        headers = {"authorization": f"Bearer {token}"}

        async def call(i: int) -> None:
            earn = earns[i]
            variables = harness.earn_variables(
                earn.member, earn.external_id, earn.amount, earn.occurred_at, venue
            )
            status, body = await client.post(
                "/graphql", {"query": harness.EARN, "variables": variables}, headers
            )
            assert status == 200 and "errors" not in body, body
            result = body["data"]["recordEarnEvent"]
            assert result["__typename"] == "EarnRecorded", result
            assert 0 <= result["points"] <= 4 * int(earn.amount)

        return await harness.closed_loop(name, CONCURRENCY, len(earns), call)


F1_SQL = {
    "member": "INSERT INTO loyalty.members (member_id) VALUES ($1) ON CONFLICT DO NOTHING",
    "accounts": "INSERT INTO loyalty.accounts (member_id, kind, balance) VALUES ($1, 'available', 0), ($1, 'pending', 0) ON CONFLICT DO NOTHING",
    "lock": "SELECT id, kind, balance FROM loyalty.accounts WHERE member_id = $1 ORDER BY kind FOR UPDATE",
    "existing": "SELECT id, points FROM loyalty.journal_entries WHERE source = $1 AND external_id = $2",
    "entry": "INSERT INTO loyalty.journal_entries (id, kind, source, external_id, member_id, points, occurred_at, actor, rule_version, event, explanation) VALUES ($1, 'earn', $2, $3, $4, $5, $6, 'staff:bench', 1, $7, $8) RETURNING seq",
    "postings": "INSERT INTO loyalty.postings (entry_id, account_id, delta) VALUES ($1, $2, $3), ($1, $4, $5)",
    "line": "INSERT INTO loyalty.award_lines (entry_id, line_no, member_id, rule_key, rule_version, points, occurred_at, local_day, counts_for_status) VALUES ($1, 0, $2, 'tickets', 1, $3, $4, $5, true)",
    "lot": "INSERT INTO loyalty.lots (id, member_id, entry_id, points, remaining, earned_at, available_at, released, expires_at) VALUES ($1, $2, $3, $4, $4, $5::timestamptz, $5::timestamptz, true, $5::timestamptz + interval '24 months')",
    "balance": "SELECT balance FROM loyalty.accounts WHERE member_id = $1 AND kind = 'available'",
}


async def run_floor(url: str, earns: list[Earn], venue: str, name: str) -> harness.Run:
    pool = await asyncpg.create_pool(harness._dsn(url), min_size=CONCURRENCY, max_size=CONCURRENCY)
    issued = await pool.fetchval(
        "SELECT id FROM loyalty.accounts WHERE kind = 'issued' AND member_id IS NULL"
    )
    source = f"venue:{venue}"
    try:

        async def call(i: int) -> None:
            earn = earns[i]
            points = 2 * int(earn.amount)
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(F1_SQL["member"], earn.member)
                await conn.execute(F1_SQL["accounts"], earn.member)
                accounts = await conn.fetch(F1_SQL["lock"], earn.member)
                existing = await conn.fetchrow(F1_SQL["existing"], source, earn.external_id)
                if existing is not None:
                    assert existing["points"] == points
                    return
                entry_id = uuid.uuid4()
                event = json.dumps(_event(earn, venue))
                explanation = json.dumps(
                    {"summary": {"en": "Purchase", "fr": "Achat"}, "lines": []}
                )
                await conn.fetchval(
                    F1_SQL["entry"],
                    entry_id,
                    source,
                    earn.external_id,
                    earn.member,
                    points,
                    earn.occurred_at,
                    event,
                    explanation,
                )
                available = next(a["id"] for a in accounts if a["kind"] == "available")
                await conn.execute(F1_SQL["postings"], entry_id, available, points, issued, -points)
                await conn.execute(
                    F1_SQL["line"],
                    entry_id,
                    earn.member,
                    points,
                    earn.occurred_at,
                    earn.occurred_at.date(),
                )
                await conn.execute(
                    F1_SQL["lot"], uuid.uuid4(), earn.member, entry_id, points, earn.occurred_at
                )
                assert await conn.fetchval(F1_SQL["balance"], earn.member) >= points

        return await harness.closed_loop(name, CONCURRENCY, len(earns), call)
    finally:
        await pool.close()


async def measure(
    url: str, parts: harness.Parts, credentials: dict[str, Any], total: int, include_gateway: bool
) -> dict[str, harness.Run]:
    staff = credentials["staff"][0]
    venue = staff["venueId"]
    members = await harness.register_members(parts, MEMBERS)
    runs: dict[str, harness.Run] = {}
    # a short warm-up of each path, then the measured runs
    await run_floor(url, workload("warm-f1", 300, members, 1), venue, "warm-up")
    await run_service(parts, workload("warm-svc", 300, members, 2), venue, "warm-up")
    runs["c"] = await run_floor(
        url, workload("f1", total, members, 3), venue, "(c) F1 floor: asyncpg"
    )
    runs["b"] = await run_service(
        parts, workload("svc", total, members, 4), venue, "(b) loyalty internal API"
    )
    async with harness.http_client(parts.loyalty, 1) as client:
        metrics = await client.session.get(parts.loyalty + "/metrics")
        text = await metrics.text()
        attempts = [
            line for line in text.splitlines() if line.startswith("loyalty_earn_attempts_total")
        ]
        print("loyalty service, earn writes by outcome:", "; ".join(attempts))
    if include_gateway:
        await run_gateway(parts, workload("warm-gw", 300, members, 5), venue, staff, "warm-up")
        runs["a"] = await run_gateway(
            parts, workload("gw", total, members, 6), venue, staff, "(a) gateway, GraphQL"
        )
    return runs


def main(total: int, include_gateway: bool) -> None:
    with harness.database() as url:
        credentials = json.loads(harness.cli("seed-demo", "--json", url=url))
        with harness.platform_processes(url, gateway=include_gateway) as parts:
            runs = asyncio.run(measure(url, parts, credentials, total, include_gateway))
        ledger = asyncio.run(harness.check_ledger(url))
    ratios = {"(b)/(c) service / F1": runs["b"].throughput / runs["c"].throughput}
    if "a" in runs:
        ratios["(a)/(c) gateway / F1"] = runs["a"].throughput / runs["c"].throughput
    harness.report(
        f"Earn throughput, {CONCURRENCY} clients, Zipf members, {DUPLICATE_SHARE:.0%} duplicates",
        [r.line() for r in runs.values()]
        + [f"ledger after the run: {ledger['entries']} entries, invariants hold"],
        ratios,
        {"(b)/(c) service / F1": 0.5, "(a)/(c) gateway / F1": 0.25},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--no-gateway", action="store_true", help="measure (b) and (c) only")
    args = parser.parse_args()
    main(args.requests, not args.no_gateway)
