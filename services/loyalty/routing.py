"""What every capability's routes read from a request: the service's resources, the caller, and
parameters checked with a clear message. Routes parse, call one use case, and serialise."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput
from services.loyalty import contract
from services.loyalty.contract import Locale

INTERNAL = "/internal"


def engine(request: Request) -> AsyncEngine:
    found: AsyncEngine = request.app.state.engine
    return found


def actor(request: Request) -> Actor:
    return Actor.from_headers(request.headers)


def uuid_of(value: str | None, name: str) -> UUID:
    try:
        return UUID(value or "")
    except ValueError:
        raise InvalidInput(f"{name} must be a UUID") from None


def locale(request: Request) -> Locale:
    try:
        return Locale(request.query_params.get("locale", "en"))
    except ValueError:
        raise InvalidInput("locale must be one of en, fr") from None


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer") from None


def require_admin(actor: Actor) -> None:
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(contract.ProblemCode.FORBIDDEN, "admins only")
