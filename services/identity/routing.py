"""What every capability's routes share: the engine, the caller, ids from the path, replies."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from services.common.actor import Actor
from services.common.http import reply
from services.common.problems import InvalidInput
from services.common.settings import Settings
from services.identity.outcome import Outcome

INTERNAL = "/internal"


def engine(request: Request) -> AsyncEngine:
    value: AsyncEngine = request.app.state.engine
    return value


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def actor(request: Request) -> Actor:
    return Actor.from_headers(request.headers)


def path_uuid(request: Request, name: str) -> UUID:
    try:
        return UUID(request.path_params[name])
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a UUID") from None


def created(outcome: Outcome[Any]) -> Response:
    """201 with the new thing, or 200 with the one an idempotent replay found."""
    value: BaseModel = outcome.value
    return reply(value, 201 if outcome.created else 200)
