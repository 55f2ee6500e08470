"""Properties of the ledger's arithmetic over any sequence of movements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.loyalty import ledger
from services.loyalty.ledger import Lot

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MEMBER = uuid.UUID(int=7)

lots_strategy = st.lists(
    st.builds(
        lambda points, used, day, released, life: Lot(
            uuid.uuid4(),
            max(points - used, 0),
            T0 + timedelta(days=day),
            T0 + timedelta(days=day),
            released,
            T0 + timedelta(days=day + life) if life else None,
        ),
        st.integers(1, 500),
        st.integers(0, 500),
        st.integers(0, 400),
        st.booleans(),
        st.one_of(st.none(), st.integers(1, 800)),
    ),
    max_size=12,
)


@given(lots_strategy, st.integers(1, 3000), st.integers(0, 1200))
def test_spending_takes_exactly_the_price_from_spendable_lots_oldest_first(
    lots: list[Lot], price: int, day: int
) -> None:
    now = T0 + timedelta(days=day)
    # the model: released lots with points left that have not expired, oldest earned first
    usable = sorted(
        (
            lt
            for lt in lots
            if lt.released and lt.remaining and (lt.expires_at is None or now < lt.expires_at)
        ),
        key=lambda lt: (lt.earned_at, lt.available_at, lt.id),
    )
    try:
        takes = ledger.spend(lots, price, now)
    except ledger.NotEnoughPoints as short:
        assert short.available == sum(lt.remaining for lt in usable) < price
        assert short.needed == price
        return
    # FIFO: whole lots in that order, then what is still needed from the next one
    expected: list[ledger.Take] = []
    left = price
    for lt in usable:
        if left == 0:
            break
        expected.append(ledger.Take(lt.id, min(lt.remaining, left), True))
        left -= min(lt.remaining, left)
    assert takes == tuple(expected)
    entry = ledger.redeem_entry(MEMBER, takes)
    assert sum(p.delta for p in entry.postings) == 0


@given(lots_strategy, st.integers(0, 3000), st.integers(0, 1200))
def test_a_claw_back_takes_what_it_can_and_reports_the_rest(
    lots: list[Lot], points: int, day: int
) -> None:
    now = T0 + timedelta(days=day)
    origin, others = (lots[0], lots[1:]) if lots else ([], [])
    takes, shortfall = ledger.claw_back(origin, others, points, now)
    taken = sum(t.points for t in takes)
    assert taken + shortfall == points
    assert shortfall >= 0
    after = ledger.apply_takes(lots, takes)  # raises if any lot were overdrawn
    assert all(lt.remaining >= 0 for lt in after)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["earn", "pending", "release", "spend"]), st.integers(1, 200)),
        max_size=40,
    )
)
def test_balances_are_the_sum_of_postings_and_the_liability_is_what_members_hold(
    moves: list[tuple[str, int]],
) -> None:
    entries: list[ledger.Entry] = []
    held = {"available": 0, "pending": 0}
    for kind, points in moves:
        if kind == "earn":
            lots = ledger.plan_lots([(points, None)], earned_at=T0, now=T0, expiry_months=None)
            entries.append(ledger.earn_entry(MEMBER, lots))
            held["available"] += points
        elif kind == "pending":
            lots = ledger.plan_lots(
                [(points, T0 + timedelta(days=3))], earned_at=T0, now=T0, expiry_months=None
            )
            entries.append(ledger.earn_entry(MEMBER, lots))
            held["pending"] += points
        elif kind == "release" and held["pending"] >= points:
            entries.append(ledger.release_entry(MEMBER, points))
            held["pending"] -= points
            held["available"] += points
        elif kind == "spend" and held["available"] >= points:
            entries.append(ledger.redeem_entry(MEMBER, [ledger.Take(uuid.uuid4(), points, True)]))
            held["available"] -= points
    totals = ledger.balances(entries)
    assert all(sum(p.delta for p in e.postings) == 0 for e in entries)
    assert totals.get(ledger.available(MEMBER), 0) == held["available"]
    assert totals.get(ledger.pending(MEMBER), 0) == held["pending"]
    programme = {a.kind: v for a, v in totals.items() if a.member is None}
    assert ledger.liability(programme) == held["available"] + held["pending"]


@given(lots_strategy, st.integers(0, 1200), st.integers(-2, 2))
def test_a_lot_is_spendable_until_its_expiry_instant_and_due_to_expire_from_it(
    lots: list[Lot], day: int, seconds: int
) -> None:
    # ``now`` lands on, or a second or two either side of, a day on which lots may expire
    now = T0 + timedelta(days=day, seconds=seconds)
    spendable = {lt.id for lt in ledger.spendable(lots, now)}
    expiring = {lt.id for lt in ledger.due_expiries(lots, now)}
    releasing = {lt.id for lt in ledger.due_releases(lots, now)}
    for lt in lots:
        alive = lt.expires_at is None or now < lt.expires_at
        assert (lt.id in spendable) == (lt.released and lt.remaining > 0 and alive)
        assert (lt.id in expiring) == (lt.remaining > 0 and not alive)
        assert (lt.id in releasing) == (
            not lt.released and lt.remaining > 0 and lt.available_at <= now
        )


@given(st.integers(1, 500), st.integers(1, 800))
def test_a_lot_expires_exactly_at_its_instant(points: int, life: int) -> None:
    earned = T0 + timedelta(days=3)
    lot = Lot(uuid.uuid4(), points, earned, earned, True, earned + timedelta(days=life))
    instant = earned + timedelta(days=life)
    just_before = instant - timedelta(microseconds=1)
    assert ledger.spendable([lot], just_before) == [lot]
    assert ledger.due_expiries([lot], just_before) == []
    assert ledger.spendable([lot], instant) == []
    assert ledger.due_expiries([lot], instant) == [lot]
    with pytest.raises(ledger.NotEnoughPoints):
        ledger.spend([lot], points, instant)
    assert ledger.spend([lot], points, just_before) == (ledger.Take(lot.id, points, True),)
