"""A stateful property test of the ledger against PostgreSQL.

Hypothesis drives earns (each previewed first: the preview must equal the award), replays, full and partial reversals,
redemptions, the passing of time, the release and expiry job and merges, and after every step
checks the database against a simple in-memory model: each balance equals the sum of its
postings and is never negative, every journal entry sums to zero, the programme's liability is
what members hold, and every member's spendable and pending points agree with the model.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from services.common.actor import Actor, ActorKind
from services.common.db import create_engine
from services.common.problems import Problem
from services.loyalty import contract, ledger
from services.loyalty.earning.award import simulate_earn
from services.loyalty.earning.earn import earn_points
from services.loyalty.earning.jobs import run_point_jobs
from services.loyalty.earning.reversal import reverse_earn
from services.loyalty.identity_events.use_cases import receive_identity_events
from services.loyalty.rewards.redemption import redeem_reward
from services.loyalty.rulebook.book import RuleBook

VENUE = uuid.UUID("00000000-0000-4000-8000-00000000a001")
STAFF = Actor(ActorKind.STAFF, "stateful-staff", frozenset({str(VENUE)}))
COFFEE = 50
EXPIRY_MONTHS = 12
CAFE_DELAY = timedelta(days=3)


@dataclass
class ModelLot:
    origin: str
    remaining: int
    earned_at: datetime
    available_at: datetime
    released: bool
    expires_at: datetime


@dataclass
class Earn:
    body: contract.RecordEarn
    kind: str  # ticket | cafe | attendance
    amount: Decimal | None
    points: int = 0  # what the model says it earned


class LedgerMachine(RuleBasedStateMachine):
    database_url: str = ""
    coffee_id: uuid.UUID = uuid.UUID(int=0)

    earns = Bundle("earns")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.database_url, pool_size=2, application_name="stateful")
        self.book = RuleBook()
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.members = [uuid.uuid4() for _ in range(3)]
        self.alias: dict[uuid.UUID, uuid.UUID] = {m: m for m in self.members}
        self.lots: dict[uuid.UUID, list[ModelLot]] = {m: [] for m in self.members}
        self.attended: dict[uuid.UUID, bool] = {m: False for m in self.members}
        self.reversed: set[str] = set()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    # ---- the model ---------------------------------------------------------------------------

    def survivor(self, member: uuid.UUID) -> uuid.UUID:
        while self.alias[member] != member:
            member = self.alias[member]
        return member

    def tick(self) -> None:
        self.now += timedelta(minutes=1)  # lots never tie on time, so FIFO order is exact

    def settle(self, member: uuid.UUID) -> None:
        for lot in self.lots[member]:
            if not lot.released and lot.remaining and lot.available_at <= self.now:
                lot.released = True
        for lot in self.lots[member]:
            if lot.remaining and lot.expires_at <= self.now:
                lot.remaining = 0

    def spendable(self, member: uuid.UUID) -> list[ModelLot]:
        return sorted(
            (
                lot
                for lot in self.lots[member]
                if lot.released and lot.remaining and lot.expires_at > self.now
            ),
            key=lambda lot: lot.earned_at,
        )

    def held(self, member: uuid.UUID) -> tuple[int, int]:
        lots = self.lots[member]
        return (
            sum(lot.remaining for lot in lots if lot.released),
            sum(lot.remaining for lot in lots if not lot.released),
        )

    # ---- rules -------------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        self.tick()

    def _earn(self, member_index: int, kind: str, amount: Decimal | None) -> Earn:
        member = self.members[member_index]
        event: dict[str, Any] = {
            "trigger": "attendance" if kind == "attendance" else "purchase",
            "occurred_at": self.now,
            "venue_id": VENUE,
        }
        if kind != "attendance":
            event.update(amount=amount, currency="EUR", category=kind)
        earn = Earn(
            contract.RecordEarn(
                member_id=member,
                external_id=uuid.uuid4().hex,
                event=contract.EarnEvent.model_validate(event),
            ),
            kind,
            amount,
        )
        preview = self.run(
            simulate_earn(
                self.engine,
                self.book,
                contract.SimulateEarn(member_id=member, event=earn.body.event),
            )
        )
        outcome = self.run(earn_points(self.engine, self.book, STAFF, earn.body, now=self.now))
        # the preview, taken just before, is exactly what was awarded
        assert preview.total == outcome.entry.points
        assert [(ln.rule_key, ln.points) for ln in preview.lines] == [
            (ln.rule_key, ln.points) for ln in outcome.entry.lines
        ]
        owner = self.survivor(member)
        if kind == "ticket":
            assert amount is not None
            points, release = int(amount), self.now  # 1 point per euro, rounded down
        elif kind == "cafe":
            assert amount is not None
            points, release = int(2 * amount), self.now + CAFE_DELAY  # 2 per euro, pending
        else:
            points = 25 + (0 if self.attended[owner] else 100)
            release = self.now
            self.attended[owner] = True
        assert outcome.created
        assert outcome.entry.points == points
        earn.points = points
        if points:
            self.lots[owner].append(
                ModelLot(
                    earn.body.external_id,
                    points,
                    self.now,
                    release,
                    release <= self.now,
                    ledger.add_months(self.now, EXPIRY_MONTHS),
                )
            )
        self.tick()
        return earn

    @rule(
        target=earns,
        member=st.integers(0, 2),
        kind=st.sampled_from(["ticket", "cafe", "attendance"]),
        cents=st.integers(0, 20_000),
    )
    def earn(self, member: int, kind: str, cents: int) -> Earn:
        amount = None if kind == "attendance" else Decimal(cents) / 100
        return self._earn(member, kind, amount)

    @rule(earn=earns)
    def replay(self, earn: Earn) -> None:
        outcome = self.run(earn_points(self.engine, self.book, STAFF, earn.body, now=self.now))
        assert not outcome.created

    @rule(earn=earns, refund_share=st.one_of(st.none(), st.floats(0.0, 1.0)))
    def reverse(self, earn: Earn, refund_share: float | None) -> None:
        refund = None
        if refund_share is not None and earn.amount is not None:
            refund = (earn.amount * Decimal(str(refund_share))).quantize(Decimal("0.01"))
        body = contract.ReverseEarn(
            external_id=earn.body.external_id,
            venue_id=VENUE,
            refunded_amount=refund,
            reason="stateful refund",
        )
        try:
            outcome = self.run(reverse_earn(self.engine, self.book, STAFF, body, now=self.now))
        except Problem as problem:
            assert problem.code == "ALREADY_REVERSED"
            assert earn.body.external_id in self.reversed
            return
        if not outcome.created:  # the same reversal sent again
            assert earn.body.external_id in self.reversed
            return
        assert earn.body.external_id not in self.reversed
        self.reversed.add(earn.body.external_id)
        owner = self.survivor(earn.body.member_id)
        self.settle(owner)
        unit = 2 if earn.kind == "cafe" else 1
        if refund is None or earn.amount is None or refund >= earn.amount:
            back = earn.points
        else:
            back = earn.points - int(unit * (earn.amount - refund))
        left = back
        origins = [lot for lot in self.lots[owner] if lot.origin == earn.body.external_id]
        for lot in sorted(origins, key=lambda lot: lot.earned_at) + [
            lot for lot in self.spendable(owner) if lot.origin != earn.body.external_id
        ]:
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
        assert outcome.points_reversed == back - left
        assert outcome.shortfall == left
        self.tick()

    @rule(member=st.integers(0, 2))
    def redeem(self, member: int) -> None:
        owner = self.survivor(self.members[member])
        settled = copy.deepcopy(self.lots[owner])
        self.settle(owner)  # what the redemption sees; it is rolled back if refused
        fits = sum(lot.remaining for lot in self.spendable(owner)) >= COFFEE
        if not fits:
            self.lots[owner] = settled
        body = contract.RedeemReward(
            member_id=self.members[member],
            reward_id=self.coffee_id,
            idempotency_key=uuid.uuid4().hex,
        )
        actor = Actor(ActorKind.MEMBER, str(self.members[member]))
        try:
            self.run(redeem_reward(self.engine, self.book, actor, body, now=self.now))
        except Problem as problem:
            assert problem.code == "NOT_ENOUGH_POINTS"
            assert not fits
            return
        assert fits
        left = COFFEE
        for lot in self.spendable(owner):
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
        self.tick()

    @rule(days=st.integers(0, 200), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    @rule()
    def jobs_run(self) -> None:
        self.run(run_point_jobs(self.engine, now=self.now))
        for member in {self.survivor(m) for m in self.members}:
            self.settle(member)

    @rule(absorbed=st.integers(0, 2), survivor=st.integers(0, 2))
    def merge(self, absorbed: int, survivor: int) -> None:
        gone, kept = self.survivor(self.members[absorbed]), self.survivor(self.members[survivor])
        if gone == kept:
            return
        event = contract.IdentityEvent(
            event_id=uuid.uuid4(),
            type="members.merged",
            occurred_at=self.now,
            payload={
                "member_id": str(kept),
                "survivor_id": str(kept),
                "absorbed_id": str(gone),
                "merge_id": str(uuid.uuid4()),
            },
        )
        self.run(receive_identity_events(self.engine, contract.EventBatch(events=[event])))
        self.alias[gone] = kept
        self.lots[kept].extend(self.lots.pop(gone))
        self.attended[kept] = self.attended[kept] or self.attended[gone]
        self.tick()

    # ---- invariants --------------------------------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_model(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        async with self.engine.connect() as conn:
            drift = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM loyalty.accounts a WHERE a.member_id IS NOT NULL AND "
                    "a.balance <> (SELECT coalesce(sum(p.delta), 0) FROM loyalty.postings p "
                    "WHERE p.account_id = a.id)"
                )
            )
            assert drift == 0, "a balance differs from the sum of its postings"
            negative = await conn.scalar(
                sa.text("SELECT count(*) FROM loyalty.accounts WHERE balance < 0")
            )
            assert negative == 0
            unbalanced = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM (SELECT entry_id FROM loyalty.postings "
                    "GROUP BY entry_id HAVING sum(delta) <> 0) AS u"
                )
            )
            assert unbalanced == 0, "a journal entry does not sum to zero"
            held = await conn.scalar(
                sa.text(
                    "SELECT coalesce(sum(balance), 0) FROM loyalty.accounts WHERE member_id IS NOT NULL"
                )
            )
            programme = await conn.scalar(
                sa.text(
                    "SELECT coalesce(sum(p.delta), 0) FROM loyalty.postings p "
                    "JOIN loyalty.accounts a ON a.id = p.account_id WHERE a.member_id IS NULL"
                )
            )
            assert held == -programme, "the liability differs from what members hold"
            for member in {self.survivor(m) for m in self.members}:
                rows = (
                    await conn.execute(
                        sa.text("SELECT kind, balance FROM loyalty.accounts WHERE member_id = :m"),
                        {"m": member},
                    )
                ).all()
                found = {kind: balance for kind, balance in rows}
                expected = self.held(member)
                assert (found.get("available", 0), found.get("pending", 0)) == expected, (
                    member,
                    found,
                    expected,
                )
                lot_sums = (
                    await conn.execute(
                        sa.text(
                            "SELECT coalesce(sum(remaining) FILTER (WHERE released), 0), "
                            "coalesce(sum(remaining) FILTER (WHERE NOT released), 0) "
                            "FROM loyalty.lots WHERE member_id = :m"
                        ),
                        {"m": member},
                    )
                ).one()
                assert tuple(lot_sums) == expected


def test_the_ledger_agrees_with_a_simple_model_after_every_step(
    database_url: str, programme: Any
) -> None:
    LedgerMachine.database_url = database_url
    LedgerMachine.coffee_id = programme.coffee_id
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
