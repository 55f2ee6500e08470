"""F2, the HTTP floor for the member dashboard: a minimal Starlette + asyncpg endpoint running
the dashboard's SQL (balances, status points by day, the last ten entries) and returning the same
data as JSON, with no authentication, no GraphQL and no service hop.

Run by ``dashboard.py`` with uvicorn; reads ``LOYALTY_BENCH_FLOOR_DSN``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BALANCES = "SELECT kind, balance FROM loyalty.accounts WHERE member_id = $1"
STATUS = (
    "SELECT max(occurred_at) AS at, sum(points) AS points FROM loyalty.award_lines "
    "WHERE member_id = $1 AND counts_for_status AND occurred_at > $2 AND occurred_at <= $3 "
    "GROUP BY local_day ORDER BY 1"
)
HISTORY = (
    "SELECT id, seq, kind, points, occurred_at, explanation FROM loyalty.journal_entries "
    "WHERE member_id = $1 ORDER BY seq DESC LIMIT 10"
)
TIERS = [("silver", 500), ("gold", 1500), ("platinum", 4000)]
WINDOW = timedelta(days=365)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["LOYALTY_BENCH_FLOOR_DSN"], min_size=10, max_size=10
    )
    yield
    await app.state.pool.close()


async def dashboard(request: Request) -> Response:
    member = request.path_params["member_id"]
    now = datetime.now(UTC)
    async with request.app.state.pool.acquire() as conn:
        balances = {r["kind"]: r["balance"] for r in await conn.fetch(BALANCES, member)}
        status = await conn.fetch(STATUS, member, now - WINDOW, now)
        history = await conn.fetch(HISTORY, member)
    points = sum(r["points"] for r in status)
    tier = next((key for key, threshold in reversed(TIERS) if points >= threshold), None)
    upcoming = next(((key, threshold) for key, threshold in TIERS if points < threshold), None)
    body: dict[str, Any] = {
        "balance": balances.get("available", 0),
        "pending": balances.get("pending", 0),
        "tier": tier,
        "progress": {
            "statusPoints": points,
            "next": upcoming[0] if upcoming else None,
            "pointsToNext": upcoming[1] - points if upcoming else None,
        },
        "history": [
            {
                "kind": r["kind"],
                "points": r["points"],
                "occurredAt": r["occurred_at"].isoformat(),
                "summary": json.loads(r["explanation"])["summary"]["en"],
                "lines": json.loads(r["explanation"])["lines"],
            }
            for r in history
        ],
    }
    return Response(json.dumps(body), media_type="application/json")


app = Starlette(routes=[Route("/dashboard/{member_id}", dashboard)], lifespan=lifespan)
