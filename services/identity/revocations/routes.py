"""Revocations' internal HTTP route: the gateways' long-poll."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http import reply
from services.common.problems import InvalidInput
from services.identity.revocations import use_cases
from services.identity.routing import INTERNAL, engine

MAX_CURSOR = 2**63 - 1


def _cursor(request: Request) -> int | None:
    raw = request.query_params.get("after")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_CURSOR:
        raise InvalidInput("after must be a revocation id (a whole number)")
    return int(raw)


def _wait(request: Request) -> float:
    raw = request.query_params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise InvalidInput("wait must be a number of seconds") from None
    if not math.isfinite(wait) or not 0 <= wait <= use_cases.MAX_WAIT_SECONDS:
        raise InvalidInput(f"wait must be between 0 and {use_cases.MAX_WAIT_SECONDS:g} seconds")
    return wait


async def revocations(request: Request) -> Response:
    cursor, wait = _cursor(request), _wait(request)
    signal = request.app.state.revocation_signal
    return reply(await use_cases.follow(engine(request), signal, cursor, wait))


routes = [Route(f"{INTERNAL}/revocations", revocations, methods=["GET"])]
