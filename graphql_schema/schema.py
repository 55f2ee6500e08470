"""The public schema: the areas composed, with limits, caches and error masking.

Each area of the schema (``members``, ``sessions``, ``organisations``, ``rules``, ``earning``,
``accounts``, ``rewards``, ``experiences``, ``invitations``, ``door``, ``referrals``,
``partner_webhooks``) is a module with a ``Query`` and/or a ``Mutation`` class; to plug in
another area, add its module to ``AREAS``. A larger area (``members``, ``rewards``,
``experiences``) is a package with a module per concern; its own ``AREAS`` lists the modules that
bring operations. Two areas defining the same field name is an error at import time. What several
areas share is in ``types`` (types) and ``common`` (resolver helpers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
import structlog
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

from graphql_schema import (
    accounts,
    budgets,
    door,
    earning,
    experiences,
    invitations,
    limits,
    members,
    organisations,
    partner_webhooks,
    referrals,
    rewards,
    rules,
    sessions,
    verification,
)
from graphql_schema.errors import PublicErrors, is_unexpected
from graphql_schema.scalars import SCALAR_MAP
from services.common.settings import Settings

AREAS = (
    *members.AREAS,
    sessions,
    organisations,
    accounts,
    rules,
    *rewards.AREAS,
    earning,
    *experiences.AREAS,
    invitations,
    door,
    referrals,
    partner_webhooks,
    verification,
)

# The operations keep the order in which they were published, which is what introspection and
# GraphiQL's documentation show (and what ``schema.graphql`` records). An operation not listed
# here comes after these, in the order of ``AREAS``.
PUBLISHED_ORDER = {
    "Query": (
        "me",
        "programme_stats",
        "reward_rules",
        "tiers",
        "rewards",
        "simulate_earn",
        "experience",
        "experiences",
        "partner_referrals",
        "partner_webhook_deliveries",
    ),
    "Mutation": (
        "register_member",
        "login",
        "refresh_session",
        "link_identifier",
        "update_contact_preferences",
        "merge_members",
        "export_my_data",
        "erase_me",
        "create_venue",
        "create_partner",
        "create_staff_account",
        "issue_partner_api_key",
        "revoke_partner_api_key",
        "record_earn_event",
        "reverse_earn_event",
        "redeem_reward",
        "publish_rule_set",
        "create_reward",
        "update_reward",
        "retire_reward",
        "create_experience",
        "update_experience",
        "cancel_experience",
        "issue_invitations",
        "respond_to_invitation",
        "redeem_invitation",
        "redeem_invitations",
        "rate_experience",
        "register_referral",
        "set_partner_webhook",
        "rotate_partner_webhook_secret",
        "set_partner_scope",
        "request_identifier_verification",
        "verify_identifier",
    ),
}


def _root(name: str) -> type:
    """The areas' ``Query`` (or ``Mutation``) classes merged into one, in the published order."""
    root = merge_types(name, tuple(getattr(a, name) for a in AREAS if hasattr(a, name)))
    published = PUBLISHED_ORDER[name]
    fields = root.__strawberry_definition__.fields  # type: ignore[attr-defined]
    fields.sort(key=lambda f: published.index(f.name) if f.name in published else len(published))
    return root


Query = _root("Query")
Mutation = _root("Mutation")

CACHE_SIZE = 512  # distinct documents whose parse and validation are remembered

log = structlog.get_logger("graphql_schema")


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any | None = None
    ) -> None:
        """Log only the unexpected: coded errors and bad queries are the client's business.

        A line names the operation and the field's path, with the exception behind it; never
        the document nor its variables, which may hold credentials."""
        operation = getattr(execution_context, "operation_name", None)
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "unexpected error in a GraphQL field",
                    operation=operation,
                    path=error.path,
                    exc_info=error.original_error or error,
                )


def build_schema(settings: Settings) -> strawberry.Schema:
    """Extensions run once per operation (none per field). They are given as factories, so every
    request gets fresh instances; the caches behind them are shared and bounded."""
    rules = limits.validation_rules(settings)  # once: the validation cache is keyed by the rules
    costs = budgets.OperationCosts()
    extensions: list[Callable[[], SchemaExtension]] = [
        limits.token_limit(settings),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        lambda: budgets.SpendBudget(costs, settings.max_query_cost),
        lambda: PublicErrors(suggestions=settings.is_development),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(
            disable_field_suggestions=not settings.is_development, scalar_map=SCALAR_MAP
        ),
    )
