"""What every capability that moves points shares: the member's accounts made ready and locked,
the account ids an entry posts to, the explanation texts, and an entry's public view."""

from __future__ import annotations

import hashlib
import json
import weakref
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.problems import Problem
from services.loyalty import contract, ledger
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.journal import queries


def now_or(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def both(en: str, fr: str) -> dict[str, str]:
    """A text in both of the programme's languages, as explanations store it."""
    return {"en": en, "fr": fr}


def points_en(points: int) -> str:
    return f"{points:+d} point{'s' if abs(points) != 1 else ''}"


def points_fr(points: int) -> str:
    return f"{points:+d} point{'s' if abs(points) > 1 else ''}"


def request_hash(fields: dict[str, Any]) -> str:
    """A fingerprint of a request, so that a key reused for a different request is refused."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def member_erased(member_id: UUID) -> Problem:
    """Identity erased this member: nothing new is earned, redeemed or checked in for them."""
    return Problem(
        ProblemCode.MEMBER_ERASED, "this member was erased", status=410, member_id=str(member_id)
    )


async def prepare_member(conn: AsyncConnection, member_id: UUID) -> tuple[UUID, queries.Balances]:
    """Resolve merges, create the member's accounts on first sight, and lock them."""
    member = await queries.survivor(conn, member_id)
    await queries.ensure_member(conn, member)
    locked = await queries.lock_accounts(conn, [member])
    return member, locked[member]


def account_ids(
    member_balances: dict[UUID, queries.Balances], programme: dict[ledger.AccountKind, int]
) -> dict[ledger.Account, int]:
    ids: dict[ledger.Account, int] = {ledger.Account(kind): i for kind, i in programme.items()}
    for member, b in member_balances.items():
        ids[ledger.available(member)] = b.available_id
        ids[ledger.pending(member)] = b.pending_id
    return ids


_PROGRAMME_IDS: weakref.WeakKeyDictionary[AsyncEngine, dict[ledger.AccountKind, int]] = (
    weakref.WeakKeyDictionary()
)


async def programme_ids(conn: AsyncConnection) -> dict[ledger.AccountKind, int]:
    """The programme's account ids, read once per engine (they never change)."""
    engine = conn.engine
    if engine not in _PROGRAMME_IDS:
        _PROGRAMME_IDS[engine] = await queries.programme_account_ids(conn)
    return _PROGRAMME_IDS[engine]


async def ids_for(
    conn: AsyncConnection, locked: dict[UUID, queries.Balances]
) -> dict[ledger.Account, int]:
    return account_ids(locked, await programme_ids(conn))


def entry_view(row: queries.EntryRow, locale: Locale = Locale.EN) -> contract.Entry:
    lang = locale.value
    explanation = row.explanation
    return contract.Entry(
        id=row.id,
        kind=contract.EntryKind(row.kind),
        points=row.points,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        source=row.source,
        external_id=row.external_id,
        actor=row.actor,
        rule_version=row.rule_version,
        reverses_entry_id=row.reverses_entry_id,
        summary=explanation["summary"][lang],
        lines=[
            contract.AwardLine(
                rule_key=line["rule_key"],
                rule_version=line["rule_version"],
                points=line["points"],
                reason=line["reason"][lang],
                pending_until=line["pending_until"],
                counts_for_status=line["counts_for_status"],
            )
            for line in explanation.get("lines", [])
        ],
    )
