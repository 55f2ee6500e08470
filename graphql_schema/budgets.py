"""Per-caller budgets: every operation spends what it costs (``limits.operation_cost``, the
figure the cost limit judges) from its caller's budget for the window, before it is executed.
So 50 aliased ``login`` calls spend 50 times what one does, and a few clients repeating the
costliest documents they may send cannot take the gateway from everyone else.

The caller is the account behind the request: a member, a staff or admin account, a partner's
API key; anonymous callers (and callers whose credentials are refused) are told apart by their
address, an IPv6 address by its /64 network (what one subscriber is given). Behind a proxy the
address is the proxy's, unless ``LOYALTY_TRUSTED_PROXIES`` names it (see ``app``).

A caller whose budget is spent is answered ``RATE_LIMITED`` (HTTP 429, ``Retry-After``, and
``retryAfterSeconds`` in the error's extensions) and nothing is executed; a refused operation
spends nothing. The window opens with the caller's first operation (the ``limits`` package's
fixed window); its storage is in memory by default, one budget per gateway replica. That
storage looks over every caller's window at each operation it counts: measured on one core,
about 15 µs an operation with 10 callers in the window, 130 µs with 1,000 and 0.9 ms with
10,000. A gateway with many thousands of callers a minute shares a storage of its own
(``LOYALTY_RATE_LIMIT_STORAGE``) between its replicas.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import AsyncIterator

from graphql import GraphQLError, get_operation_ast
from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult

from graphql_schema.auth import Principal
from graphql_schema.errors import QUERY_TOO_COMPLEX, RATE_LIMITED, ApiError
from graphql_schema.limits import operation_cost, over_cost_message
from services.common.actor import ActorKind
from services.common.settings import Settings

#: How many documents' costs are remembered (as many as strawberry's parser cache holds).
COSTS_REMEMBERED = 512


class CallerBudgets:
    """Each caller's budget: ``per_window`` units of cost every ``window_seconds``."""

    def __init__(self, per_window: int, window_seconds: int, storage: str) -> None:
        self.per_window = per_window
        store = storage_from_string(storage)
        if not isinstance(store, Storage):
            raise ValueError(f"the budgets need an asynchronous storage (async+...), not {storage}")
        self._limiter = FixedWindowRateLimiter(store)
        self._item = RateLimitItemPerSecond(max(per_window, 1), window_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> CallerBudgets:
        return cls(
            settings.rate_limit_cost_per_window,
            settings.rate_limit_window_seconds,
            settings.rate_limit_storage,
        )

    async def spend(self, caller: str, cost: int) -> int | None:
        """Spend ``cost`` from ``caller``'s budget: ``None`` if it was there, else the seconds
        until the window closes (nothing is spent then)."""
        if self.per_window == 0:  # no budgets
            return None
        cost = max(cost, 1)  # nothing is free, and nothing gives back
        if await self._limiter.test(self._item, caller, cost=cost) and await self._limiter.hit(
            self._item, caller, cost=cost
        ):
            return None
        stats = await self._limiter.get_window_stats(self._item, caller)
        return max(math.ceil(stats.reset_time - time.time()), 1)


def caller_key(principal: Principal | ApiError, request: Request) -> str:
    """Whose budget a request spends: its account's, or its address's."""
    if isinstance(principal, Principal) and principal.kind is not ActorKind.ANONYMOUS:
        if principal.kind is ActorKind.PARTNER:
            return f"partner-key:{principal.key_id or principal.id}"
        return f"{principal.kind.value}:{principal.id}"
    return f"address:{address_key(request.client.host if request.client else None)}"


def address_key(host: str | None) -> str:
    """An IPv4 address as it is; an IPv6 address by its /64 network."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class OperationCosts:
    """The cost of each document's operation, remembered (bounded) by its text."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str | None, tuple[tuple[str, object], ...]], int] = {}

    def of(self, execution: ExecutionContext) -> int:
        """The cost with the values of the variables sent (a page size may be one)."""
        variables = execution.variables or {}
        pages = tuple(
            sorted((k, v) for k, v in variables.items() if v is None or isinstance(v, int))
        )
        key = (execution.query or "", execution.operation_name, pages)
        cost = self._known.get(key)
        if cost is None:
            document = execution.graphql_document
            operation = None if document is None else get_operation_ast(document, key[1])
            if document is None or operation is None:
                return 1  # pragma: no cover - only valid documents are executed
            cost = operation_cost(execution.schema._schema, document, operation, variables)
            if len(self._known) >= COSTS_REMEMBERED:
                self._known.clear()
            self._known[key] = cost
        return cost


class SpendBudget(SchemaExtension):
    """Once an operation is valid, before it runs: judges its cost again with the variables'
    values (validation saw only their defaults: ``limits.cost_limit``), then spends it from its
    caller's budget."""

    def __init__(self, costs: OperationCosts, max_cost: int) -> None:
        self.costs = costs
        self.max_cost = max_cost

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        cost = self.costs.of(execution)
        refusal: ApiError | None = None
        if cost > self.max_cost:
            refusal = ApiError(
                QUERY_TOO_COMPLEX, over_cost_message(cost, self.max_cost), limit="cost", cost=cost
            )
        else:
            caller = caller_key(await context.principal(), context.request)
            retry_after = await context.services.budgets.spend(caller, cost)
            if retry_after is not None:
                context.request.state.retry_after = retry_after
                refusal = rate_limited(retry_after)
        if refusal is not None:
            execution.result = ExecutionResult(
                data=None,
                errors=[GraphQLError(refusal.message, original_error=refusal)],
            )
        yield


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        RATE_LIMITED,
        f"this caller has spent its budget for now: try again in {retry_after} seconds",
        retryAfterSeconds=retry_after,
    )
