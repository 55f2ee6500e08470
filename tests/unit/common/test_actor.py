"""Who is acting, as the gateway tells the services in headers: each header written exactly,
read back into the same actor, and anything missing or unknown read as nobody in particular."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from services.common.actor import SYSTEM, Actor, ActorKind

STAFF = Actor(ActorKind.STAFF, "s-1", frozenset({"venue-b", "venue-a"}))


def test_an_actor_is_sent_as_its_kind_its_id_and_its_venues_in_order() -> None:
    assert STAFF.headers() == {
        "x-actor-kind": "staff",
        "x-actor-id": "s-1",
        "x-actor-venues": "venue-a,venue-b",
    }
    assert Actor(ActorKind.STAFF, "s-2", frozenset({"venue-a"})).headers() == {
        "x-actor-kind": "staff",
        "x-actor-id": "s-2",
        "x-actor-venues": "venue-a",
    }


def test_what_an_actor_does_not_have_is_not_sent() -> None:
    assert Actor(ActorKind.ANONYMOUS).headers() == {"x-actor-kind": "anonymous"}
    assert Actor(ActorKind.MEMBER, "m-1").headers() == {
        "x-actor-kind": "member",
        "x-actor-id": "m-1",
    }


@pytest.mark.parametrize(
    "actor",
    [
        STAFF,
        Actor(ActorKind.ADMIN, "a-1"),
        Actor(ActorKind.MEMBER, "m-1"),
        Actor(ActorKind.ANONYMOUS),
        SYSTEM,
    ],
)
def test_an_actor_is_read_back_from_its_headers_equal(actor: Actor) -> None:
    assert Actor.from_headers(actor.headers()) == actor
    assert Actor.from_headers(Headers(actor.headers())) == actor  # as a service receives them


def test_the_venues_are_read_one_per_comma_and_empty_names_are_none() -> None:
    read = Actor.from_headers(
        {"x-actor-kind": "staff", "x-actor-id": "s-1", "x-actor-venues": ",venue-b,,venue-a,"}
    )
    assert read == STAFF
    no_venues = Actor.from_headers(
        {"x-actor-kind": "staff", "x-actor-id": "s-1", "x-actor-venues": ""}
    )
    assert no_venues == Actor(ActorKind.STAFF, "s-1", frozenset())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-actor-kind": ""},
        {"x-actor-kind": "robot"},
        {"x-actor-kind": "STAFF"},  # kinds are written in lower case
        {"x-actor-kind": "staff "},
    ],
)
def test_a_missing_or_unknown_kind_is_nobody_in_particular(headers: dict[str, str]) -> None:
    assert Actor.from_headers(headers) == Actor(ActorKind.ANONYMOUS)
    assert Actor.from_headers({**headers, "x-actor-id": "x-1"}) == Actor(ActorKind.ANONYMOUS, "x-1")


def test_an_empty_id_is_no_id() -> None:
    assert Actor.from_headers({"x-actor-kind": "member", "x-actor-id": ""}) == Actor(
        ActorKind.MEMBER
    )


def test_each_write_is_labelled_kind_colon_id_or_the_kind_alone() -> None:
    assert Actor(ActorKind.MEMBER, "m-1").label() == "member:m-1"
    assert STAFF.label() == "staff:s-1"
    assert SYSTEM.label() == "system:system"
    assert Actor(ActorKind.ANONYMOUS).label() == "anonymous"
    assert Actor(ActorKind.PARTNER).label() == "partner"
