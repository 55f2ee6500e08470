"""A busy evening: the traffic of a programme's evening, mixed, for a bounded time, against the
platform as it ships (identity, loyalty and the gateway as three processes).

Well-behaved clients, each operation started at a stated rate (an open loop, so a slow answer
does not slow the senders down):

- members open their dashboard (``me { account { … history(first: 10) … } }``), most of the
  traffic;
- box-office staff record ticket purchases (``recordEarnEvent``); a few are sent again after an
  answer (a retry: same key, same body, the same entry found, not made again);
- door staff type the codes of accepted invitations (``redeemInvitation``), each code once; a few
  codes are typed again and must answer ``AlreadyCheckedIn`` (a correct answer, not an error);
- partners register referrals with their API key (``registerReferral``); a few are sent again
  and must be found, not made again.

Abusive clients, alongside:

- a password guesser on one account (``login``): past the account's attempts, every answer must
  be ``TOO_MANY_ATTEMPTS``;
- an over-cost query sender (14 aliased ``history(first: 100)``): refused with
  ``QUERY_TOO_COMPLEX``, limit ``cost``, every time;
- a door-code guesser (a staff account of the venue typing well-formed random codes): past the
  failed guesses allowed, every answer must be ``THROTTLED``;
- a flooding member, when the gateway has a per-caller rate limit: ``RATE_LIMITED`` (HTTP 429).

Every answer is validated; for a well-behaved client any other answer, an HTTP error or a
timeout is an error. Measured in the same run, before the evening: the F2 floor and the gateway
serving dashboards alone (saturated), and the gateway serving dashboards alone at the evening's
dashboard rate. After the evening: the ledger's invariants, each invitation checked in at most
once with its scan and attendance earn, no experience over its seats, each earn and each
referral made at most once. The last line is the verdict; the exit status is 1 when a
well-behaved client saw an error, an abusive client was not throttled or an invariant broke.

Usage: ``uv run python bench/evening.py [--seconds 60] [--scale 1.0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import harness

from services.common.settings import Settings
from services.identity.sessions import throttle
from services.loyalty.experiences import door_codes, door_words

# well-behaved operations started per second (before --scale)
RATES = {"dashboard": 40.0, "earn": 12.0, "check-in": 6.0, "referral": 3.0}
REPEATS = {"earn": 0.03, "check-in": 0.05, "referral": 0.03}  # sent again after an answer
# abusive clients' requests per second
ABUSE_RATES = {"password guesser": 2.0, "over-cost query": 1.0, "door-code guesser": 2.0}
# a member asking for their dashboard this often, when the gateway has budgets per caller: at
# the default budget of 20,000 a minute and 104 a dashboard, refused after about ten seconds
FLOOD_RATE = 20.0
BUDGET_SETTING = "rate_limit_cost_per_window"
MEMBERS = 200
EARNS_EACH = 12
BOX_OFFICE = 4
DOOR_STAFF = 4
PARTNERS = 2
CALIBRATION = 1000  # dashboards per saturated measurement before the evening
QUIET_SECONDS = 10  # dashboards alone at the evening's rate
OVER_COST = (
    "query Greedy {\n  me {\n    account {\n"
    + "".join(
        f"      h{n}: history(first: 100) {{ nodes {{ kind points occurredAt summary }} }}\n"
        for n in range(14)
    )
    + "    }\n  }\n}\n"
)


class Wrong(Exception):
    """An answer a client should not have had."""


def expect(condition: bool, answer: Any, expected: Any = None) -> None:
    if not condition:
        wanted = "" if expected is None else f" (expected {expected})"
        raise Wrong(json.dumps(answer)[:400] + wanted)


@dataclass
class Tally:
    """What one kind of client sent and got back."""

    name: str
    well_behaved: bool
    latencies: list[float] = field(default_factory=list)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.outcomes.values()) + len(self.errors)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self) -> str:
        answers = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (
            f"{self.name:<22} {self.count:6d} {self.count / self.seconds:7.1f}/s"
            f"  p50 {self.percentile(50):7.1f} ms  p99 {self.percentile(99):7.1f} ms"
            f"  errors {len(self.errors):3d}  [{answers}]"
        )


async def paced(
    tally: Tally, rate: float, seconds: float, call: Callable[[int], Awaitable[str]]
) -> None:
    """``call(i)`` started ``rate`` times a second for ``seconds``, whatever the latency; its
    answer's label is counted, anything it raises is an error. Latency counts from when the
    request was due (no coordinated omission)."""
    start = time.perf_counter()
    tasks = []

    async def one(i: int, due: float) -> None:
        try:
            tally.outcomes[await call(i)] += 1
        except Exception as error:  # every failure is counted and reported, none stops the run
            label = f"{type(error).__name__}: {error}"[:500]
            if not isinstance(error, Wrong | AssertionError | asyncio.TimeoutError):
                label += " " + traceback.format_exc(limit=2)[-300:]
            tally.errors.append(label)
        tally.latencies.append(time.perf_counter() - due)

    i = 0
    while (due := start + i / rate) < start + seconds:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
        i += 1
    await asyncio.gather(*tasks)
    tally.seconds = time.perf_counter() - start


def has_rate_limit() -> bool:
    """Whether the gateway gives each caller a budget (its setting exists and is not 0). The
    evening runs with the default budget, whatever the other benchmarks choose."""
    if BUDGET_SETTING not in Settings.model_fields:
        return False
    default = Settings.model_fields[BUDGET_SETTING].default
    os.environ[f"LOYALTY_{BUDGET_SETTING.upper()}"] = str(default)
    return bool(default)


@dataclass
class Programme:
    venue: str
    members: list[tuple[uuid.UUID, str]]  # with a history: (id, token)
    box_office: list[tuple[str, str]]
    door: list[tuple[str, str]]
    experience: str
    passes: list[harness.Pass]
    keys: list[tuple[uuid.UUID, str]]
    codes: list[str]
    victim: str  # the email the password guesser tries
    greedy: str  # the over-cost sender's token
    rogue: str  # the door-code guesser's token
    flooder: str  # the flooding member's token


async def member(parts: harness.Parts, label: str) -> tuple[str, str]:
    """A member of no particular history: (email, token)."""
    email = f"{label}.{uuid.uuid4().hex[:6]}@example.org"
    async with (
        harness.http_client(parts.identity, 1) as identity,
        harness.http_client(parts.gateway, 1) as gateway,
    ):
        system = harness.service_headers("identity", "system", "bench")
        body = {"email": email, "password": harness.PASSWORD}
        status, made = await identity.post("/internal/members", body, system)
        assert status == 201, made
        return email, await harness.login(gateway, email, harness.PASSWORD)


async def set_up(
    url: str, parts: harness.Parts, venue: str, seconds: float, scale: float, count: int
) -> Programme:
    evening = harness.Evening(url, parts, venue)
    members = await harness.members_with_history(parts, venue, count, EARNS_EACH)
    box_office = await evening.staff(BOX_OFFICE, "box-office")
    door = await evening.staff(DOOR_STAFF + 1, "door")
    door, [rogue] = door[:DOOR_STAFF], door[DOOR_STAFF:]
    interest = f"evening-{uuid.uuid4().hex[:6]}"
    guests = int(RATES["check-in"] * scale * seconds * 1.1) + 20
    names = await evening.members(guests, interest)
    experience = await evening.experience(door[0][0], guests, interest)
    passes = await evening.accept(experience, names)
    keys = await harness.partners(parts, PARTNERS)
    codes = await harness.referral_codes(parts, [m for m, _ in members])
    victim, _ = await member(parts, "victim")
    _, greedy = await member(parts, "greedy")
    _, flooder = await member(parts, "flooder")
    await harness.settle(url)
    return Programme(
        venue, members, box_office, door, experience, passes, keys, codes,
        victim, greedy, rogue[1], flooder,
    )  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class Clients:
    """The evening's clients: each method answers one request's label or raises."""

    def __init__(self, gateway: harness.Client, p: Programme, seed: int = 17) -> None:
        self.gateway = gateway
        self.p = p
        self.rng = random.Random(seed)
        self.busy = harness.zipf_members(p.members, 100_000, seed=seed)
        self.earned: list[tuple[dict[str, Any], str]] = []  # (variables, box-office token)
        self.fresh = iter(p.passes)
        self.checked_in: list[harness.Pass] = []
        self.scanned: list[harness.Pass] = []  # every fresh pass sent, answered or not
        self.referred: list[tuple[dict[str, Any], str]] = []  # (variables, API key)
        # sent (answered or not), and answered
        self.references: tuple[set[str], set[str]] = (set(), set())
        self.external_ids: tuple[set[str], set[str]] = (set(), set())

    async def graphql(
        self, query: str, variables: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.gateway.post("/graphql", body, headers)

    # ---- well-behaved ----------------------------------------------------------------------

    async def dashboard(self, i: int) -> str:
        _, token = self.p.members[self.rng.randrange(len(self.p.members))]
        status, body = await self.graphql(harness.DASHBOARD, None, bearer(token))
        harness.check_dashboard(status, body)
        return "dashboard"

    async def earn(self, i: int) -> str:
        again = bool(self.earned) and self.rng.random() < REPEATS["earn"]
        if again:
            variables, token = self.rng.choice(self.earned)
        else:
            member, _ = self.busy[i]
            amount = Decimal(self.rng.randrange(800, 9000)) / 100
            external_id = f"evening-earn-{i}"
            variables = harness.earn_variables(
                member, external_id, amount, datetime.now(UTC), self.p.venue
            )
            token = self.p.box_office[i % len(self.p.box_office)][1]
            self.external_ids[0].add(external_id)
        status, body = await self.graphql(harness.EARN, variables, bearer(token))
        expect(status == 200 and "errors" not in body, body)
        result = body["data"]["recordEarnEvent"]
        expect(result["__typename"] == "EarnRecorded", result)
        expect(result["created"] is not again, result)
        amount = Decimal(variables["input"]["amount"])
        expect(0 <= result["points"] <= 4 * amount and result["balance"] >= 0, result)
        if not again:
            self.external_ids[1].add(variables["input"]["externalId"])
            self.earned.append((variables, token))
        return "EarnRecorded (again, found)" if again else "EarnRecorded"

    async def check_in(self, i: int) -> str:
        again = bool(self.checked_in) and self.rng.random() < REPEATS["check-in"]
        scanned = self.rng.choice(self.checked_in) if again else next(self.fresh)
        if not again:
            self.scanned.append(scanned)
        _, token = self.p.door[i % len(self.p.door)]
        variables = {"input": {"code": scanned.code, "venueId": self.p.venue}}
        status, body = await self.graphql(harness.CHECK_IN, variables, bearer(token))
        expect(status == 200 and "errors" not in body, body)
        outcome = body["data"]["redeemInvitation"]
        expect(outcome["invitationId"] == scanned.invitation_id, outcome, scanned)
        expect(outcome["memberName"] == scanned.name, outcome, scanned)
        if again:
            expect(outcome["__typename"] == "AlreadyCheckedIn", outcome, "AlreadyCheckedIn")
            expect(outcome["code"] == "ALREADY_CHECKED_IN", outcome)
            return "AlreadyCheckedIn"
        expect(outcome["__typename"] == "CheckedIn", outcome)
        expect(outcome["guestsExpected"] == scanned.guests, outcome, scanned)
        self.checked_in.append(scanned)
        return "CheckedIn"

    async def referral(self, i: int) -> str:
        again = bool(self.referred) and self.rng.random() < REPEATS["referral"]
        if again:
            variables, key = self.rng.choice(self.referred)
        else:
            given = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
            variables = {
                "input": {
                    "code": self.p.codes[i % len(self.p.codes)],
                    "reference": f"evening-{i}",
                    "email": f"friend.{i}.{uuid.uuid4().hex[:6]}@example.org",
                    "consent": {"method": "ONLINE_FORM", "givenAt": given},
                }
            }
            key = self.p.keys[i % len(self.p.keys)][1]
            self.references[0].add(variables["input"]["reference"])
        status, body = await self.graphql(harness.REGISTER_REFERRAL, variables, {"x-api-key": key})
        expect(status == 200 and "errors" not in body, body)
        result = body["data"]["registerReferral"]
        expect(result["__typename"] == "ReferralRegistered", result)
        reference = variables["input"]["reference"]
        expect(result["referral"] == {"reference": reference, "status": "PENDING"}, result)
        expect(result["created"] is not again, result)
        if not again:
            self.references[1].add(reference)
            self.referred.append((variables, key))
        return "ReferralRegistered (again, found)" if again else "ReferralRegistered"

    # ---- abusive: each answer is labelled with the code it got ------------------------------

    async def guess_password(self, i: int) -> str:
        variables = {"input": {"email": self.p.victim, "password": f"guess-{i}-{uuid.uuid4()}"}}
        status, body = await self.graphql(harness.LOGIN, variables, {})
        expect(status == 200 and "errors" not in body, body)
        result = body["data"]["login"]
        expect(result["__typename"] in ("InvalidCredentials", "TooManyAttempts"), result)
        return str(result["code"])

    async def over_cost(self, i: int) -> str:
        status, body = await self.graphql(OVER_COST, None, bearer(self.p.greedy))
        if "data" in body and body.get("data"):
            return "ANSWERED"
        [error] = body["errors"]
        extensions = error.get("extensions", {})
        return f"{extensions.get('code')} ({extensions.get('limit')}, HTTP {status})"

    async def guess_code(self, i: int) -> str:
        guess = door_codes.new_code().display()
        variables = {"input": {"code": guess, "venueId": self.p.venue}}
        status, body = await self.graphql(harness.CHECK_IN, variables, bearer(self.p.rogue))
        expect(status == 200 and "errors" not in body, body)
        outcome = body["data"]["redeemInvitation"]
        return str(outcome.get("code") or outcome["__typename"])

    async def flood(self, i: int) -> str:
        status, body = await self.graphql(harness.DASHBOARD, None, bearer(self.p.flooder))
        if status == 200 and "errors" not in body:
            return "ANSWERED"
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
        return f"{'/'.join(sorted(map(str, codes)))} (HTTP {status})"


async def quiet_dashboards(
    parts: harness.Parts, members: list[tuple[uuid.UUID, str]], rate: float | None, name: str
) -> harness.Run:
    """The gateway serving dashboards alone: saturated (16 clients), or at ``rate``."""
    async with harness.http_client(parts.gateway, 64) as client:

        async def call(i: int) -> None:
            _, token = members[i % len(members)]
            status, body = await client.post(
                "/graphql", {"query": harness.DASHBOARD}, bearer(token)
            )
            harness.check_dashboard(status, body)

        if rate is None:
            return await harness.closed_loop(name, 16, CALIBRATION, call)
        return await harness.open_loop(name, rate, int(rate * QUIET_SECONDS), call)


async def check_made_once(url: str, clients: Clients) -> str:
    """Each earn and each referral made at most once: every one answered made, none made that
    was not sent (one whose answer was lost may or may not have been)."""
    conn = await asyncpg.connect(harness._dsn(url))
    try:
        earns = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT external_id) AS keys, "
            "count(*) FILTER (WHERE external_id = ANY($1::text[])) AS answered "
            "FROM loyalty.journal_entries WHERE external_id LIKE 'evening-earn-%'",
            list(clients.external_ids[1]),
        )
        referrals = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT (partner_id, reference)) AS keys, "
            "count(DISTINCT referee_email_hash) AS referees, "
            "count(*) FILTER (WHERE reference = ANY($1::text[])) AS answered "
            "FROM loyalty.referrals WHERE reference LIKE 'evening-%'",
            list(clients.references[1]),
        )
    finally:
        await conn.close()
    for found, (sent, answered) in (
        (earns, clients.external_ids),
        (referrals, clients.references),
    ):
        assert found["n"] == found["keys"], found
        assert found["answered"] == len(answered) and found["n"] <= len(sent), found
    assert referrals["referees"] == referrals["n"], referrals
    return (
        f"after the run: {earns['n']} earns for {len(clients.external_ids[0])} keys sent "
        f"({len(clients.external_ids[1])} answered), {referrals['n']} referrals for "
        f"{len(clients.references[0])} references sent ({len(clients.references[1])} answered): "
        "each made once"
    )


def judge_abuse(tallies: dict[str, Tally], flooding: bool) -> list[str]:
    """What is wrong with how the abusive clients were answered (nothing, when all is well)."""
    wrong = []
    guesses = tallies["password guesser"].outcomes
    if guesses["TOO_MANY_ATTEMPTS"] == 0 or guesses["INVALID_CREDENTIALS"] > (
        throttle.PER_ACCOUNT.attempts
    ):
        wrong.append(f"the password guesser was not throttled: {dict(guesses)}")
    greedy = tallies["over-cost query"].outcomes
    if set(greedy) != {"QUERY_TOO_COMPLEX (cost, HTTP 200)"}:
        wrong.append(f"the over-cost query was not always refused for its cost: {dict(greedy)}")
    codes = tallies["door-code guesser"].outcomes
    passed = sum(n for code, n in codes.items() if code != "THROTTLED")
    if codes["THROTTLED"] == 0 or passed > door_words.FAILED_GUESSES:
        wrong.append(f"the door-code guesser was not throttled: {dict(codes)}")
    if set(codes) - {"THROTTLED", "INVITATION_NOT_FOUND"}:
        wrong.append(f"the door-code guesser had other answers: {dict(codes)}")
    if flooding:
        flood = tallies["flooding member"].outcomes
        if not any("RATE_LIMITED" in code and "429" in code for code in flood):
            wrong.append(f"the flooding member was not rate limited: {dict(flood)}")
    for tally in tallies.values():
        if not tally.well_behaved and tally.errors:
            wrong.append(f"{tally.name}: unexpected answers: {tally.errors[:3]}")
    return wrong


async def measure(
    url: str,
    parts: harness.Parts,
    venue: str,
    floor: tuple[subprocess.Popen[bytes], str],
    seconds: float,
    scale: float,
    members: int,
    flooding: bool,
) -> int:
    floor_process, floor_base = floor
    p = await set_up(url, parts, venue, seconds, scale, members)
    rates = {name: rate * scale for name, rate in RATES.items()}
    lines: list[str] = []

    # in the same run, before the evening: the floor and the gateway alone
    await harness.floor_dashboards(floor_base, p.members, 300, "warm-up")
    await quiet_dashboards(parts, p.members[:50], None, "warm-up")
    f2 = await harness.floor_dashboards(
        floor_base, p.members, CALIBRATION, "F2 floor, dashboards (saturated)"
    )
    alone = await quiet_dashboards(parts, p.members, None, "gateway dashboards alone (saturated)")
    quiet = await quiet_dashboards(
        parts,
        p.members,
        rates["dashboard"],
        f"gateway dashboards alone at {rates['dashboard']:.0f}/s",
    )
    for run in (f2, alone, quiet):
        lines.append(run.line())
        print(run.line(), flush=True)
    # the floor's connections are the parts' during the evening: PostgreSQL allows 100
    floor_process.terminate()
    floor_process.wait()

    tallies: dict[str, Tally] = {}
    before = harness.cpu_by_part(parts, url)
    started = time.perf_counter()
    async with harness.http_client(parts.gateway, 256) as gateway:
        clients = Clients(gateway, p)
        plan: list[tuple[str, bool, float, Callable[[int], Awaitable[str]]]] = [
            ("dashboard", True, rates["dashboard"], clients.dashboard),
            ("earn", True, rates["earn"], clients.earn),
            ("check-in", True, rates["check-in"], clients.check_in),
            ("referral", True, rates["referral"], clients.referral),
            ("password guesser", False, ABUSE_RATES["password guesser"], clients.guess_password),
            ("over-cost query", False, ABUSE_RATES["over-cost query"], clients.over_cost),
            ("door-code guesser", False, ABUSE_RATES["door-code guesser"], clients.guess_code),
        ]
        if flooding:
            plan.append(("flooding member", False, FLOOD_RATE, clients.flood))
        for name, good, _, _ in plan:
            tallies[name] = Tally(name, good)
        await asyncio.gather(
            *(paced(tallies[name], rate, seconds, call) for name, _, rate, call in plan)
        )
    elapsed = time.perf_counter() - started
    after = harness.cpu_by_part(parts, url)
    sent = sum(t.count for t in tallies.values())

    print(
        f"\nThe evening: {elapsed:.0f} s, {sent} requests ({sent / elapsed:.0f}/s)"
        f"{'' if flooding else '; no flooding member: this gateway has no per-caller rate limit'}"
    )
    for tally in tallies.values():
        print(("  " if tally.well_behaved else "! ") + tally.line())
    if before:
        print(harness.cpu_line(before, after, sent).replace("per request", "per request sent"))
        busy = sum(after[k] - before[k] for k in after) / elapsed
        print(f"  CPU used by the parts and PostgreSQL: {busy:.2f} of {os.cpu_count()} cores")

    problems: list[str] = []
    for tally in tallies.values():
        if tally.well_behaved and tally.errors:
            problems.append(f"{tally.name}: {len(tally.errors)} errors, first: {tally.errors[0]}")
    problems += judge_abuse(tallies, flooding)
    try:
        answered = set(clients.checked_in)
        unsure = [x for x in clients.scanned if x not in answered]
        lines.append(await harness.check_door(url, p.experience, clients.checked_in, [], unsure))
        lines.append(await check_made_once(url, clients))
        ledger = await harness.check_ledger(url)
        lines.append(f"ledger after the run: {ledger['entries']} entries, invariants hold")
    except AssertionError as broken:
        problems.append(f"an invariant broke: {broken}")

    dashboards = tallies["dashboard"]
    harness.report(
        f"A busy evening, {seconds:.0f} s at {json.dumps(rates)} per second",
        lines,
        {
            "gateway dashboards alone / F2": alone.throughput / f2.throughput,
            "evening dashboard p50 / alone p50": dashboards.percentile(50) / quiet.percentile(50),
            "evening dashboard p99 / alone p99": dashboards.percentile(99) / quiet.percentile(99),
        },
        {},
    )
    summary = {
        name: {
            "count": t.count,
            "per_second": round(t.count / t.seconds, 1),
            "p50_ms": round(t.percentile(50), 1),
            "p99_ms": round(t.percentile(99), 1),
            "errors": len(t.errors),
            "answers": dict(t.outcomes),
        }
        for name, t in tallies.items()
    }
    print(json.dumps(summary))
    if problems:
        print("VERDICT: FAIL")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        "VERDICT: PASS: no error for well-behaved clients, every abusive client throttled, "
        "every invariant holds"
    )
    return 0


def main(seconds: float, scale: float, members: int) -> int:
    flooding = has_rate_limit()  # before the parts start, so that they read the default budget
    with harness.database() as url:
        credentials = json.loads(harness.cli("seed-demo", "--json", url=url))
        venue = credentials["staff"][0]["venueId"]
        floor = harness.start_floor(url)
        try:
            with harness.platform_processes(url) as parts:
                return asyncio.run(
                    measure(url, parts, venue, floor, seconds, scale, members, flooding)
                )
        finally:
            floor[0].terminate()
            floor[0].wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the evening lasts")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every good rate")
    parser.add_argument(
        "--members", type=int, default=MEMBERS, help="members with a history, who open dashboards"
    )
    args = parser.parse_args()
    sys.exit(main(args.seconds, args.scale, args.members))
