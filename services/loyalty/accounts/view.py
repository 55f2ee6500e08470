"""The member's account as they see it: balances, pending and expiring points, tier progress, and
a page of their history with its cursor."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.problems import InvalidInput
from services.loyalty import contract, tiers
from services.loyalty.accounts import queries
from services.loyalty.contract import Locale
from services.loyalty.journal.entries import entry_view, now_or
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rulebook.views import tier_view

MAX_HISTORY_PAGE = 100


def _progress_view(progress: tiers.TierProgress | None, locale: Locale) -> contract.TierProgress:
    if progress is None:
        return contract.TierProgress(
            current=None,
            next=None,
            status_points=0,
            points_to_next=None,
            points_to_keep=0,
            keep_by=None,
            qualifying_until=None,
            counts_toward="",
            policy="",
        )
    fr = locale is Locale.FR
    return contract.TierProgress(
        current=tier_view(progress.current, locale) if progress.current else None,
        next=tier_view(progress.next, locale) if progress.next else None,
        status_points=progress.status_points,
        points_to_next=progress.points_to_next,
        points_to_keep=progress.points_to_keep,
        keep_by=progress.keep_by,
        qualifying_until=progress.qualifying_until,
        counts_toward=progress.counts_toward_fr if fr else progress.counts_toward_en,
        policy=progress.policy_fr if fr else progress.policy_en,
    )


def encode_cursor(seq: int) -> str:
    return f"e{seq}"


_CURSOR = re.compile(r"e([0-9]{1,19})")
_MAX_SEQ = 2**63 - 1  # a journal sequence is a bigint


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    found = _CURSOR.fullmatch(cursor)
    if found is None or int(found[1]) > _MAX_SEQ:
        raise InvalidInput("the cursor is not valid")
    return int(found[1])


async def account(
    engine: AsyncEngine,
    book: RuleBook,
    member_id: UUID,
    *,
    first: int = 10,
    after: str | None = None,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.Account:
    now = now_or(now)
    if not 0 <= first <= MAX_HISTORY_PAGE:
        raise InvalidInput(f"first must be between 0 and {MAX_HISTORY_PAGE}")
    before_seq = decode_cursor(after)
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
        rule_set = await book.in_force(conn, now, cached=True)
        while True:
            horizon = timedelta(
                days=(rule_set.tier_window_days + rule_set.tier_grace_days) if rule_set else 0
            )
            snapshot = await queries.account_snapshot(
                conn,
                member_id,
                since=now - horizon,
                until=now,
                limit=first + 1,
                before_seq=before_seq,
            )
            if snapshot.latest_rule_set == book.latest:
                break
            rule_set = await book.in_force(conn, now, latest=snapshot.latest_rule_set)
    progress = None
    if rule_set is not None and rule_set.tiers:
        entries = [tiers.StatusEntry(at, points) for at, points in snapshot.status]
        progress = tiers.tier_progress(rule_set, entries, now)
    rows = snapshot.history
    page = rows[:first]
    expiry = snapshot.next_expiry
    return contract.Account(
        member_id=snapshot.member,
        balance=snapshot.available,
        pending=snapshot.pending,
        pending_releases=[
            contract.PendingRelease(points=p, available_at=t) for t, p in snapshot.pending_releases
        ],
        next_expiry=contract.PendingRelease(points=expiry[1], available_at=expiry[0])
        if expiry
        else None,
        tier=_progress_view(progress, locale),
        history=contract.HistoryPage(
            entries=[entry_view(r, locale) for r in page],
            end_cursor=encode_cursor(page[-1].seq) if page else None,
            has_next_page=len(rows) > first,
        ),
    )
