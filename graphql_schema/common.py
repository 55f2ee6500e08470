"""Helpers the schema areas share: parsing input into contract models, and turning a service's
problem into a coded GraphQL error when it is not an expected outcome."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.errors import (
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHENTICATED,
    ApiError,
    invalid_input,
)

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], **fields: Any) -> M:
    """A contract model from GraphQL input; bad input becomes ``INVALID_INPUT`` with details."""
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
    """A service problem that is not one of the operation's expected outcomes."""
    if problem.status == 422:
        return ApiError(problem.code, problem.message, **problem.details)
    if problem.status == 401:
        return ApiError(UNAUTHENTICATED, problem.message)
    if problem.status == 403:
        return ApiError(FORBIDDEN if problem.code == "FORBIDDEN" else problem.code, problem.message)
    if problem.status == 404:
        return ApiError(NOT_FOUND, problem.message, reason=problem.code)
    return ApiError(problem.code, problem.message)
