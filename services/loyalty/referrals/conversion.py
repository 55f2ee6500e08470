"""From what happens to the people of a referral to what the programme must do, exactly once
(pure, no I/O).

A referral's progress is a fold over events: ``apply(policy, progress, event)`` returns the new
progress and the effects to perform. The events may arrive in any order and any number of times
(identity's outbox delivers at least once; an earn may reach loyalty before the registration):

- the referee joins (``RefereeJoined``) and completes a qualifying event (``Qualified``), in
  either order: the referral converts once, giving ``RewardReferrer``, ``WelcomeReferee`` and,
  for a partner, ``NotifyPartner(referral.converted)``;
- the referee and the referrer turn out to be one person (``MembersMerged`` of the two, or one
  of the referee's identifiers ``IdentifierLinked`` to the referrer), before or after the
  conversion: the referral is voided; if it had converted, ``ReverseConversion`` takes back
  everything the conversion gave, so a self-referral never keeps a reward;
- the referee joins after the attribution window: the referral expires.

Voided and expired are final. Replaying events already applied changes nothing and repeats no
effect, because each transition happens from one state only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from services.loyalty.referrals.model import FromPartner, Referral, ReferralPolicy
from services.loyalty.referrals.payloads import WebhookEvent
from services.loyalty.rules.model import Trigger


class Status(StrEnum):
    PENDING = "pending"  # waiting for the referee to join
    JOINED = "joined"  # the referee is a member; waiting for a qualifying event
    CONVERTED = "converted"  # rewarded
    VOIDED = "voided"  # the referee turned out to be the referrer
    EXPIRED = "expired"  # the referee joined after the attribution window, or never


# Events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefereeJoined:
    """Identity registered a member whose identifiers are the referee's."""

    member_id: uuid.UUID
    at: datetime


@dataclass(frozen=True, slots=True)
class Qualified:
    """A member completed an event (an earn); it converts if its trigger qualifies."""

    member_id: uuid.UUID
    trigger: Trigger
    at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class MembersMerged:
    """An admin merged ``absorbed_id`` into ``survivor_id``."""

    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID
    at: datetime


@dataclass(frozen=True, slots=True)
class IdentifierLinked:
    """``identifier`` (a ``kind:value`` key, as ``Referee.identifiers``) now belongs to ``member_id``."""

    member_id: uuid.UUID
    identifier: str
    at: datetime


ReferralEvent = RefereeJoined | Qualified | MembersMerged | IdentifierLinked


# Effects ------------------------------------------------------------------------------------


def conversion_key(referral_id: uuid.UUID) -> str:
    """The conversion's name in the ledger: its entries' external ids start with it."""
    return f"referral:{referral_id}"


@dataclass(frozen=True, slots=True)
class RewardReferrer:
    """Evaluate a ``referral_converted`` event for the referrer, as ledger entry ``external_id``."""

    referral_id: uuid.UUID
    referrer_id: uuid.UUID
    converted_at: datetime
    external_id: str


@dataclass(frozen=True, slots=True)
class WelcomeReferee:
    """Give the referee the rulebook's welcome, if it has one, as entry ``external_id``."""

    referral_id: uuid.UUID
    referee_id: uuid.UUID
    converted_at: datetime
    external_id: str


@dataclass(frozen=True, slots=True)
class ReverseConversion:
    """Take back every ledger entry of conversion ``conversion`` (reward and welcome)."""

    referral_id: uuid.UUID
    conversion: str
    voided_at: datetime


@dataclass(frozen=True, slots=True)
class NotifyPartner:
    """Queue webhook ``event`` about the referral for the partner who registered it."""

    partner_id: uuid.UUID
    referral_id: uuid.UUID
    event: WebhookEvent
    at: datetime


Effect = RewardReferrer | WelcomeReferee | ReverseConversion | NotifyPartner


