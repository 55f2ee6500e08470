"""The ledger's arithmetic, told as worked accounting examples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.loyalty import ledger
from services.loyalty.ledger import ISSUED, REDEEMED, Entry, EntryKind, Lot, available, pending

ALICE = uuid.UUID(int=1)
BOB = uuid.UUID(int=2)
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def lot(points: int, days: int, *, released: bool = True, expires_days: int | None = 730) -> Lot:
    earned = T0 + timedelta(days=days)
    return Lot(
        uuid.uuid4(),
        points,
        earned,
        earned,
        released,
        earned + timedelta(days=expires_days) if expires_days else None,
    )


def test_an_earn_takes_points_from_the_programme_and_gives_them_to_the_member() -> None:
    lots = ledger.plan_lots([(90, None), (10, None)], earned_at=T0, now=T0, expiry_months=24)
    entry = ledger.earn_entry(ALICE, lots)
    assert entry.delta(available(ALICE)) == 100
    assert entry.delta(ISSUED) == -100
    assert ledger.liability({ledger.AccountKind.ISSUED: -100}) == 100


def test_pending_points_land_in_the_pending_account_until_released() -> None:
    lots = ledger.plan_lots(
        [(50, None), (20, T0 + timedelta(days=7))], earned_at=T0, now=T0, expiry_months=None
    )
    assert [(lt.points, lt.released) for lt in lots] == [(50, True), (20, False)]
    entry = ledger.earn_entry(ALICE, lots)
    assert entry.delta(available(ALICE)) == 50
    assert entry.delta(pending(ALICE)) == 20
    release = ledger.release_entry(ALICE, 20)
    assert ledger.balances([entry, release])[available(ALICE)] == 70
    assert ledger.balances([entry, release])[pending(ALICE)] == 0


def test_points_expire_two_years_after_they_were_earned_even_at_the_end_of_a_month() -> None:
    earned = datetime(2024, 2, 29, 10, tzinfo=UTC)
    (only,) = ledger.plan_lots([(5, None)], earned_at=earned, now=earned, expiry_months=24)
    assert only.expires_at == datetime(2026, 2, 28, 10, tzinfo=UTC)


def test_spending_draws_on_the_oldest_lots_first() -> None:
    old, middle, new = lot(30, 0), lot(30, 10), lot(30, 20)
    takes = ledger.spend([new, old, middle], 45, T0 + timedelta(days=30))
    assert [(t.lot_id, t.points) for t in takes] == [(old.id, 30), (middle.id, 15)]


def test_spending_ignores_pending_and_expired_lots() -> None:
    fresh = lot(10, 5)
    waiting = lot(100, 6, released=False)
    expired = lot(100, 0, expires_days=1)
    with pytest.raises(ledger.NotEnoughPoints) as short:
        ledger.spend([fresh, waiting, expired], 11, T0 + timedelta(days=10))
    assert (short.value.needed, short.value.available) == (11, 10)


def test_a_redemption_moves_points_from_the_member_to_the_redeemed_account() -> None:
    takes = ledger.spend([lot(100, 0)], 60, T0)
    entry = ledger.redeem_entry(ALICE, takes)
    assert entry.delta(available(ALICE)) == -60
    assert entry.delta(REDEEMED) == 60


def test_a_claw_back_takes_from_the_original_lot_then_the_oldest_others() -> None:
    other_old, origin, other_new = lot(10, 0), lot(40, 5), lot(10, 9)
    spent = ledger.apply_takes([origin], [ledger.Take(origin.id, 30, True)])[0]
    takes, shortfall = ledger.claw_back(
        spent, [other_old, spent, other_new], 25, T0 + timedelta(days=10)
    )
    assert [(t.lot_id, t.points) for t in takes] == [
        (origin.id, 10),
        (other_old.id, 10),
        (other_new.id, 5),
    ]
    assert shortfall == 0


def test_a_claw_back_never_takes_more_than_the_member_holds() -> None:
    origin = lot(40, 0)
    emptied = ledger.apply_takes([origin], [ledger.Take(origin.id, 40, True)])[0]
    takes, shortfall = ledger.claw_back(emptied, [lot(5, 1)], 40, T0 + timedelta(days=2))
    assert sum(t.points for t in takes) == 5
    assert shortfall == 35


def test_a_claw_back_of_pending_points_comes_out_of_the_pending_account() -> None:
    origin = lot(20, 0, released=False)
    takes, _ = ledger.claw_back(origin, [], 20, T0)
    entry = ledger.reverse_entry(ALICE, takes)
    assert entry.delta(pending(ALICE)) == -20
    assert entry.delta(ISSUED) == 20


def test_a_merge_moves_both_balances_to_the_survivor() -> None:
    entry = ledger.merge_entry(BOB, ALICE, available_points=70, pending_points=5)
    assert entry.delta(available(ALICE)) == 70
    assert entry.delta(available(BOB)) == -70
    assert entry.delta(pending(ALICE)) == 5


def test_expiry_moves_points_to_the_expired_account() -> None:
    due = ledger.due_expiries([lot(10, 0, expires_days=30), lot(10, 20)], T0 + timedelta(days=31))
    assert len(due) == 1
    entry = ledger.expire_entry(ALICE, [ledger.Take(due[0].id, 10, True)])
    assert entry.delta(ledger.EXPIRED) == 10


def test_an_entry_that_does_not_balance_is_refused() -> None:
    with pytest.raises(ledger.UnbalancedEntry):
        Entry(EntryKind.ADJUST, (ledger.Posting(available(ALICE), 5), ledger.Posting(ISSUED, -4)))
    with pytest.raises(ledger.UnbalancedEntry):
        Entry(EntryKind.ADJUST, (ledger.Posting(available(ALICE), 0),))


def test_a_member_account_must_name_its_member() -> None:
    with pytest.raises(ValueError):
        ledger.Account(ledger.AccountKind.AVAILABLE)
    with pytest.raises(ValueError):
        ledger.Account(ledger.AccountKind.ISSUED, ALICE)
