"""The public schema: the areas composed, with limits, caches and error masking.

Each area of the schema (``identity``, ``loyalty``, ...) is a module with a ``Query`` and/or a
``Mutation`` class; to plug in another area, add its module to ``AREAS``. Two areas defining the
same field name is an error at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from graphql_schema import identity, limits, loyalty
from graphql_schema.errors import PublicErrors, is_unexpected
from services.common.settings import Settings

AREAS = (identity, loyalty)

Query = merge_types("Query", tuple(a.Query for a in AREAS if hasattr(a, "Query")))
Mutation = merge_types("Mutation", tuple(a.Mutation for a in AREAS if hasattr(a, "Mutation")))

CACHE_SIZE = 512  # distinct documents whose parse and validation are remembered


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any | None = None
    ) -> None:
        """Log only the unexpected: coded errors and bad queries are the client's business."""
        unexpected = [e for e in errors if is_unexpected(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    """Extensions run once per operation (none per field). They are given as factories, so every
    request gets fresh instances; the caches behind them are shared and bounded."""
    rules = limits.validation_rules(settings)  # once: the validation cache is keyed by the rules
    extensions: list[Callable[[], SchemaExtension]] = [
        limits.token_limit(settings),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        lambda: PublicErrors(mask=not settings.is_development),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not settings.is_development),
    )
