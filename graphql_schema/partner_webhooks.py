# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Partners' webhooks: where the referral events go (HTTPS; plain HTTP to a loopback address
only where an admin allowed it, for testing), the secret that signs them (Standard Webhooks),
its rotation, and the log of every delivery and attempt. A partner manages its own; an admin
names the partner."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError, invalid_input
from services.common.actor import ActorKind
from services.loyalty.referrals import contract as rc

strawberry.enum(rc.DeliveryStatus, name="WebhookDeliveryStatus")
MAX_PAGE = 100


@strawberry.type
class PartnerWebhook:
    partner_id: strawberry.ID
    url: str
    secret: str | None = strawberry.field(
        description="Shown when first set and when rotated, never again: keep it."
    )
    previous_secret_valid_until: dt.datetime | None = strawberry.field(
        description="After a rotation, messages are signed with both secrets until then."
    )
    loopback_http_allowed: bool
    updated_at: dt.datetime

    @classmethod
    def of(cls, w: rc.WebhookSettings) -> PartnerWebhook:
        return cls(**{**w.model_dump(), "partner_id": graphql_id(w.partner_id)})


@strawberry.type(
    description="WEBHOOK_URL_REFUSED (not HTTPS, or a loopback address not allowed), "
    "NO_WEBHOOK (rotating before setting one)."
)
class WebhookRefused(UserError):
    pass


@strawberry.type
class WebhookAttempt:
    attempted_at: dt.datetime
    url: str
    status_code: int | None
    error: str | None
    duration_ms: int


@strawberry.type
class WebhookDelivery:
    id: strawberry.ID
    message_id: str = strawberry.field(description="The webhook-id header, same on every retry.")
    event_type: str
    referral_id: strawberry.ID
    status: rc.DeliveryStatus
    attempts: list[WebhookAttempt]
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    gave_up_at: dt.datetime | None
    give_up_reason: str | None

    @classmethod
    def of(cls, d: rc.Delivery) -> WebhookDelivery:
        return cls(
            **{
                **d.model_dump(exclude={"attempts"}),
                "id": graphql_id(d.id),
                "referral_id": graphql_id(d.referral_id),
            },
            attempts=[WebhookAttempt(**a.model_dump()) for a in d.attempts],
        )


PartnerWebhookResult = Annotated[
    PartnerWebhook | WebhookRefused, strawberry.union("PartnerWebhookResult")
]


@strawberry.input
class SetPartnerWebhookInput:
    url: str
    partner_id: strawberry.ID | None = strawberry.field(default=None, description="Admins.")
    allow_loopback_http: bool | None = strawberry.field(
        default=None, description="Admins: allow plain HTTP to a loopback address (testing)."
    )


@strawberry.input
class RotatePartnerWebhookSecretInput:
    partner_id: strawberry.ID | None = strawberry.field(default=None, description="Admins.")


def _partner(raw: strawberry.ID | None) -> str | None:
    return None if raw is None else str(parse_uuid(raw, "partnerId"))


@strawberry.type
class Query:
    @strawberry.field(
        description="Partners (their own) and admins: webhook deliveries, newest first."
    )
    async def partner_webhook_deliveries(
        self, info: Info, first: int = 20, partner_id: strawberry.ID | None = None
    ) -> list[WebhookDelivery]:
        principal = await info.context.require(ActorKind.PARTNER, ActorKind.ADMIN)
        if not 1 <= first <= MAX_PAGE:
            raise invalid_input(f"first is between 1 and {MAX_PAGE}")
        partner = None if partner_id is None else parse_uuid(partner_id, "partnerId")
        try:
            found = await info.context.loyalty.webhook_deliveries(principal.actor, partner, first)
        except ServiceProblem as problem:
            raise unexpected(problem) from None
        return [WebhookDelivery.of(d) for d in found]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Partners (their own) and admins: where webhooks are sent.")
    async def set_partner_webhook(
        self, info: Info, input: SetPartnerWebhookInput
    ) -> PartnerWebhookResult:
        principal = await info.context.require(ActorKind.PARTNER, ActorKind.ADMIN)
        body = build(
            rc.SetWebhook,
            url=input.url,
            partner_id=_partner(input.partner_id),
            allow_loopback_http=input.allow_loopback_http,
        )
        try:
            settings = await info.context.loyalty.set_webhook(principal.actor, body)
        except ServiceProblem as problem:
            if problem.code == rc.ReferralProblem.WEBHOOK_URL_REFUSED:
                return WebhookRefused(code=problem.code, message=problem.message)
            raise unexpected(problem) from None
        return PartnerWebhook.of(settings)

    @strawberry.mutation(
        description="A new signing secret, shown once; the previous one still signs for a day."
    )
    async def rotate_partner_webhook_secret(
        self, info: Info, input: RotatePartnerWebhookSecretInput
    ) -> PartnerWebhookResult:
        principal = await info.context.require(ActorKind.PARTNER, ActorKind.ADMIN)
        body = build(rc.RotateSecret, partner_id=_partner(input.partner_id))
        try:
            settings = await info.context.loyalty.rotate_webhook_secret(principal.actor, body)
        except ServiceProblem as problem:
            if problem.code == rc.ReferralProblem.NO_WEBHOOK:
                return WebhookRefused(code=problem.code, message=problem.message)
            raise unexpected(problem) from None
        return PartnerWebhook.of(settings)
