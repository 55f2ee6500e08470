"""Who may do what, checked in every capability (defence in depth: the gateway checks first)."""

from __future__ import annotations

from uuid import UUID

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, NotFound, Problem
from services.identity.contract import ProblemCode


def forbidden(message: str = "not allowed for this actor") -> Problem:
    return Forbidden(ProblemCode.FORBIDDEN, message)


def member_not_found(member_id: UUID) -> Problem:
    return NotFound(ProblemCode.MEMBER_NOT_FOUND, "no such member", member_id=str(member_id))


def require_admin(actor: Actor) -> None:
    if actor.kind is not ActorKind.ADMIN:
        raise forbidden("only a programme admin may do this")


def acts_for(actor: Actor, *member_ids: UUID | None) -> bool:
    """Whether ``actor`` may act for any of these members: admins and the system for all of
    them, a member for themselves."""
    if actor.kind in (ActorKind.ADMIN, ActorKind.SYSTEM):
        return True
    return (
        actor.kind is ActorKind.MEMBER
        and actor.id is not None
        and any(m is not None and actor.id == str(m) for m in member_ids)
    )


def authorize_member(actor: Actor, requested: UUID, survivor: UUID | None) -> UUID:
    """The member to act on (the survivor of ``requested``), if ``actor`` may act for them.

    A member asking about an id that is not theirs learns nothing, not even whether it exists;
    a member merged into another acts for no one (their survivor is another member).
    """
    if not acts_for(actor, survivor if survivor is not None else requested):
        raise forbidden("a member may only act for themselves")
    if survivor is None:
        raise member_not_found(requested)
    return survivor
