"""Helpers the schema areas' resolvers share: ids and languages to and from GraphQL, parsing
input into contract models, and turning a service's problem into a coded GraphQL error when it
is not one of the operation's expected outcomes.

The types several areas share are in ``types``; the error machinery is in ``errors``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.errors import (
    FORBIDDEN,
    INVALID_INPUT,
    NOT_FOUND,
    RATE_LIMITED,
    UNAUTHENTICATED,
    ApiError,
    invalid_input,
)

M = TypeVar("M", bound=BaseModel)

if TYPE_CHECKING:
    from graphql_schema.context import Info


def graphql_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))


def parse_uuid(raw: object, name: str) -> uuid.UUID:
    """A UUID from the client (or a token's subject); anything else is ``INVALID_INPUT``."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise invalid_input(f"{name} must be a UUID") from None


def locale_code(locale: Any, fallback: str = "en") -> str:
    """The language a ``Locale`` argument asks for, ``fallback`` when none is given."""
    return locale.value if locale is not None else fallback


def build(model: type[M], **fields: Any) -> M:
    """A contract model from GraphQL input; bad input becomes ``INVALID_INPUT`` with details,
    before any service is called."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise invalid_input(f"the input is not valid ({summary})", errors=errors) from None


def unexpected(problem: ServiceProblem) -> ApiError:
    """A service problem that is not one of the operation's expected outcomes, as a coded error.

    The service's own code travels as ``extensions.reason`` (``INVALID_EMAIL``, ...).
    """
    details = {k: v for k, v in problem.details.items() if k not in ("code", "reason")}
    if problem.status in (400, 422):
        return ApiError(INVALID_INPUT, problem.message, reason=problem.code, **details)
    if problem.status == 401:
        return ApiError(UNAUTHENTICATED, problem.message, reason=problem.code)
    if problem.status == 403:
        return ApiError(FORBIDDEN, problem.message, reason=problem.code)
    if problem.status in (404, 410):
        return ApiError(NOT_FOUND, problem.message, reason=problem.code)
    if problem.status == 429:
        return ApiError(RATE_LIMITED, problem.message, reason=problem.code, **details)
    return ApiError(problem.code, problem.message, **details)  # a conflict, by its own code


async def venue_name(info: Info, venue_id: uuid.UUID) -> str | None:
    """A venue's name, through the request's loader (``None`` if identity has no such venue)."""
    try:
        return (await info.context.loaders.venue.load(venue_id)).name
    except ServiceProblem:
        return None
