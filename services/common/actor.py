"""Who is acting: carried from the gateway to the services in headers, trusted only behind the
service credential. Every write records its actor, so "who changed this, and why" has an answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any
from uuid import UUID


class ActorKind(StrEnum):
    ANONYMOUS = "anonymous"
    MEMBER = "member"
    STAFF = "staff"
    ADMIN = "admin"
    PARTNER = "partner"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class PartnerScope:
    """What a partner's API key may do, as identity holds it: record events of these triggers,
    at these venues (``None``: any venue), and register referrals or not. A partner's call that
    carries no scope, or one that cannot be read, may do nothing (``NOTHING``)."""

    triggers: frozenset[str] = frozenset()
    venue_ids: frozenset[str] | None = frozenset()
    register_referrals: bool = False

    def allows_trigger(self, trigger: str) -> bool:
        return trigger in self.triggers

    def allows_venue(self, venue_id: str | None) -> bool:
        return self.venue_ids is None or (venue_id is not None and venue_id in self.venue_ids)

    def header(self) -> str:
        return _scope_header(self)

    @classmethod
    def from_header(cls, raw: str) -> PartnerScope:
        try:
            data = json.loads(raw)
            triggers, venues = data["triggers"], data["venue_ids"]
            referrals = data["register_referrals"]
            if not (
                isinstance(triggers, list)
                and (venues is None or isinstance(venues, list))
                and isinstance(referrals, bool)
            ):
                return NOTHING
            return cls(
                frozenset(str(t) for t in triggers),
                None if venues is None else frozenset(str(v) for v in venues),
                referrals,
            )
        except (ValueError, TypeError, KeyError):
            return NOTHING


NOTHING = PartnerScope()


@lru_cache(maxsize=1024)
def _scope_header(scope: PartnerScope) -> str:
    venues = None if scope.venue_ids is None else sorted(scope.venue_ids)
    return json.dumps(
        {
            "triggers": sorted(scope.triggers),
            "venue_ids": venues,
            "register_referrals": scope.register_referrals,
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    venue_ids: frozenset[str] = field(default_factory=frozenset)
    scope: PartnerScope | None = None  # a partner's: what its API key may do

    def headers(self) -> dict[str, str]:
        headers = {"x-actor-kind": self.kind.value}
        if self.id is not None:
            headers["x-actor-id"] = self.id
        if self.venue_ids:
            headers["x-actor-venues"] = ",".join(sorted(self.venue_ids))
        if self.scope is not None:
            headers["x-actor-scope"] = self.scope.header()
        return headers

    @classmethod
    def from_headers(cls, headers: Any) -> Actor:
        try:
            kind = ActorKind(headers.get("x-actor-kind"))
        except ValueError:  # no kind, or one that is not known: nobody in particular
            kind = ActorKind.ANONYMOUS
        venues = headers.get("x-actor-venues") or ""
        scope = headers.get("x-actor-scope")
        return cls(
            kind=kind,
            id=headers.get("x-actor-id") or None,
            venue_ids=frozenset(v for v in venues.split(",") if v),
            scope=None if scope is None else PartnerScope.from_header(scope),
        )

    def uuid(self) -> UUID | None:
        """The actor's id as a UUID, or ``None`` when it has none or one that is not a UUID
        (headers no gateway sends: whoever that is, they are no partner or member here)."""
        return _uuid(self.id)

    def venue_uuids(self) -> frozenset[UUID]:
        """The venues the actor works for; an id that is not a UUID names no venue."""
        return frozenset(u for u in map(_uuid, self.venue_ids) if u is not None)

    def label(self) -> str:
        """A compact ``kind:id`` stored with each write."""
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"


def _uuid(value: str | None) -> UUID | None:
    try:
        return None if value is None else UUID(value)
    except ValueError:
        return None


SYSTEM = Actor(ActorKind.SYSTEM, "system")
