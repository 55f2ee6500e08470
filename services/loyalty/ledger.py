"""The points ledger's arithmetic, pure: entries, postings, lots and balances.

Every movement of points is a journal entry whose postings sum to zero, between a member's
accounts (``available`` and ``pending``) and the programme's accounts (``issued``, ``redeemed``,
``expired``). The programme's outstanding liability is what its accounts owe members: minus the
sum of their balances. Earned points live in lots; spending and expiry draw on the oldest lot
first, so points expire in the order they were earned.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class EntryKind(StrEnum):
    EARN = "earn"
    RELEASE = "release"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    MERGE = "merge"
    ADJUST = "adjust"


class AccountKind(StrEnum):
    AVAILABLE = "available"
    PENDING = "pending"
    ISSUED = "issued"
    REDEEMED = "redeemed"
    EXPIRED = "expired"

    @property
    def is_member(self) -> bool:
        return self in (AccountKind.AVAILABLE, AccountKind.PENDING)


@dataclass(frozen=True, slots=True, order=True)
class Account:
    """A member's account (``member`` set) or one of the programme's (``member`` is None)."""

    kind: AccountKind
    member: UUID | None = None

    def __post_init__(self) -> None:
        if self.kind.is_member != (self.member is not None):
            raise ValueError(
                f"{self.kind} account must {'' if self.kind.is_member else 'not '}name a member"
            )


ISSUED = Account(AccountKind.ISSUED)
REDEEMED = Account(AccountKind.REDEEMED)
EXPIRED = Account(AccountKind.EXPIRED)


def available(member: UUID) -> Account:
    return Account(AccountKind.AVAILABLE, member)


def pending(member: UUID) -> Account:
    return Account(AccountKind.PENDING, member)


class UnbalancedEntry(ValueError):
    """An entry whose postings do not sum to zero; a bug, never an expected outcome."""


class NotEnoughPoints(Exception):
    def __init__(self, needed: int, available: int) -> None:
        super().__init__(f"{needed} points needed, {available} available")
        self.needed = needed
        self.available = available


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    delta: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry's postings: non-zero, one per account, summing to zero."""

    kind: EntryKind
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if any(p.delta == 0 for p in self.postings):
            raise UnbalancedEntry("a posting moves no points")
        if len({p.account for p in self.postings}) != len(self.postings):
            raise UnbalancedEntry("an account appears twice in one entry")
        if sum(p.delta for p in self.postings) != 0:
            raise UnbalancedEntry(f"postings sum to {sum(p.delta for p in self.postings)}")

    @classmethod
    def of(cls, kind: EntryKind, moves: Iterable[tuple[Account, int]]) -> Entry:
        """Build an entry from moves, adding those on the same account and dropping zeros."""
        totals: dict[Account, int] = defaultdict(int)
        for account, delta in moves:
            totals[account] += delta
        return cls(kind, tuple(Posting(a, d) for a, d in sorted(totals.items()) if d != 0))

    def delta(self, account: Account) -> int:
        return sum(p.delta for p in self.postings if p.account == account)


# ---- lots -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lot:
    """Points earned together: spendable from ``available_at``, gone at ``expires_at``."""

    id: UUID
    remaining: int
    earned_at: datetime
    available_at: datetime
    released: bool
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Take:
    """Points drawn from one lot (from the pending account when the lot is not yet released)."""

    lot_id: UUID
    points: int
    released: bool


@dataclass(frozen=True, slots=True)
class NewLot:
    points: int
    available_at: datetime
    released: bool
    expires_at: datetime | None


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment ``months`` later, clamped to the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def plan_lots(
    pieces: Iterable[tuple[int, datetime | None]],
    *,
    earned_at: datetime,
    now: datetime,
    expiry_months: int | None,
) -> list[NewLot]:
    """Group an award's ``(points, pending_until)`` pieces into lots, one per release time."""
    by_release: dict[datetime, int] = defaultdict(int)
    for points, pending_until in pieces:
        if points < 0:
            raise ValueError("an award line is never negative")
        if points:
            by_release[max(pending_until or earned_at, earned_at)] += points
    expires_at = add_months(earned_at, expiry_months) if expiry_months else None
    return [
        NewLot(points, release, release <= now, expires_at)
        for release, points in sorted(by_release.items())
    ]


def earn_entry(member: UUID, lots: Sequence[NewLot]) -> Entry:
    return Entry.of(
        EntryKind.EARN,
        [
            m
            for lot in lots
            for m in (
                ((available(member) if lot.released else pending(member)), lot.points),
                (ISSUED, -lot.points),
            )
        ],
    )


def _fifo(lots: Iterable[Lot]) -> list[Lot]:
    return sorted(lots, key=lambda lot: (lot.earned_at, lot.available_at, lot.id))


