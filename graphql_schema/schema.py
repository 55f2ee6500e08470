"""The public schema: the areas composed, with limits, caches and error masking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.tools import merge_types

from graphql_schema import identity, loyalty
from graphql_schema.errors import ApiError, PublicErrors
from services.common.settings import Settings

Query = merge_types("Query", (identity.Query, loyalty.Query))
Mutation = merge_types("Mutation", (identity.Mutation, loyalty.Mutation))


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only the unexpected: coded errors and bad queries are the client's business."""
        unexpected = [
            e
            for e in errors
            if e.path is not None
            and e.original_error is not None
            and not isinstance(e.original_error, ApiError)
        ]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, so that every request gets fresh extensions. The limits' validation rules are
    # built once: the validation cache is keyed by the rules, so new classes would never hit it.
    limits = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(limits),
        lambda: ValidationCache(maxsize=256),
        lambda: PublicErrors(mask=not settings.is_development),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,  # type: ignore[arg-type]
        config=strawberry.schema.config.StrawberryConfig(
            disable_field_suggestions=not settings.is_development
        ),
    )
