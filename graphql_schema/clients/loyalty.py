"""The loyalty service, as the gateway calls it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from graphql_schema.clients.base import ServiceClient
from services.common.actor import Actor
from services.loyalty import contract


class LoyaltyClient(ServiceClient):
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