def spendable(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    """Released, unexpired lots with points left, oldest first."""
    return _fifo(
        lot
        for lot in lots
        if lot.released and lot.remaining > 0 and (lot.expires_at is None or lot.expires_at > now)
    )


def spend(lots: Iterable[Lot], points: int, now: datetime) -> tuple[Take, ...]:
    """Draw ``points`` from the oldest spendable lots; ``NotEnoughPoints`` if they fall short."""
    if points <= 0:
        raise ValueError("spend a positive number of points")
    takes: list[Take] = []
    left = points
    usable = spendable(lots, now)
    for lot in usable:
        if left == 0:
            break
        take = min(lot.remaining, left)
        takes.append(Take(lot.id, take, True))
        left -= take
    if left:
        raise NotEnoughPoints(points, sum(lot.remaining for lot in usable))
    return tuple(takes)


def claw_back(
    origin: Lot | Sequence[Lot], lots: Iterable[Lot], points: int, now: datetime
) -> tuple[tuple[Take, ...], int]:
    """Take back up to ``points``: first from the lots the original earn created (pending or
    not), then from the member's oldest spendable lots. Returns the takes and the shortfall, the
    points already spent that cannot be taken back without a negative balance."""
    origins = [origin] if isinstance(origin, Lot) else list(origin)
    origin_ids = {lot.id for lot in origins}
    takes: list[Take] = []
    left = max(points, 0)
    sources = [lot for lot in _fifo(origins) if lot.remaining > 0] + [
        lot for lot in spendable(lots, now) if lot.id not in origin_ids
    ]
    for lot in sources:
        if left == 0:
            break
        take = min(lot.remaining, left)
        takes.append(Take(lot.id, take, lot.released))
        left -= take
    return tuple(takes), left


def due_releases(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    return _fifo(
        lot for lot in lots if not lot.released and lot.remaining > 0 and lot.available_at <= now
    )


def due_expiries(lots: Iterable[Lot], now: datetime) -> list[Lot]:
    return _fifo(
        lot
        for lot in lots
        if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now
    )


def _out_of_member(member: UUID, takes: Iterable[Take]) -> list[tuple[Account, int]]:
    return [((available(member) if t.released else pending(member)), -t.points) for t in takes]


def release_entry(member: UUID, points: int) -> Entry:
    return Entry.of(EntryKind.RELEASE, [(pending(member), -points), (available(member), points)])


def redeem_entry(member: UUID, takes: Sequence[Take]) -> Entry:
    total = sum(t.points for t in takes)
    return Entry.of(EntryKind.REDEEM, [*_out_of_member(member, takes), (REDEEMED, total)])


def reverse_entry(member: UUID, takes: Sequence[Take]) -> Entry:
    total = sum(t.points for t in takes)
    return Entry.of(EntryKind.REVERSE, [*_out_of_member(member, takes), (ISSUED, total)])


def expire_entry(member: UUID, takes: Sequence[Take]) -> Entry:
    total = sum(t.points for t in takes)
    return Entry.of(EntryKind.EXPIRE, [*_out_of_member(member, takes), (EXPIRED, total)])


def merge_entry(
    absorbed: UUID, survivor: UUID, *, available_points: int, pending_points: int
) -> Entry:
    return Entry.of(
        EntryKind.MERGE,
        [
            (available(absorbed), -available_points),
            (available(survivor), available_points),
            (pending(absorbed), -pending_points),
            (pending(survivor), pending_points),
        ],
    )


def balances(entries: Iterable[Entry]) -> dict[Account, int]:
    totals: dict[Account, int] = defaultdict(int)
    for entry in entries:
        for posting in entry.postings:
            totals[posting.account] += posting.delta
    return dict(totals)


def liability(programme_balances: dict[AccountKind, int]) -> int:
    """Points the programme owes its members: minus what its own accounts hold."""
    return -sum(
        programme_balances.get(kind, 0)
        for kind in (AccountKind.ISSUED, AccountKind.REDEEMED, AccountKind.EXPIRED)
    )


def apply_takes(lots: Iterable[Lot], takes: Iterable[Take]) -> list[Lot]:
    """The lots after ``takes`` (a model of what the repository writes)."""
    drawn: dict[UUID, int] = defaultdict(int)
    for t in takes:
        drawn[t.lot_id] += t.points
    out = []
    for lot in lots:
        remaining = lot.remaining - drawn.get(lot.id, 0)
        if remaining < 0:
            raise ValueError(f"lot {lot.id} overdrawn")
        out.append(
            Lot(lot.id, remaining, lot.earned_at, lot.available_at, lot.released, lot.expires_at)
        )
    return out
