"""Referral registration throughput: 16 partners at once, each with its own API key.

(a) through the gateway over HTTP (GraphQL ``registerReferral`` with the partner's key: the key
    checked, the referee resolved by identity to keyed hashes, the referral judged and written
    by loyalty under its locks, the partner's webhook outbox consulted);
(c) the floor: a bare asyncpg pool inserting the same row into ``loyalty.referrals``.

Every answer is validated (a new referral, pending, its reference; 5% of requests repeat an
earlier one and must find it), and after the run the referrals are counted against the distinct
references sent. Usage: ``uv run python bench/referrals.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import harness

CONCURRENCY = 16
REFERRERS = 400  # each may bring 20 people in 30 days: enough codes for every request
DUPLICATE_SHARE = 0.05
CPU: list[str] = []  # where (a)'s time went, when the machine tells


@dataclass(frozen=True)
class Referral:
    partner: int  # which of the 16 partners sends it
    code: str
    reference: str
    email: str


def workload(prefix: str, total: int, codes: list[str], seed: int) -> list[Referral]:
    rng = random.Random(seed)
    found: list[Referral] = []
    for i in range(total):
        partner = i % CONCURRENCY
        earlier = [r for r in found[-64:] if r.partner == partner]
        if earlier and rng.random() < DUPLICATE_SHARE:
            found.append(rng.choice(earlier))  # the same registration again: found, not made
            continue
        email = f"{prefix}.{i}.{uuid.uuid4().hex[:6]}@example.org"
        found.append(Referral(partner, codes[i % len(codes)], f"{prefix}-{i}", email))
    return found


async def run_gateway(
    parts: harness.Parts, keys: list[tuple[uuid.UUID, str]], work: list[Referral], name: str
) -> harness.Run:
    given = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    created: dict[str, list[bool]] = {}
    async with harness.http_client(parts.gateway, CONCURRENCY) as client:

        async def call(i: int) -> None:
            r = work[i]
            variables = {
                "input": {
                    "code": r.code,
                    "reference": r.reference,
                    "email": r.email,
                    "consent": {"method": "ONLINE_FORM", "givenAt": given},
                }
            }
            status, body = await client.post(
                "/graphql",
                {"query": harness.REGISTER_REFERRAL, "variables": variables},
                {"x-api-key": keys[r.partner][1]},
            )
            assert status == 200 and "errors" not in body, body
            result = body["data"]["registerReferral"]
            assert result["__typename"] == "ReferralRegistered", result
            assert result["referral"] == {"reference": r.reference, "status": "PENDING"}
            created.setdefault(r.reference, []).append(result["created"])

        run = await harness.closed_loop(name, CONCURRENCY, len(work), call)
        assert all(flags.count(True) == 1 for flags in created.values())  # made once, then found
        return run


FLOOR_SQL = """
INSERT INTO loyalty.referrals
    (id, referrer_id, code, channel, partner_id, reference, referee_email_hash,
     consent_method, consent_given_at, registered_at, holds_until, request_hash, actor, terms,
     current_referrer_id)
VALUES ($1, $2, $3, 'partner', $4, $5, $6, 'online_form', $7, $8, $9, $10, $11, $12, $2)
ON CONFLICT (partner_id, reference) DO NOTHING
"""


async def run_floor(
    url: str, keys: list[tuple[uuid.UUID, str]], work: list[Referral], name: str
) -> harness.Run:
    """The same rows, for referrers of their own (so that the gateway's caps are not touched)."""
    pool = await asyncpg.create_pool(harness._dsn(url), min_size=CONCURRENCY, max_size=CONCURRENCY)
    terms = json.dumps({"attribution_window_days": 30, "cap": 20})
    try:

        async def call(i: int) -> None:
            r = work[i]
            now = datetime.now(UTC)
            partner = keys[r.partner][0]
            await pool.execute(
                FLOOR_SQL,
                uuid.uuid4(),
                uuid.UUID(int=i % REFERRERS + 1),
                r.code.replace("-", ""),
                partner,
                r.reference,
                hashlib.sha256(f"email:{r.email}".encode()).hexdigest(),
                now - timedelta(hours=1),
                now,
                now + timedelta(days=30),
                hashlib.sha256(r.reference.encode()).hexdigest(),
                f"partner:{partner}",
                terms,
            )

        return await harness.closed_loop(name, CONCURRENCY, len(work), call)
    finally:
        await pool.close()


async def count_referrals(url: str, prefix: str) -> int:
    conn = await asyncpg.connect(harness._dsn(url))
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM loyalty.referrals WHERE reference LIKE $1", f"{prefix}-%"
        )
    finally:
        await conn.close()
    return int(found)


async def measure(url: str, parts: harness.Parts, total: int) -> dict[str, harness.Run]:
    keys = await harness.partners(parts, CONCURRENCY)
    members = await harness.register_members(parts, REFERRERS)
    codes = await harness.referral_codes(parts, members)
    runs: dict[str, harness.Run] = {}
    await run_floor(url, keys, workload("warm-f1", 300, codes, 1), "warm-up")
    await run_gateway(parts, keys, workload("warm-gw", 300, codes, 2), "warm-up")
    floor = workload("f1", total, codes, 3)
    runs["c"] = await run_floor(url, keys, floor, "(c) floor: asyncpg insert")
    gateway = workload("gw", total, codes, 4)
    before = harness.cpu_by_part(parts, url)
    runs["a"] = await run_gateway(parts, keys, gateway, "(a) gateway, registerReferral")
    if before:
        CPU.append(harness.cpu_line(before, harness.cpu_by_part(parts, url), total))
    for prefix, work in (("f1", floor), ("gw", gateway)):
        distinct = len({(r.partner, r.reference) for r in work})
        assert await count_referrals(url, prefix) == distinct, prefix
    return runs


def main(total: int) -> None:
    with harness.database() as url:
        harness.cli("seed-demo", "--json", url=url)
        with harness.platform_processes(url) as parts:
            runs = asyncio.run(measure(url, parts, total))
    ratio = runs["a"].throughput / runs["c"].throughput
    harness.report(
        f"registerReferral throughput, {CONCURRENCY} partners at once, "
        f"{DUPLICATE_SHARE:.0%} repeated",
        [r.line() for r in runs.values()]
        + CPU
        + ["after the run: one referral per distinct reference, on both paths"],
        {"(a)/(c) gateway / floor": ratio},
        {"(a)/(c) gateway / floor": 0.25},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    main(args.requests)
