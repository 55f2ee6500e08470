"""Helpers the schema areas share: parsing input into contract models, and turning a service's
problem into a coded GraphQL error when it is not one of the operation's expected outcomes."""

from __future__ import annotations

from typing import Any, TypeVar

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
