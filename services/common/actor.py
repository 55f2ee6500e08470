"""Who is acting: carried from the gateway to the services in headers, trusted only behind the
service credential. Every write records its actor, so "who changed this, and why" has an answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    ANONYMOUS = "anonymous"
    MEMBER = "member"
    STAFF = "staff"
    ADMIN = "admin"
    PARTNER = "partner"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    venue_ids: frozenset[str] = field(default_factory=frozenset)

    def headers(self) -> dict[str, str]:
        headers = {"x-actor-kind": self.kind.value}
        if self.id is not None:
            headers["x-actor-id"] = self.id
        if self.venue_ids:
            headers["x-actor-venues"] = ",".join(sorted(self.venue_ids))
        return headers

    @classmethod
    def from_headers(cls, headers: Any) -> Actor:
        try:
            kind = ActorKind(headers.get("x-actor-kind", "anonymous"))
        except ValueError:
            kind = ActorKind.ANONYMOUS
        venues = headers.get("x-actor-venues") or ""
        return cls(
            kind=kind,
            id=headers.get("x-actor-id") or None,
            venue_ids=frozenset(v for v in venues.split(",") if v),
        )

    def label(self) -> str:
        """A compact ``kind:id`` stored with each write."""
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"


SYSTEM = Actor(ActorKind.SYSTEM, "system")
