"""The loyalty service, as the gateway calls it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from graphql_schema.clients.base import ServiceClient
from graphql_schema.clients.referrals import ReferralCalls
from services.common.actor import Actor
from services.loyalty import contract
from services.loyalty.experiences import contract as ec


class LoyaltyClient(ReferralCalls, ServiceClient):
    audience = "loyalty"

    async def earn(
        self, actor: Actor, body: contract.RecordEarn, locale: str
    ) -> contract.EarnOutcome:
        return contract.EarnOutcome.model_validate(
            await self.call(
                "POST", "/internal/earn", actor=actor, json=body, params={"locale": locale}
            )
        )

    async def simulate(self, actor: Actor, body: contract.SimulateEarn) -> contract.Award:
        return contract.Award.model_validate(
            await self.call("POST", "/internal/earn/simulate", actor=actor, json=body)
        )

    async def reverse(
        self, actor: Actor, body: contract.ReverseEarn, locale: str
    ) -> contract.ReverseOutcome:
        return contract.ReverseOutcome.model_validate(
            await self.call(
                "POST", "/internal/reversals", actor=actor, json=body, params={"locale": locale}
            )
        )

    async def redeem(
        self, actor: Actor, body: contract.RedeemReward, locale: str
    ) -> contract.Redemption:
        return contract.Redemption.model_validate(
            await self.call(
                "POST", "/internal/redemptions", actor=actor, json=body, params={"locale": locale}
            )
        )

    async def account(
        self, actor: Actor, member_id: UUID, *, first: int, after: str | None, locale: str
    ) -> contract.Account:
        params: dict[str, Any] = {"first": first, "locale": locale}
        if after is not None:
            params["after"] = after
        return contract.Account.model_validate(
            await self.call(
                "GET", f"/internal/members/{member_id}/account", actor=actor, params=params
            )
        )

    async def rewards(
        self, actor: Actor, member_id: UUID | None, locale: str
    ) -> list[contract.Reward]:
        params: dict[str, Any] = {"locale": locale}
        if member_id is not None:
            params["member_id"] = str(member_id)
        raw = await self.call("GET", "/internal/rewards", actor=actor, params=params)
        return [contract.Reward.model_validate(r) for r in raw]

    async def create_reward(
        self, actor: Actor, body: contract.CreateReward, locale: str
    ) -> tuple[contract.Reward, bool]:
        """The reward, and whether it was created now (not found again by its key)."""
        status, raw = await self.request(
            "POST", "/internal/rewards", actor=actor, json=body, params={"locale": locale}
        )
        return contract.Reward.model_validate(raw), status == 201

    async def update_reward(
        self, actor: Actor, reward_id: UUID, body: contract.UpdateReward, locale: str
    ) -> contract.Reward:
        """Change the fields set on ``body`` (a field set to ``None`` is cleared)."""
        return contract.Reward.model_validate(
            await self.call(
                "PATCH",
                f"/internal/rewards/{reward_id}",
                actor=actor,
                json=body.model_dump(mode="json", exclude_unset=True),
                params={"locale": locale},
            )
        )

    async def retire_reward(self, actor: Actor, reward_id: UUID, locale: str) -> contract.Reward:
        return contract.Reward.model_validate(
            await self.call(
                "POST",
                f"/internal/rewards/{reward_id}/retire",
                actor=actor,
                params={"locale": locale},
            )
        )

    async def rulebook(self, actor: Actor, locale: str) -> contract.Rulebook:
        return contract.Rulebook.model_validate(
            await self.call("GET", "/internal/rulebook", actor=actor, params={"locale": locale})
        )

    async def publish(
        self, actor: Actor, body: contract.PublishRuleSet
    ) -> contract.PublishedRuleSet:
        return contract.PublishedRuleSet.model_validate(
            await self.call("POST", "/internal/rule-sets", actor=actor, json=body)
        )

    async def liability(self, actor: Actor) -> contract.Liability:
        return contract.Liability.model_validate(
            await self.call("GET", "/internal/liability", actor=actor)
        )

    async def export(self, actor: Actor, member_id: UUID) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(
            "GET", f"/internal/members/{member_id}/export", actor=actor
        )
        return body

    # ---- experiences ----

    async def create_experience(
        self, actor: Actor, body: ec.CreateExperience, locale: str
    ) -> tuple[ec.Experience, bool]:
        """The experience, and whether it was created now (not found again by its key)."""
        status, raw = await self.request(
            "POST", "/internal/experiences", actor=actor, json=body, params={"locale": locale}
        )
        return ec.Experience.model_validate(raw), status == 201

    async def update_experience(
        self, actor: Actor, experience_id: UUID, changes: dict[str, Any], locale: str
    ) -> ec.Experience:
        """Change the fields in ``changes`` (``ec.UpdateExperience``'s, as JSON; a production
        sent as ``None`` is cleared)."""
        return ec.Experience.model_validate(
            await self.call(
                "PATCH",
                f"/internal/experiences/{experience_id}",
                actor=actor,
                json=changes,
                params={"locale": locale},
            )
        )

    async def cancel_experience(
        self, actor: Actor, experience_id: UUID, body: ec.CancelExperience, locale: str
    ) -> ec.Experience:
        return ec.Experience.model_validate(
            await self.call(
                "POST",
                f"/internal/experiences/{experience_id}/cancel",
                actor=actor,
                json=body,
                params={"locale": locale},
            )
        )

    async def experience(self, actor: Actor, experience_id: UUID, locale: str) -> ec.Experience:
        return ec.Experience.model_validate(
            await self.call(
                "GET",
                f"/internal/experiences/{experience_id}",
                actor=actor,
                params={"locale": locale},
            )
        )

    async def experiences(
        self, actor: Actor, *, venue_id: UUID | None, include_past: bool, locale: str
    ) -> list[ec.Experience]:
        params: dict[str, Any] = {"locale": locale, "include_past": str(include_past).lower()}
        if venue_id is not None:
            params["venue_id"] = str(venue_id)
        raw = await self.call("GET", "/internal/experiences", actor=actor, params=params)
        return [ec.Experience.model_validate(e) for e in raw]

    async def issue_invitations(
        self, actor: Actor, experience_id: UUID, body: ec.IssueInvitations, locale: str
    ) -> ec.IssuanceReport:
        """The report; its ``created`` says whether this request issued (not a replay by key)."""
        return ec.IssuanceReport.model_validate(
            await self.call(
                "POST",
                f"/internal/experiences/{experience_id}/issuances",
                actor=actor,
                json=body,
                params={"locale": locale},
            )
        )

    async def issuances(
        self, actor: Actor, experience_id: UUID, locale: str
    ) -> list[ec.IssuanceReport]:
        raw = await self.call(
            "GET",
            f"/internal/experiences/{experience_id}/issuances",
            actor=actor,
            params={"locale": locale},
        )
        return [ec.IssuanceReport.model_validate(r) for r in raw]

    async def invitations(
        self, actor: Actor, member_id: UUID, locale: str
    ) -> list[ec.MemberInvitation]:
        raw = await self.call(
            "GET",
            f"/internal/members/{member_id}/invitations",
            actor=actor,
            params={"locale": locale},
        )
        return [ec.MemberInvitation.model_validate(i) for i in raw]

    async def respond_to_invitation(
        self, actor: Actor, invitation_id: UUID, body: ec.RespondToInvitation, locale: str
    ) -> ec.MemberInvitation:
        return ec.MemberInvitation.model_validate(
            await self.call(
                "POST",
                f"/internal/invitations/{invitation_id}/respond",
                actor=actor,
                json=body,
                params={"locale": locale},
            )
        )

    async def rate_experience(
        self, actor: Actor, invitation_id: UUID, body: ec.RateExperience
    ) -> ec.Rating:
        return ec.Rating.model_validate(
            await self.call(
                "POST", f"/internal/invitations/{invitation_id}/rating", actor=actor, json=body
            )
        )

    async def redeem_invitation(
        self, actor: Actor, body: ec.RedeemInvitation, locale: str
    ) -> ec.Redemption:
        """One scan at the door: one call, one attempt (the service counts failed guesses)."""
        return ec.Redemption.model_validate(
            await self.call(
                "POST", "/internal/door/redeem", actor=actor, json=body, params={"locale": locale}
            )
        )

    async def redeem_batch(
        self, actor: Actor, body: ec.RedeemBatch, locale: str
    ) -> ec.BatchOutcome:
        return ec.BatchOutcome.model_validate(
            await self.call(
                "POST",
                "/internal/door/redeem-batch",
                actor=actor,
                json=body,
                params={"locale": locale},
            )
        )

    async def experience_figures(
        self, actor: Actor, venue_id: UUID | None, locale: str
    ) -> ec.ExperienceFigures:
        params: dict[str, Any] = {"locale": locale}
        if venue_id is not None:
            params["venue_id"] = str(venue_id)
        return ec.ExperienceFigures.model_validate(
            await self.call("GET", "/internal/experience-figures", actor=actor, params=params)
        )

    async def door_keys(self) -> dict[str, Any]:
        """The public keys that sign door passes (a JWKS), as the service publishes them."""
        response = await self.http.get("/.well-known/jwks.json")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
