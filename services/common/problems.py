"""Expected failures of a use case, each with a stable code; the internal APIs send them as JSON.

A ``Problem`` is not a crash: the gateway turns each code into a typed member of a result union.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ProblemBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class Problem(Exception):
    """An expected outcome that is not success: ``code`` is stable and part of the contract."""

    status = 409

    def __init__(
        self, code: str, message: str, *, status: int | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        return ProblemBody(code=self.code, message=self.message, details=self.details).model_dump(
            mode="json"
        )


class NotFound(Problem):
    status = 404


class Forbidden(Problem):
    status = 403


class Unauthenticated(Problem):
    status = 401


class InvalidInput(Problem):
    status = 422

    def __init__(self, message: str, *, code: str = "INVALID_INPUT", **details: Any) -> None:
        super().__init__(code, message, **details)