# Progress -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Qualification:
    at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a referral stands.

    ``referrer_id`` and ``referee_id`` follow merges (the surviving member); ``merged_into`` maps
    each absorbed member to its survivor; ``qualified`` keeps, per member, the earliest
    qualifying event seen while the referral can convert (an earn may arrive before the
    registration), and nothing once it is voided or expired;
    ``holders`` are the members the referee's identifiers were linked to (a later merge may make
    one of them the referrer)."""

    referral: Referral
    referrer_id: uuid.UUID
    status: Status = Status.PENDING
    referee_id: uuid.UUID | None = None
    joined_at: datetime | None = None
    converted_at: datetime | None = None
    converted_by: str | None = None  # the qualifying event's id
    voided_at: datetime | None = None
    merged_into: Mapping[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    qualified: Mapping[uuid.UUID, Qualification] = field(default_factory=dict)
    holders: frozenset[uuid.UUID] = frozenset()


def start(referral: Referral) -> Progress:
    """A newly accepted referral."""
    return Progress(referral, referral.referrer_id)


def shown_status(policy: ReferralPolicy, progress: Progress, now: datetime) -> Status:
    """The status to show at ``now``: a referral still pending after its window has expired."""
    if progress.status is Status.PENDING and now >= policy.holds_until(progress.referral):
        return Status.EXPIRED
    return progress.status


def _resolve(merged_into: Mapping[uuid.UUID, uuid.UUID], member_id: uuid.UUID) -> uuid.UUID:
    """The member ``member_id`` now is (``_merged`` never lets the map hold a cycle)."""
    while member_id in merged_into:
        member_id = merged_into[member_id]
    return member_id


def _notify(progress: Progress, event: WebhookEvent, at: datetime) -> tuple[Effect, ...]:
    source = progress.referral.source
    if isinstance(source, FromPartner):
        return (NotifyPartner(source.partner_id, progress.referral.id, event, at),)
    return ()


def _void(progress: Progress, at: datetime) -> tuple[Progress, tuple[Effect, ...]]:
    effects: tuple[Effect, ...] = ()
    if progress.status is Status.CONVERTED:
        key = conversion_key(progress.referral.id)
        effects = (ReverseConversion(progress.referral.id, key, at),)
    voided = replace(progress, status=Status.VOIDED, voided_at=at, qualified={})
    return voided, effects + _notify(progress, WebhookEvent.VOIDED, at)


def _convert(
    progress: Progress, referee_id: uuid.UUID, qualification: Qualification
) -> tuple[Progress, tuple[Effect, ...]]:
    assert progress.joined_at is not None
    at = max(progress.joined_at, qualification.at)
    key = conversion_key(progress.referral.id)
    converted = replace(
        progress, status=Status.CONVERTED, converted_at=at, converted_by=qualification.event_id
    )
    rid = progress.referral.id
    effects: tuple[Effect, ...] = (
        RewardReferrer(rid, progress.referrer_id, at, f"{key}:referrer"),
        WelcomeReferee(rid, referee_id, at, f"{key}:referee"),
    )
    return converted, effects + _notify(progress, WebhookEvent.CONVERTED, at)


_LIVE = (Status.PENDING, Status.JOINED, Status.CONVERTED)


def _is_self(progress: Progress) -> bool:
    """Whether the referee is now known to be the referrer: joined as them, merged with them, or
    one of the referee's identifiers belongs to them."""
    referrer = progress.referrer_id
    return progress.referee_id == referrer or any(
        _resolve(progress.merged_into, holder) == referrer for holder in progress.holders
    )


def _settle(progress: Progress, at: datetime) -> tuple[Progress, tuple[Effect, ...]]:
    """After any change: a self-referral is voided; else a joined referee who qualified converts."""
    if progress.status in _LIVE and _is_self(progress):
        return _void(progress, at)
    referee = progress.referee_id
    if progress.status is Status.JOINED and referee is not None:
        early = progress.qualified.get(referee)
        if early is not None:
            return _convert(progress, referee, early)
    return progress, ()


def _earliest(
    qualified: Mapping[uuid.UUID, Qualification], member: uuid.UUID, this: Qualification
) -> Mapping[uuid.UUID, Qualification]:
    held = qualified.get(member)
    if held is not None and (held.at, held.event_id) <= (this.at, this.event_id):
        return qualified
    return {**qualified, member: this}


def _joined(policy: ReferralPolicy, progress: Progress, event: RefereeJoined) -> Progress:
    if progress.status is not Status.PENDING:
        return progress  # a replay, or a second account: the first joining stands
    if event.at >= policy.holds_until(progress.referral):
        return replace(progress, status=Status.EXPIRED, qualified={})
    member = _resolve(progress.merged_into, event.member_id)
    return replace(progress, status=Status.JOINED, referee_id=member, joined_at=event.at)


def _qualified(policy: ReferralPolicy, progress: Progress, event: Qualified) -> Progress:
    if event.trigger not in policy.qualifying_triggers or progress.status not in (
        Status.PENDING,
        Status.JOINED,
    ):
        return progress
    member = _resolve(progress.merged_into, event.member_id)
    this = Qualification(event.at, event.event_id)
    return replace(progress, qualified=_earliest(progress.qualified, member, this))


def _merged(progress: Progress, event: MembersMerged) -> Progress:
    absorbed, survivor = event.absorbed_id, _resolve(progress.merged_into, event.survivor_id)
    if absorbed in progress.merged_into or survivor == absorbed:
        return progress  # a replay, or a merge of a member into itself
    merged_into = {**progress.merged_into, absorbed: survivor}
    qualified: Mapping[uuid.UUID, Qualification] = {}
    for member, q in progress.qualified.items():
        qualified = _earliest(qualified, _resolve(merged_into, member), q)
    referee = progress.referee_id
    if referee is not None:
        referee = _resolve(merged_into, referee)
    return replace(
        progress,
        merged_into=merged_into,
        qualified=qualified,
        referrer_id=_resolve(merged_into, progress.referrer_id),
        referee_id=referee,
    )


def _linked(progress: Progress, event: IdentifierLinked) -> Progress:
    if event.identifier not in progress.referral.referee.identifiers():
        return progress
    return replace(progress, holders=progress.holders | {event.member_id})


def apply(
    policy: ReferralPolicy, progress: Progress, event: ReferralEvent
) -> tuple[Progress, tuple[Effect, ...]]:
    """One event: the new progress and the effects to perform (none if nothing changes)."""
    if isinstance(event, RefereeJoined):
        progress = _joined(policy, progress, event)
    elif isinstance(event, Qualified):
        progress = _qualified(policy, progress, event)
    elif isinstance(event, MembersMerged):
        progress = _merged(progress, event)
    else:
        progress = _linked(progress, event)
    return _settle(progress, event.at)


def fold(
    policy: ReferralPolicy, progress: Progress, events: Iterable[ReferralEvent]
) -> tuple[Progress, tuple[Effect, ...]]:
    """Every event in turn: the final progress and all the effects, in order."""
    effects: list[Effect] = []
    for event in events:
        progress, more = apply(policy, progress, event)
        effects.extend(more)
    return progress, tuple(effects)
