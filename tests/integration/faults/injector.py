"""The faults: PostgreSQL backends of the services terminated (``pg_terminate_backend``) from an
administrator's connection of their own, and the services' processes killed with SIGKILL and
started again, at moments drawn from a seeded random generator while operations are in flight."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from tests.integration.faults.services import Services

#: Environment variables that size a run (the defaults are CI's).
SEED_ENV = "LOYALTY_FAULTS_SEED"
BACKENDS_ENV = "LOYALTY_FAULTS_BACKENDS"  # backends to terminate
KILLS_ENV = "LOYALTY_FAULTS_KILLS"  # service processes to kill
PAUSE_ENV = "LOYALTY_FAULTS_PAUSE_MS"  # the mean pause between two terminations

#: What the CI run injects at least, all kinds together.
CI_MINIMUM = 200

#: A busy backend (in a statement, or in a transaction between two) is the preferred target:
#: that is a fault in the middle of an operation. When none is busy, an idle one of the pool.
BUSY = ("active", "idle in transaction", "idle in transaction (aborted)")

BACKENDS_SQL = """
SELECT pid, application_name, coalesce(state, '') AS state, coalesce(query, '') AS query
FROM pg_stat_activity
WHERE datname = current_database()
  AND application_name IN ('loyalty', 'identity')
  AND backend_type = 'client backend'
"""


#: The work a statement belongs to, by the first of these tables it names.
WORK = (
    ("identity.outbox", "identity's outbox relay"),
    ("loyalty.inbox", "loyalty receiving identity's events"),
    ("referral", "referrals"),
    ("door_", "door check-ins"),
    ("invitation", "door check-ins"),
    ("redemption", "redemptions"),
    ("rewards", "redemptions"),
    ("journal_entries", "earns and the ledger"),
    ("postings", "earns and the ledger"),
    ("loyalty.", "earns and the ledger"),
    ("identity.", "identity's registrations and preferences"),
    ("typeinfo_tree", "connections being set up"),
    ("set_config", "connections being set up"),
    ("begin", "transactions beginning or committing"),
    ("commit", "transactions beginning or committing"),
    ("rollback", "transactions beginning or committing"),
)


def _work(query: str) -> str:
    lowered = query.lower()
    return next((work for table, work in WORK if table in lowered), "other statements")


@dataclass(frozen=True)
class FaultPlan:
    seed: int
    backends: int
    kills: int
    pause_seconds: float

    @classmethod
    def from_environment(cls) -> FaultPlan:
        seed = os.environ.get(SEED_ENV)
        return cls(
            seed=int(seed) if seed else random.SystemRandom().randrange(2**32),
            backends=int(os.environ.get(BACKENDS_ENV, "240")),
            kills=int(os.environ.get(KILLS_ENV, "4")),
            pause_seconds=int(os.environ.get(PAUSE_ENV, "60")) / 1000,
        )

    @property
    def total(self) -> int:
        return self.backends + self.kills


@dataclass
class Injected:
    """The faults injected, by kind: ``backend <service> <state>``, ``kill <service>``."""

    kinds: Counter[str] = field(default_factory=Counter)
    #: what the busy backends terminated were doing, told by their last statement's tables
    interrupted: Counter[str] = field(default_factory=Counter)
    #: how long each killed service took to be ready again
    restarts: list[float] = field(default_factory=list)

    @property
    def backends(self) -> int:
        return sum(n for kind, n in self.kinds.items() if kind.startswith("backend "))

    @property
    def kills(self) -> int:
        return sum(n for kind, n in self.kinds.items() if kind.startswith("kill "))

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


async def inject(
    admin_dsn: str, services: Services, plan: FaultPlan, rng: random.Random, injected: Injected
) -> None:
    """Terminate ``plan.backends`` backends of the services, and kill ``plan.kills`` processes
    at even intervals among them (loyalty and identity in turn); a killed service starts again
    while the terminations go on, on the other service's backends only (a service that loses
    its connection while it starts stops, to be started again: that would only slow the run)."""
    every = plan.backends // (plan.kills + 1) if plan.kills else 0
    restarting: dict[str, asyncio.Task[None]] = {}

    async def kill(name: str) -> None:
        started = time.monotonic()
        await services.by_name(name).kill_and_restart()
        injected.restarts.append(time.monotonic() - started)

    conn = await asyncpg.connect(admin_dsn)
    try:
        while injected.backends < plan.backends or injected.kills < plan.kills:
            kills = injected.kills
            if kills < plan.kills and injected.backends >= every * (kills + 1):
                name = ("loyalty", "identity")[kills % 2]
                if name in restarting:
                    await restarting.pop(name)
                restarting[name] = asyncio.create_task(kill(name))
                injected.kinds[f"kill {name}"] += 1
                continue
            await asyncio.sleep(rng.expovariate(1 / plan.pause_seconds))
            starting = {name for name, task in restarting.items() if not task.done()}
            rows = [
                r for r in await conn.fetch(BACKENDS_SQL) if r["application_name"] not in starting
            ]
            busy = [r for r in rows if r["state"] in BUSY]
            pool = busy or rows
            if not pool:
                continue  # the services are starting again: nothing connected yet
            target = rng.choice(sorted(pool, key=lambda r: r["pid"]))
            if await conn.fetchval("SELECT pg_terminate_backend($1)", target["pid"]):
                state = "busy" if target["state"] in BUSY else "idle"
                injected.kinds[f"backend {target['application_name']} {state}"] += 1
                if state == "busy":
                    injected.interrupted[_work(target["query"])] += 1
    finally:
        await asyncio.gather(*restarting.values())
        await conn.close()
