"""The loyalty service's referral routes, as the gateway calls them (mixed into ``LoyaltyClient``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from graphql_schema.clients.base import ServiceClient
from services.common.actor import Actor
from services.loyalty.referrals import contract as rc


class ReferralCalls(ServiceClient):
    async def referral_code(self, actor: Actor, member_id: UUID) -> rc.MemberCode:
        return rc.MemberCode.model_validate(
            await self.call("GET", f"/internal/members/{member_id}/referral-code", actor=actor)
        )

    async def check_referral_code(self, actor: Actor, code: str) -> rc.CodeCheck:
        return rc.CodeCheck.model_validate(
            await self.call("GET", "/internal/referral-codes", actor=actor, params={"code": code})
        )

    async def register_referral(
        self, actor: Actor, body: rc.RegisterReferral, locale: str
    ) -> rc.ReferralDecision:
        return rc.ReferralDecision.model_validate(
            await self.call(
                "POST", "/internal/referrals", actor=actor, json=body, params={"locale": locale}
            )
        )

    async def register_signup_referral(
        self, actor: Actor, body: rc.SignupReferral, locale: str
    ) -> rc.ReferralDecision:
        return rc.ReferralDecision.model_validate(
            await self.call(
                "POST",
                "/internal/referrals/signup",
                actor=actor,
                json=body,
                params={"locale": locale},
            )
        )

    async def register_guest_referral(
        self, actor: Actor, body: rc.GuestReferral
    ) -> rc.ReferralDecision:
        return rc.ReferralDecision.model_validate(
            await self.call("POST", "/internal/referrals/guest", actor=actor, json=body)
        )

    async def due_guests(self, actor: Actor, first: int) -> list[rc.DueGuest]:
        raw = await self.call(
            "POST", "/internal/referrals/guests/due", actor=actor, params={"first": first}
        )
        return [rc.DueGuest.model_validate(g) for g in raw]

    async def drop_guest(self, actor: Actor, body: rc.GuestDone) -> bool:
        found = await self.call("POST", "/internal/referrals/guests/drop", actor=actor, json=body)
        return bool(found["dropped"])

    async def partner_referrals(
        self, actor: Actor, *, first: int, after: str | None
    ) -> rc.PartnerReferrals:
        params: dict[str, Any] = {"first": first}
        if after is not None:
            params["after"] = after
        return rc.PartnerReferrals.model_validate(
            await self.call("GET", "/internal/partner/referrals", actor=actor, params=params)
        )

    async def member_referrals(
        self, actor: Actor, member_id: UUID, locale: str
    ) -> list[rc.MemberReferral]:
        raw = await self.call(
            "GET",
            f"/internal/members/{member_id}/referrals",
            actor=actor,
            params={"locale": locale},
        )
        return [rc.MemberReferral.model_validate(r) for r in raw]

    async def ambassadors(self, actor: Actor, *, first: int, locale: str) -> rc.AmbassadorBoard:
        return rc.AmbassadorBoard.model_validate(
            await self.call(
                "GET",
                "/internal/ambassadors",
                actor=actor,
                params={"first": first, "locale": locale},
            )
        )

    async def set_webhook(self, actor: Actor, body: rc.SetWebhook) -> rc.WebhookSettings:
        return rc.WebhookSettings.model_validate(
            await self.call("PUT", "/internal/partner/webhook", actor=actor, json=body)
        )

    async def rotate_webhook_secret(
        self, actor: Actor, body: rc.RotateSecret
    ) -> rc.WebhookSettings:
        return rc.WebhookSettings.model_validate(
            await self.call("POST", "/internal/partner/webhook/rotate", actor=actor, json=body)
        )

    async def webhook_deliveries(
        self, actor: Actor, partner_id: UUID | None, first: int
    ) -> list[rc.Delivery]:
        params: dict[str, Any] = {"first": first}
        if partner_id is not None:
            params["partner_id"] = str(partner_id)
        raw = await self.call(
            "GET", "/internal/partner/webhook/deliveries", actor=actor, params=params
        )
        return [rc.Delivery.model_validate(d) for d in raw]
