"""What one request may ask: its body size, its document's tokens, depth and aliases; and what
its strings may hold (no control characters, see ``services.common.text``).

Limit refusals carry ``extensions.code = QUERY_TOO_COMPLEX`` and ``extensions.limit`` (``depth``,
``aliases`` or ``tokens``). The validation rules are built once per schema: strawberry's
validation cache is keyed by the rules, so new rule classes per request would never hit it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import ASTValidationRule, GraphQLError, StringValueNode, ValidationContext
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from graphql_schema.errors import INVALID_INPUT, QUERY_TOO_COMPLEX, REQUEST_TOO_LARGE
from services.common.settings import Settings
from services.common.text import CONTROL_CHARACTER, forbidden_character

MAX_BODY_BYTES = 64 * 1024


def _coded(rule: type[ASTValidationRule], limit: str) -> type[ASTValidationRule]:
    """``rule``, with a code on the errors it reports (strawberry's limit rules report them
    while they are constructed)."""

    class CodedRule(rule):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            report = context.on_error

            def coded(error: GraphQLError) -> None:
                error.extensions = {**(error.extensions or {}), "code": QUERY_TOO_COMPLEX}
                error.extensions["limit"] = limit
                report(error)

            context.on_error = coded  # type: ignore[method-assign]
            try:
                super().__init__(context)
            finally:
                context.on_error = report  # type: ignore[method-assign]

    CodedRule.__name__ = CodedRule.__qualname__ = f"{limit.title()}Limit"
    return CodedRule


class NoControlCharacters(ASTValidationRule):
    """A string written in the document (``\\u0000`` escapes included) holds no control
    character; variables are checked by the view."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if forbidden_character(node.value) is not None:
            self.report_error(
                GraphQLError(
                    "a string in the document contains a control character, which is not allowed",
                    node,
                    extensions={"code": INVALID_INPUT, "reason": CONTROL_CHARACTER},
                )
            )


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    depth = QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules
    aliases = MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules
    return [
        *(_coded(r, "depth") for r in depth),
        *(_coded(r, "aliases") for r in aliases),
        NoControlCharacters,
    ]


def token_limit(settings: Settings) -> Callable[[], SchemaExtension]:
    """The parser stops after ``max_tokens`` tokens (comments count too)."""
    return lambda: MaxTokensLimiter(max_token_count=settings.max_tokens)


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with a 413, whether they announce their length
    or stream it in chunks, before GraphQL reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
                break
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _TooLarge:
            if started:  # pragma: no cover - the view reads the whole body before answering
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        body: dict[str, Any] = {
            "errors": [
                {
                    "message": f"the request body is over {self.max_bytes} bytes",
                    "extensions": {"code": REQUEST_TOO_LARGE},
                }
            ]
        }
        await JSONResponse(body, status_code=413)(scope, receive, send)


class _TooLarge(Exception):
    pass
