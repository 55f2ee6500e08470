"""The identity service, as the gateway calls it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from graphql_schema.clients.base import ServiceClient
from services.common.actor import Actor
from services.identity import contract


class IdentityClient(ServiceClient):
    audience = "identity"

    async def jwks(self) -> dict[str, Any]:
        response = await self.http.get("/.well-known/jwks.json")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def revocations(self, after: int | None, *, wait: float) -> contract.RevocationPage:
        """Revocations in force after the cursor (all of them without one); identity holds the
        request up to ``wait`` seconds until one is committed."""
        params: dict[str, Any] = {"wait": f"{wait:g}"}
        if after is not None:
            params["after"] = str(after)
        return contract.RevocationPage.model_validate(
            await self.call("GET", "/internal/revocations", params=params, read_timeout=wait + 10.0)
        )

    async def register(
        self, actor: Actor, body: contract.RegisterMember
    ) -> tuple[contract.Member, bool]:
        """The member, and whether it was created now (not an idempotent retry)."""
        status, raw = await self.request("POST", "/internal/members", actor=actor, json=body)
        return contract.Member.model_validate(raw), status == 201

    async def member(self, actor: Actor, member_id: UUID) -> contract.Member:
        return contract.Member.model_validate(
            await self.call("GET", f"/internal/members/{member_id}", actor=actor)
        )

    async def link_identifier(
        self, actor: Actor, member_id: UUID, body: contract.LinkIdentifier
    ) -> contract.Identifier:
        return contract.Identifier.model_validate(
            await self.call(
                "POST", f"/internal/members/{member_id}/identifiers", actor=actor, json=body
            )
        )

    async def request_verification(
        self, actor: Actor, member_id: UUID, body: contract.IdentifierRef
    ) -> contract.VerificationSent:
        return contract.VerificationSent.model_validate(
            await self.call(
                "POST", f"/internal/members/{member_id}/verifications", actor=actor, json=body
            )
        )

    async def verify_identifier(
        self, actor: Actor, member_id: UUID, body: contract.VerifyIdentifier
    ) -> contract.Identifier:
        return contract.Identifier.model_validate(
            await self.call(
                "POST", f"/internal/members/{member_id}/verifications/check", actor=actor, json=body
            )
        )

    async def update_preferences(
        self, actor: Actor, member_id: UUID, body: contract.UpdatePreferences
    ) -> contract.Preferences:
        return contract.Preferences.model_validate(
            await self.call(
                "PUT", f"/internal/members/{member_id}/preferences", actor=actor, json=body
            )
        )

    async def export(self, actor: Actor, member_id: UUID) -> dict[str, Any]:
        """Everything identity holds on the member, as JSON (``contract.MemberExport``)."""
        body: dict[str, Any] = await self.call(
            "GET", f"/internal/members/{member_id}/export", actor=actor
        )
        return body

    async def erase(self, actor: Actor, member_id: UUID) -> contract.Erasure:
        return contract.Erasure.model_validate(
            await self.call("POST", f"/internal/members/{member_id}/erase", actor=actor)
        )

    async def resolve(
        self, actor: Actor, kind: contract.IdentifierKind, value: str
    ) -> contract.Resolution:
        return contract.Resolution.model_validate(
            await self.call(
                "GET", "/internal/resolve", actor=actor, params={"kind": kind.value, "value": value}
            )
        )

    async def merge(self, actor: Actor, body: contract.MergeMembers) -> contract.MergeResult:
        return contract.MergeResult.model_validate(
            await self.call("POST", "/internal/merges", actor=actor, json=body)
        )

    async def login(self, body: contract.Login) -> contract.Session:
        return contract.Session.model_validate(
            await self.call("POST", "/internal/login", json=body)
        )

    async def refresh(self, body: contract.Refresh) -> contract.Session:
        return contract.Session.model_validate(
            await self.call("POST", "/internal/refresh", json=body)
        )

    async def create_venue(
        self, actor: Actor, body: contract.CreateVenue
    ) -> tuple[contract.Venue, bool]:
        """The venue, and whether it was created now (not an idempotent retry)."""
        status, raw = await self.request("POST", "/internal/venues", actor=actor, json=body)
        return contract.Venue.model_validate(raw), status == 201

    async def venue(self, actor: Actor, venue_id: UUID) -> contract.Venue:
        return contract.Venue.model_validate(
            await self.call("GET", f"/internal/venues/{venue_id}", actor=actor)
        )

    async def create_partner(
        self, actor: Actor, body: contract.CreatePartner
    ) -> tuple[contract.Partner, bool]:
        """The partner, and whether it was created now (not an idempotent retry)."""
        status, raw = await self.request("POST", "/internal/partners", actor=actor, json=body)
        return contract.Partner.model_validate(raw), status == 201

    async def create_staff(
        self, actor: Actor, body: contract.CreateStaffAccount
    ) -> tuple[contract.StaffAccount, bool]:
        """The account, and whether it was created now (not a repeat of the same request)."""
        status, raw = await self.request("POST", "/internal/staff", actor=actor, json=body)
        return contract.StaffAccount.model_validate(raw), status == 201

    async def issue_api_key(
        self, actor: Actor, partner_id: UUID, body: contract.IssueApiKey
    ) -> contract.IssuedApiKey:
        return contract.IssuedApiKey.model_validate(
            await self.call(
                "POST", f"/internal/partners/{partner_id}/api-keys", actor=actor, json=body
            )
        )

    async def revoke_api_key(self, actor: Actor, key_id: UUID) -> contract.ApiKey:
        return contract.ApiKey.model_validate(
            await self.call("POST", f"/internal/api-keys/{key_id}/revoke", actor=actor)
        )

    async def verify_api_key(self, api_key: str) -> contract.PartnerPrincipal:
        return contract.PartnerPrincipal.model_validate(
            await self.call(
                "POST", "/internal/api-keys/verify", json=contract.VerifyApiKey(api_key=api_key)
            )
        )

    async def resolve_referee(
        self, actor: Actor, body: contract.ResolveReferee
    ) -> contract.RefereeResolution:
        return contract.RefereeResolution.model_validate(
            await self.call("POST", "/internal/referees/resolve", actor=actor, json=body)
        )

    async def set_partner_scope(
        self, actor: Actor, key_id: UUID, scope: contract.PartnerScope
    ) -> contract.ApiKey:
        return contract.ApiKey.model_validate(
            await self.call("PUT", f"/internal/api-keys/{key_id}/scope", actor=actor, json=scope)
        )
