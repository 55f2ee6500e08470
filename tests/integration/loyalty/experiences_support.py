"""What the experiences' integration tests share: members told to loyalty through identity's
events, bookings and attendance naming a production, experiences, issuances and answers through
the internal API, as the gateway calls it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.common.actor import Actor, ActorKind

NEVER_QUIET = {"start": "03:00:00", "end": "03:00:00", "timezone": "Europe/Paris"}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def member_actor(member_id: uuid.UUID) -> Actor:
    return Actor(ActorKind.MEMBER, str(member_id))


def preferences(
    *,
    consents: tuple[str, ...] = ("email",),
    cap: int = 4,
    quiet: dict[str, str] | None = None,
    interests: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Preferences as identity's events carry them; never quiet unless told."""
    return {
        "consents": {c: True for c in consents},
        "invitation_cap_per_30_days": cap,
        "quiet_hours": NEVER_QUIET if quiet is None else quiet,
        "interests": list(interests),
    }


class Kit:
    """Experiences through the loyalty app (``loyalty`` is the conftest's ``Loyalty``)."""

    def __init__(self, loyalty: Any) -> None:
        self.loyalty = loyalty

    async def call(
        self, method: str, path: str, *, actor: Actor | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.loyalty.call(method, path, actor=actor or self.loyalty.STAFF, **kw)

    async def event(
        self, kind: str, payload: dict[str, Any], *, at: datetime | None = None
    ) -> uuid.UUID:
        event_id = uuid.uuid4()
        body = {
            "events": [
                {
                    "event_id": str(event_id),
                    "type": kind,
                    "occurred_at": (at or now()).isoformat(),
                    "payload": payload,
                }
            ]
        }
        response = await self.loyalty.call("POST", "/internal/events", json=body)
        assert response.status_code == 200, response.text
        return event_id

    async def member(self, **prefs: Any) -> uuid.UUID:
        """A new member, registered with identity (``member.registered`` delivered)."""
        member_id = uuid.uuid4()
        payload = {"member_id": str(member_id), "locale": "en", "preferences": preferences(**prefs)}
        await self.event("member.registered", payload)
        return member_id

    async def book(
        self, member_id: uuid.UUID, production: str, *, at: datetime | None = None
    ) -> None:
        event = {**self.loyalty.ticket("30", at=at), "production_id": production}
        response = await self.loyalty.earn(member_id, event)
        assert response.status_code == 201, response.text

    async def attend(
        self, member_id: uuid.UUID, production: str | None, *, at: datetime | None = None
    ) -> None:
        event: dict[str, Any] = {
            "trigger": "attendance",
            "occurred_at": (at or now()).isoformat(),
            "venue_id": str(self.loyalty.VENUE),
        }
        if production is not None:
            event["production_id"] = production
        response = await self.loyalty.earn(member_id, event)
        assert response.status_code == 201, response.text

    def experience_body(self, **overrides: Any) -> dict[str, Any]:
        start = overrides.pop("starts_at", now() + timedelta(hours=1))
        body: dict[str, Any] = {
            "key": uuid.uuid4().hex,
            "venue_id": str(self.loyalty.VENUE),
            "texts": {
                "title_en": "Open rehearsal",
                "title_fr": "Répétition ouverte",
                "description_en": "Watch the orchestra rehearse.",
                "description_fr": "Assistez à la répétition de l'orchestre.",
            },
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "seats": 10,
            "guest_allowance": 1,
            "invitations_open_at": (now() - timedelta(minutes=1)).isoformat(),
            "invitations_close_at": start.isoformat(),
        }
        body.update(overrides)
        return body

    async def create(self, *, actor: Actor | None = None, **overrides: Any) -> dict[str, Any]:
        response = await self.call(
            "POST", "/internal/experiences", actor=actor, json=self.experience_body(**overrides)
        )
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    async def issue(
        self, experience_id: str, *, key: str | None = None, **body: Any
    ) -> httpx.Response:
        return await self.call(
            "POST",
            f"/internal/experiences/{experience_id}/issuances",
            json={"key": key or uuid.uuid4().hex, **body},
        )

    async def issued(self, experience_id: str, **body: Any) -> dict[str, Any]:
        response = await self.issue(experience_id, **body)
        assert response.status_code == 201, response.text
        found: dict[str, Any] = response.json()
        return found

    async def invitations(
        self, member_id: uuid.UUID, *, locale: str = "en"
    ) -> list[dict[str, Any]]:
        response = await self.call(
            "GET",
            f"/internal/members/{member_id}/invitations",
            actor=member_actor(member_id),
            params={"locale": locale},
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    async def respond(
        self,
        member_id: uuid.UUID,
        invitation_id: str,
        action: str,
        guests: list[dict[str, Any]] | None = None,
        *,
        client: Any = None,
    ) -> httpx.Response:
        body = {"member_id": str(member_id), "action": action, "guests": guests or []}
        return await (client or self.loyalty).call(
            "POST",
            f"/internal/invitations/{invitation_id}/respond",
            actor=member_actor(member_id),
            json=body,
        )

    async def invited(
        self, *members: uuid.UUID, **overrides: Any
    ) -> tuple[dict[str, Any], dict[uuid.UUID, str]]:
        """An experience for ticket holders of a production only ``members`` booked, issued:
        the experience, and each member's invitation id."""
        production = f"production-{uuid.uuid4().hex[:12]}"
        for member_id in members:
            await self.book(member_id, production)
        overrides.setdefault("eligibility", {"conditions": [{"kind": "booked_production"}]})
        experience = await self.create(production_id=production, **overrides)
        report = await self.issued(experience["id"], count=len(members))
        assert report["issued"] == len(members), report
        return experience, {
            uuid.UUID(i["member_id"]): i["invitation_id"] for i in report["invitations"]
        }

    async def redeem(
        self, body: dict[str, Any], *, actor: Actor | None = None, client: Any = None
    ) -> dict[str, Any]:
        response = await (client or self.loyalty).call(
            "POST", "/internal/door/redeem", actor=actor or self.loyalty.STAFF, json=body
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()["outcome"]
        return found
