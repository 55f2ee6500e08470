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


# ---- edges -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earned", "months", "expires"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 13, datetime(2027, 2, 28, 9, tzinfo=UTC)),
        (datetime(2026, 11, 30, 9, tzinfo=UTC), 3, datetime(2027, 2, 28, 9, tzinfo=UTC)),
        (datetime(2027, 12, 15, 9, tzinfo=UTC), 2, datetime(2028, 2, 15, 9, tzinfo=UTC)),
        (datetime(2026, 3, 31, 9, tzinfo=UTC), 1, datetime(2026, 4, 30, 9, tzinfo=UTC)),
        (datetime(2026, 5, 17, 9, tzinfo=UTC), 12, datetime(2027, 5, 17, 9, tzinfo=UTC)),
    ],
)
def test_months_are_added_on_the_calendar_clamped_to_the_month_s_end(
    earned: datetime, months: int, expires: datetime
) -> None:
    assert ledger.add_months(earned, months) == expires


def test_every_movement_is_an_entry_of_its_own_kind() -> None:
    takes = [ledger.Take(uuid.UUID(int=9), 5, True)]
    lots = ledger.plan_lots([(5, None)], earned_at=T0, now=T0, expiry_months=None)
    assert ledger.earn_entry(ALICE, lots).kind is EntryKind.EARN
    assert ledger.release_entry(ALICE, 5).kind is EntryKind.RELEASE
    assert ledger.redeem_entry(ALICE, takes).kind is EntryKind.REDEEM
    assert ledger.reverse_entry(ALICE, takes).kind is EntryKind.REVERSE
    assert ledger.expire_entry(ALICE, takes).kind is EntryKind.EXPIRE
    assert ledger.merge_entry(BOB, ALICE, available_points=1, pending_points=0).kind is (
        EntryKind.MERGE
    )
    assert Entry.of(EntryKind.ADJUST, [(available(ALICE), 1), (ISSUED, -1)]).kind is (
        EntryKind.ADJUST
    )


def test_an_award_is_planned_as_one_lot_per_release_time_and_empty_lines_are_dropped() -> None:
    later = T0 + timedelta(days=3)
    lots = ledger.plan_lots(
        [(10, None), (0, later), (5, later), (7, T0 - timedelta(days=1)), (0, None)],
        earned_at=T0,
        now=T0,
        expiry_months=1,
    )
    expires = datetime(2026, 4, 1, 12, tzinfo=UTC)
    assert lots == [
        ledger.NewLot(17, T0, True, expires),  # a release time in the past is the earn itself
        ledger.NewLot(5, later, False, expires),
    ]
    with pytest.raises(ValueError, match=r"^an award line is never negative$"):
        ledger.plan_lots([(-1, None)], earned_at=T0, now=T0, expiry_months=None)


def test_a_lot_released_exactly_now_is_released_at_once() -> None:
    (lot_now,) = ledger.plan_lots(
        [(5, T0)], earned_at=T0 - timedelta(days=1), now=T0, expiry_months=None
    )
    assert lot_now.released


@pytest.mark.parametrize("points", [0, -5])
def test_spending_nothing_or_less_is_refused(points: int) -> None:
    with pytest.raises(ValueError, match=r"^spend a positive number of points$"):
        ledger.spend([lot(10, 0)], points, T0)


def test_a_lot_with_a_single_point_left_is_spent_and_clawed_back() -> None:
    single = lot(1, 0)
    assert ledger.spend([single], 1, T0) == (ledger.Take(single.id, 1, True),)
    assert ledger.claw_back(single, [], 1, T0) == ((ledger.Take(single.id, 1, True),), 0)


def test_a_claw_back_skips_emptied_origin_lots_and_stops_when_done() -> None:
    emptied, origin, other = lot(0, 0), lot(3, 1), lot(10, 2)
    takes, shortfall = ledger.claw_back([emptied, origin], [other], 4, T0 + timedelta(days=5))
    assert takes == (ledger.Take(origin.id, 3, True), ledger.Take(other.id, 1, True))
    assert shortfall == 0
    takes, shortfall = ledger.claw_back([origin], [other], 3, T0 + timedelta(days=5))
    assert (takes, shortfall) == ((ledger.Take(origin.id, 3, True),), 0)


def test_releases_are_due_for_pending_lots_with_points_once_their_time_has_come() -> None:
    due_now = lot(5, 0, released=False)
    single = lot(1, -1, released=False)
    later = lot(5, 1, released=False)
    empty = lot(0, -2, released=False)
    already = lot(5, -3)
    assert ledger.due_releases([later, due_now, empty, already, single], T0) == [single, due_now]


def test_expiry_is_due_for_lots_with_points_left_from_their_expiry_instant() -> None:
    at_instant = lot(5, 0, expires_days=10)
    single = lot(1, 1, expires_days=9)
    not_yet = lot(5, 0, expires_days=11)
    empty = lot(0, 0, expires_days=1)
    forever = lot(5, 0, expires_days=None)
    now = T0 + timedelta(days=10)
    lots = [not_yet, at_instant, empty, forever, single]
    assert ledger.due_expiries(lots, now) == [at_instant, single]  # FIFO: earned first
    assert {lt.id for lt in ledger.spendable(lots, now)} == {not_yet.id, forever.id}


def test_applying_takes_adds_up_takes_on_one_lot_and_keeps_everything_else() -> None:
    one, two = lot(10, 0, released=False), lot(10, 1)
    after = ledger.apply_takes(
        [one, two], [ledger.Take(one.id, 3, False), ledger.Take(one.id, 4, False)]
    )
    assert after == [
        Lot(one.id, 3, one.earned_at, one.available_at, False, one.expires_at),
        two,
    ]
    with pytest.raises(ValueError, match=f"^lot {one.id} overdrawn$"):
        ledger.apply_takes([one], [ledger.Take(one.id, 11, False)])


def test_refusals_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^available account must name a member$"):
        ledger.Account(ledger.AccountKind.AVAILABLE)
    with pytest.raises(ValueError, match=r"^issued account must not name a member$"):
        ledger.Account(ledger.AccountKind.ISSUED, ALICE)
    with pytest.raises(ledger.UnbalancedEntry, match=r"^a posting moves no points$"):
        Entry(EntryKind.ADJUST, (ledger.Posting(available(ALICE), 0),))
    with pytest.raises(ledger.UnbalancedEntry, match=r"^an account appears twice in one entry$"):
        Entry(
            EntryKind.ADJUST,
            (ledger.Posting(available(ALICE), 5), ledger.Posting(available(ALICE), -5)),
        )
    with pytest.raises(ledger.UnbalancedEntry, match=r"^postings sum to 1$"):
        Entry(EntryKind.ADJUST, (ledger.Posting(available(ALICE), 5), ledger.Posting(ISSUED, -4)))
    short = ledger.NotEnoughPoints(50, 20)
    assert (str(short), short.needed, short.available) == ("50 points needed, 20 available", 50, 20)
