"""Errors of the public API.

Expected outcomes are members of result unions, each implementing ``UserError``. Everything
else is a GraphQL error with a stable ``extensions.code``:

- ``INVALID_INPUT``: the request is malformed or its input is not valid (nothing was written);
- ``QUERY_TOO_COMPLEX``: the document is over a limit (depth, aliases, tokens);
- ``UNAUTHENTICATED`` / ``FORBIDDEN``: missing, bad or insufficient credentials;
- ``RATE_LIMITED``: the caller's budget is spent (HTTP 429, ``Retry-After`` and
  ``retryAfterSeconds``; see ``budgets``), or a service throttled the call;
- ``NOT_FOUND`` and a service's own conflict codes;
- ``INTERNAL_ERROR``: anything unexpected, masked in every environment (its details, which may
  name SQL, parameters or exception texts, go to the log only, redacted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from services.common.logs import names_a_credential, redact_text

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
INVALID_INPUT = "INVALID_INPUT"
NOT_FOUND = "NOT_FOUND"
RATE_LIMITED = "RATE_LIMITED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
INTERNAL = "INTERNAL_ERROR"
MASKED_MESSAGE = "Unexpected error."

_PARSER_LIMIT = "Parsing aborted."  # graphql-core's parser: too many tokens, or nested too deep
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


@strawberry.interface(description="An expected outcome that is not a success.")
class UserError:
    message: str = strawberry.field(description="What happened, in plain words.")
    code: str = strawberry.field(description="A stable code, for programs.")


class ApiError(Exception):
    """A GraphQL error the client is meant to see, with a stable code."""

    def __init__(self, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extensions: dict[str, Any] = {"code": code, **extensions}


def unauthenticated(message: str = "sign in to do this") -> ApiError:
    return ApiError(UNAUTHENTICATED, message)


def forbidden(message: str = "you may not do this") -> ApiError:
    return ApiError(FORBIDDEN, message)


def invalid_input(message: str, **extensions: Any) -> ApiError:
    return ApiError(INVALID_INPUT, message, **extensions)


def about_the_request(error: GraphQLError) -> bool:
    """Syntax, validation and variable errors come before execution: they have no path."""
    return error.path is None and not isinstance(error.original_error, ApiError)


def request_error_code(message: str, extensions: Mapping[str, Any] | None = None) -> str:
    """The code of an error found before execution (the limits' rules set theirs; the parser's
    own limits only say so in words)."""
    code = (extensions or {}).get("code")
    if isinstance(code, str):
        return code
    return QUERY_TOO_COMPLEX if _PARSER_LIMIT in message else INVALID_INPUT


def is_unexpected(error: GraphQLError) -> bool:
    """A failure during execution that is not one of ours: a bug or an unavailable service."""
    return not about_the_request(error) and not isinstance(error.original_error, ApiError)


_INVALID_AT = re.compile(r"(?P<head>Variable '\$\w+' has invalid value at \S*?(?P<last>\w+)): ")


def without_credentials(message: str) -> str:
    """A request error's message as sent back: graphql-core repeats the values it refused (a
    whole input object when a field is missing or unknown, the field's value when its type is
    wrong); a credential among them (a password, a one-time code) is withheld, so it never
    travels back into a client's, a proxy's or a browser's logs."""
    invalid_at = _INVALID_AT.match(message)
    if invalid_at and names_a_credential(invalid_at["last"]):
        return f"{invalid_at['head']}: not a valid value (not repeated: it is a credential)."
    return redact_text(message)


def without_suggestions(message: str) -> str:
    """graphql-core's message without its hints at the schema ("Did you mean 'first'?")."""
    return _SUGGESTION.sub("", message)


class PublicErrors(MaskErrors):
    """Give every error a code; mask the unexpected ones, in development too; outside
    development (``suggestions`` off), drop the hints at the schema that validation and
    variable errors give (names of arguments, input fields, types and enum values).

    Runs once per operation (not per field), after execution.
    """

    def __init__(self, *, suggestions: bool = True) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message=MASKED_MESSAGE)
        self.suggestions = suggestions

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
            elif about_the_request(error):
                code = request_error_code(error.message, error.extensions)
                error.extensions = {**(error.extensions or {}), "code": code}
                error.message = without_credentials(error.message)
                if not self.suggestions:
                    error.message = without_suggestions(error.message)
            else:
                error.extensions = {**(error.extensions or {}), "code": INTERNAL}
        return processed
