"""What one request may ask: its body size, its document's tokens, depth and aliases; and what
its strings may hold (no control characters, see ``services.common.text``).

Limit refusals carry ``extensions.code = QUERY_TOO_COMPLEX`` and ``extensions.limit`` (``depth``,
``aliases``, ``cost`` or ``tokens``). The validation rules are built once per schema: strawberry's
validation cache is keyed by the rules, so new rule classes per request would never hit it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
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
        cost_limit(settings.max_query_cost),
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


#: What a page size given by a variable is assumed to be (the largest page a list gives).
ASSUMED_PAGE = 100
_MAX_NESTING = 64


def cost_limit(max_cost: int) -> type[ASTValidationRule]:
    """A rule refusing operations that would cost more than ``max_cost``.

    An operation's cost counts every field it asks for, as many times as it would be resolved:
    a field with a ``first`` argument (a page of history, of referrals...) multiplies the cost of
    what is asked inside it by ``first`` (its default when left out, and never less than 1).
    Fragments count where they are spread. So 14 aliased ``history(first: 100)`` cost 14 times a
    hundred entries, whatever the depth, alias and token limits allow.

    Validation cannot see the variables' values: a page size given by a variable counts as the
    variable's default there, else ``ASSUMED_PAGE``. The operation is judged again with the
    values sent before it runs (``budgets.SpendBudget``), so a small default cannot smuggle a
    large page past this limit."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = operation_cost(self.context.schema, self.context.document, node)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        over_cost_message(cost, max_cost),
                        node,
                        extensions={"code": QUERY_TOO_COMPLEX, "limit": "cost", "cost": cost},
                    )
                )

    return CostLimit


def over_cost_message(cost: int, max_cost: int) -> str:
    return (
        f"this operation would cost {cost}, over the limit of {max_cost}: ask for fewer items "
        "(first) or fewer fields"
    )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, object] | None = None,
) -> int:
    """What ``operation`` (one of ``document``'s) costs: see ``cost_limit``. ``variables``: the
    values sent, when they are known (at execution); the per-caller budgets spend that figure
    (see ``budgets``)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {
        f.name.value: f for f in document.definitions if isinstance(f, FragmentDefinitionNode)
    }
    pages: dict[str, int] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if variables is not None and name in variables:
            pages[name] = _page(variables[name])
        elif isinstance(definition.default_value, IntValueNode):
            pages[name] = _page(int(definition.default_value.value))
    return _cost(schema, root, operation.selection_set, 1, fragments, pages, set(), 0)


def _page(value: object) -> int:
    """A page size as counted: at least 1 (a negative page refunds nothing); ``ASSUMED_PAGE``
    when it is not a number (null: the field's own default, at most that)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 1)
    return ASSUMED_PAGE


def _page_size(field: FieldNode, definition: GraphQLField | None, pages: dict[str, int]) -> int:
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value = argument.value
            if isinstance(value, IntValueNode):
                return _page(int(value.value))
            if isinstance(value, VariableNode):
                return pages.get(value.name.value, ASSUMED_PAGE)
            return ASSUMED_PAGE
    argument_definition = None if definition is None else definition.args.get("first")
    if argument_definition is not None and isinstance(argument_definition.default_value, int):
        return max(argument_definition.default_value, 1)
    return 1


def _cost(
    schema: GraphQLSchema,
    parent: GraphQLNamedType,
    selections: SelectionSetNode | None,
    multiplier: int,
    fragments: dict[str, FragmentDefinitionNode],
    pages: dict[str, int],
    spreading: set[str],
    nesting: int,
) -> int:
    if selections is None:
        return 0
    if nesting > _MAX_NESTING:  # the depth limit refuses such a document anyway
        return multiplier
    total = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            fields = getattr(parent, "fields", {})
            definition = fields.get(selection.name.value)
            child = get_named_type(definition.type) if definition is not None else parent
            inner = multiplier * _page_size(selection, definition, pages)
            total += multiplier + _cost(
                schema,
                child,
                selection.selection_set,
                inner,
                fragments,
                pages,
                spreading,
                nesting + 1,
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in spreading:  # unknown or cyclic: other rules say so
                continue
            condition = schema.get_type(fragment.type_condition.name.value) or parent
            total += _cost(
                schema,
                condition,
                fragment.selection_set,
                multiplier,
                fragments,
                pages,
                spreading | {name},
                nesting + 1,
            )
        elif isinstance(selection, InlineFragmentNode):
            condition = (
                schema.get_type(selection.type_condition.name.value)
                if selection.type_condition is not None
                else None
            ) or parent
            total += _cost(
                schema,
                condition,
                selection.selection_set,
                multiplier,
                fragments,
                pages,
                spreading,
                nesting + 1,
            )
    return total
