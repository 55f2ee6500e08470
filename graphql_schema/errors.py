"""Errors of the public API.

Expected outcomes are members of result unions, each implementing ``UserError``. Everything
else is a GraphQL error with a stable ``extensions.code``: bad input, missing or insufficient
credentials, queries over the limits. Unexpected errors are masked outside development.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INVALID_INPUT = "INVALID_INPUT"
NOT_FOUND = "NOT_FOUND"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
INTERNAL = "INTERNAL_ERROR"


@strawberry.interface(description="An expected outcome that is not a success.")
class UserError:
    message: str
    code: str


class ApiError(Exception):
    """A GraphQL error the client is meant to see, with a stable code."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = {"code": code, **extensions}


def unauthenticated(message: str = "sign in to do this") -> ApiError:
    return ApiError(UNAUTHENTICATED, message)


def forbidden(message: str = "you may not do this") -> ApiError:
    return ApiError(FORBIDDEN, message)


def invalid_input(message: str, **extensions: Any) -> ApiError:
    return ApiError(INVALID_INPUT, message, **extensions)


_COMPLEXITY = ("exceeds maximum operation depth", "aliases found", "more than", "tokens")


def request_error_code(message: str) -> str:
    return QUERY_TOO_COMPLEX if any(marker in message for marker in _COMPLEXITY) else INVALID_INPUT


class PublicErrors(MaskErrors):
    """Give every error a code; mask unexpected ones unless ``mask`` is off (development)."""

    def __init__(self, *, mask: bool) -> None:
        super().__init__(should_mask_error=self._should_mask, error_message="Unexpected error.")
        self.mask = mask

    @staticmethod
    def _about_the_request(error: GraphQLError) -> bool:
        """Syntax, validation and variable errors come before execution: they have no path."""
        return error.path is None and not isinstance(error.original_error, ApiError)

    def _should_mask(self, error: GraphQLError) -> bool:
        original = error.original_error
        return (
            self.mask
            and original is not None
            and not isinstance(original, ApiError)
            and not self._about_the_request(error)
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            original = error.original_error
            if isinstance(original, ApiError):
                error.extensions = {**(error.extensions or {}), **original.extensions}
            elif not (error.extensions or {}).get("code"):
                if original is None or self._about_the_request(error):
                    code = request_error_code(error.message)
                else:
                    code = INTERNAL
                error.extensions = {**(error.extensions or {}), "code": code}
        return processed

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
