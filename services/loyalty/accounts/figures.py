"""The programme's figures, derived from the ledger: the outstanding points liability and the
movements behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.uow import UnitOfWork
from services.loyalty import contract, ledger
from services.loyalty.accounts import queries
from services.loyalty.journal.entries import now_or


async def liability(engine: AsyncEngine, *, now: datetime | None = None) -> contract.Liability:
    async with UnitOfWork(engine) as uow:
        moves = await queries.programme_movements(uow.conn)
    issued = -moves.get(("issued", "earn"), 0)
    reversed_ = moves.get(("issued", "reverse"), 0)
    redeemed = moves.get(("redeemed", "redeem"), 0)
    expired = moves.get(("expired", "expire"), 0)
    outstanding = ledger.liability(
        {
            ledger.AccountKind(kind): total
            for kind in ("issued", "redeemed", "expired")
            for total in [sum(v for (a, _), v in moves.items() if a == kind)]
        }
    )
    return contract.Liability(
        outstanding=outstanding,
        issued=issued,
        redeemed=redeemed,
        expired=expired,
        reversed=reversed_,
        as_of=now_or(now),
    )
