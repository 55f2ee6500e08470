"""Faults in the middle of the platform's work: while clients earn, redeem, check in at the door,
convert referrals and register with identity (whose outbox the relay delivers to loyalty), the
services' database connections are terminated (``pg_terminate_backend``) and their processes
killed with SIGKILL and started again. The clients retry until their answers are definite; then
the ledger, the idempotency keys, the door and the events between the services must be exactly
as the clients were told, with nothing half written.

The run is sized and seeded by environment variables (``injector.FaultPlan``); the seed is
printed, and ``LOYALTY_FAULTS_SEED`` replays the same choices of operations and targets (the
moments, set by the machine's pace, differ)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import pytest
import pytest_asyncio

from services.common.db import asyncpg_dsn
from tests.conftest import service_urls
from tests.integration.faults import invariants
from tests.integration.faults.injector import CI_MINIMUM, FaultPlan, Injected, inject
from tests.integration.faults.services import Caller, Tally, running_services
from tests.integration.faults.workload import World, prepare, publish_programme, settle, stream

WORKERS = int(os.environ.get("LOYALTY_FAULTS_WORKERS", "8"))
REGULARS = 12
GUESTS = int(os.environ.get("LOYALTY_FAULTS_CHECK_INS", "40"))


@dataclass
class Run:
    plan: FaultPlan
    injected: Injected
    world: World
    tally: Tally
    admin_dsn: str
    seconds: float
    phases: dict[str, float]
    failed_starts: dict[str, int]

    def report(self) -> str:
        ops = self.world.outcomes.operations
        retried = sum(self.tally.retries.values())
        return (
            f"seed {self.plan.seed}: {self.injected.total} faults injected "
            f"({dict(sorted(self.injected.kinds.items()))}; busy ones interrupted "
            f"{dict(self.injected.interrupted.most_common())}; restarts "
            f"{', '.join(f'{s:.1f}' for s in self.injected.restarts)} s, failed starts "
            f"{self.failed_starts}); {sum(ops.values())} operations "
            f"({dict(sorted(ops.items()))}); {retried} retries; {self.seconds:.1f} s "
            f"({', '.join(f'{k} {v:.1f} s' for k, v in self.phases.items())})"
        )


@pytest.fixture(scope="module")
def url(make_database: Callable[[], str]) -> str:
    """A database of the run's own, migrated."""
    return make_database()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def run(url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    plan = FaultPlan.from_environment()
    print(f"fault injection: seed {plan.seed} (set LOYALTY_FAULTS_SEED to replay)")
    started = time.monotonic()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        phases[name] = time.monotonic() - started - sum(phases.values())

    admin_dsn = asyncpg_dsn(url)
    reward_id = await publish_programme(service_urls(url).loyalty)
    tally = Tally()
    async with running_services(url, tmp_path_factory.mktemp("faults")) as services:
        world = World(
            loyalty=Caller(services.loyalty.url, "loyalty", tally),
            identity=Caller(services.identity.url, "identity", tally),
            reward_id=reward_id,
            admin_dsn=admin_dsn,
            loyalty_url=service_urls(url).loyalty,
        )
        lap("start")
        try:
            await prepare(world, regulars=REGULARS, guests=GUESTS)
            lap("prepare")
            rng = random.Random(plan.seed)
            injected = Injected()
            stop = asyncio.Event()
            clients = asyncio.create_task(stream(world, random.Random(rng.random()), stop, WORKERS))
            try:
                await inject(admin_dsn, services, plan, random.Random(rng.random()), injected)
            finally:
                lap("faults")
                stop.set()
                await clients
            lap("last operations")
            await settle(world)
            lap("settle")
        finally:
            await world.loyalty.aclose()
            await world.identity.aclose()
        failed = {p.part: p.failed_starts for p in (services.loyalty, services.identity)}
    seconds = time.monotonic() - started
    done = Run(plan, injected, world, tally, admin_dsn, seconds, phases, failed)
    print(done.report())
    yield done


@pytest_asyncio.fixture(loop_scope="session")
async def conn(run: Run) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(run.admin_dsn)
    try:
        yield connection
    finally:
        await connection.close()


def test_the_planned_faults_were_injected_while_every_kind_of_operation_ran(
    run: Run,
) -> None:
    injected, ops = run.injected, run.world.outcomes.operations
    assert (injected.backends, injected.kills) == (run.plan.backends, run.plan.kills), run.report()
    if os.environ.get("CI"):
        assert injected.total >= CI_MINIMUM, run.report()
    kinds = {"earn", "redeem", "check-in", "referral", "register", "preferences"}
    assert {kind for kind in kinds if ops[kind] > 0} == kinds, run.report()
    assert len(run.world.outcomes.scans) == len(run.world.invitations), run.report()


def test_every_5xx_a_fault_caused_was_a_json_internal_error(run: Run) -> None:
    assert run.tally.bad_errors == [], run.report()


async def test_the_ledger_holds_whole_balanced_entries(run: Run, conn: asyncpg.Connection) -> None:
    assert await invariants.ledger(conn) == [], run.report()


async def test_each_earn_is_one_entry_the_one_its_answer_named(
    run: Run, conn: asyncpg.Connection
) -> None:
    assert await invariants.earns(conn, run.world) == [], run.report()


async def test_each_redemption_key_spent_points_once_and_refusals_spent_nothing(
    run: Run, conn: asyncpg.Connection
) -> None:
    assert await invariants.redemptions(conn, run.world.outcomes) == [], run.report()


async def test_each_invitation_was_checked_in_once_and_its_attendance_earned_once(
    run: Run, conn: asyncpg.Connection
) -> None:
    assert await invariants.check_ins(conn, run.world) == [], run.report()


async def test_each_referral_converted_once_and_its_rewards_were_posted_once(
    run: Run, conn: asyncpg.Connection
) -> None:
    assert await invariants.referrals(conn, run.world.outcomes) == [], run.report()


async def test_identity_changes_reached_loyalty_once_and_only_those_committed(
    run: Run, conn: asyncpg.Connection
) -> None:
    assert await invariants.identity_to_loyalty(conn, run.world.outcomes) == [], run.report()


def test_the_default_plan_injects_at_least_what_ci_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("LOYALTY_FAULTS_BACKENDS", "LOYALTY_FAULTS_KILLS"):
        monkeypatch.delenv(variable, raising=False)
    plan = FaultPlan.from_environment()
    assert (plan.backends, plan.kills, plan.total) == (240, 4, 244)
    assert plan.total >= CI_MINIMUM
