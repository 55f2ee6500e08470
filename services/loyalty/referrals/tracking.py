"""Following referrals to conversion, exactly once.

What happens to the people of a referral (identity's events, earns) becomes the referral's own
events, each recorded once under a key of what it says (``joined:<member>``,
``qualified:<entry>``, ...), so the same fact reaching loyalty twice, or by two paths, counts
once. Under the referral's row lock the events recorded before are folded by the pure
``conversion`` module, the new one applied, the projection updated, and the effects queued in
the same transaction: the reward, the welcome and their reversal (performed by ``effects``),
and the partner's webhooks (sent by ``webhooks``).

Each referral is folded by the terms in force when it was registered (kept with it), so a later
rule set never changes how an earlier event is read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from services.loyalty.referrals import queries, webhooks
from services.loyalty.referrals import registration_queries as registration
from services.loyalty.referrals.codes import ReferralCode
from services.loyalty.referrals.conversion import (
    Effect,
    IdentifierLinked,
    MembersMerged,
    NotifyPartner,
    Qualified,
    RefereeJoined,
    ReferralEvent,
    ReverseConversion,
    RewardReferrer,
    WelcomeReferee,
    apply,
    fold,
    start,
)
from services.loyalty.referrals.model import (
    Consent,
    ConsentMethod,
    FromMember,
    FromPartner,
    MemberChannel,
    Referee,
    Referral,
    ReferralPolicy,
    policy_of,
)
from services.loyalty.referrals.payloads import WebhookEvent, message
from services.loyalty.rules.model import ReferralTerms, Trigger

VOID_REASON = "self_referral"


# ---- terms and rows as the pure core's data --------------------------------------------------


def terms_json(terms: ReferralTerms) -> dict[str, Any]:
    return terms.model_dump(mode="json")


def policy_from_json(raw: Mapping[str, Any]) -> ReferralPolicy:
    return policy_of(ReferralTerms.model_validate(dict(raw)))


def referral_of(row: queries.ReferralRow) -> Referral:
    source: FromPartner | FromMember
    if row.partner_id is not None:
        assert row.reference is not None
        source = FromPartner(row.partner_id, row.reference)
    else:
        source = FromMember(MemberChannel(row.channel), row.reference)
    return Referral(
        id=row.id,
        referrer_id=row.referrer_id,
        referee=Referee(email=row.referee_email_hash, phone=row.referee_phone_hash),
        source=source,
        consent=Consent(ConsentMethod(row.consent_method), row.consent_given_at),
        registered_at=row.registered_at,
    )


# ---- events as stored ------------------------------------------------------------------------


def _stored(event: ReferralEvent) -> tuple[str, str, dict[str, Any]]:
    """The event's key, kind and payload."""
    at = event.at.isoformat()
    if isinstance(event, RefereeJoined):
        member = str(event.member_id)
        return f"joined:{member}", "joined", {"member_id": member, "at": at}
    if isinstance(event, Qualified):
        payload = {
            "member_id": str(event.member_id),
            "trigger": event.trigger.value,
            "at": at,
            "event_id": event.event_id,
        }
        return f"qualified:{event.event_id}", "qualified", payload
    if isinstance(event, MembersMerged):
        absorbed = str(event.absorbed_id)
        payload = {"survivor_id": str(event.survivor_id), "absorbed_id": absorbed, "at": at}
        return f"merged:{absorbed}", "merged", payload
    member = str(event.member_id)
    payload = {"member_id": member, "identifier": event.identifier, "at": at}
    return f"linked:{member}:{event.identifier}", "linked", payload


def _event(kind: str, p: Mapping[str, Any]) -> ReferralEvent:
    at = datetime.fromisoformat(p["at"])
    if kind == "joined":
        return RefereeJoined(UUID(p["member_id"]), at)
    if kind == "qualified":
        return Qualified(UUID(p["member_id"]), Trigger(p["trigger"]), at, p["event_id"])
    if kind == "merged":
        return MembersMerged(UUID(p["survivor_id"]), UUID(p["absorbed_id"]), at)
    return IdentifierLinked(UUID(p["member_id"]), p["identifier"], at)


# ---- recording one event ---------------------------------------------------------------------


async def record(conn: AsyncConnection, referral_id: UUID, event: ReferralEvent) -> bool:
    """Record ``event`` for the referral once, update its projection and queue its effects;
    ``False`` when the event had been recorded before (nothing changes)."""
    row = await queries.lock_referral(conn, referral_id)
    key, kind, payload = _stored(event)
    seq = await queries.insert_event(conn, referral_id, key, kind, payload)
    if seq is None:
        return False
    policy = policy_from_json(row.terms)
    earlier = [_event(k, p) for k, p in await queries.events_before(conn, referral_id, seq)]
    progress, _ = fold(policy, start(referral_of(row)), earlier)
    progress, effects = apply(policy, progress, event)
    await queries.update_projection(
        conn,
        referral_id,
        status=progress.status.value,
        current_referrer_id=progress.referrer_id,
        referee_id=progress.referee_id,
        joined_at=progress.joined_at,
        converted_at=progress.converted_at,
        voided_at=progress.voided_at,
    )
    parties = {progress.referrer_id, *progress.holders}
    if progress.referee_id is not None:
        parties.add(progress.referee_id)
    await queries.add_parties(conn, referral_id, parties)
    for effect in effects:
        await _queue(conn, row, effect)
    return True


async def _queue(conn: AsyncConnection, row: queries.ReferralRow, effect: Effect) -> None:
    if isinstance(effect, RewardReferrer):
        payload = {
            "member_id": str(effect.referrer_id),
            "at": effect.converted_at.isoformat(),
            "external_id": effect.external_id,
        }
        await queries.insert_effect(conn, row.id, "reward_referrer", payload)
    elif isinstance(effect, WelcomeReferee):
        payload = {
            "member_id": str(effect.referee_id),
            "at": effect.converted_at.isoformat(),
            "external_id": effect.external_id,
        }
        await queries.insert_effect(conn, row.id, "welcome_referee", payload)
    elif isinstance(effect, ReverseConversion):
        payload = {"conversion": effect.conversion, "at": effect.voided_at.isoformat()}
        await queries.insert_effect(conn, row.id, "reverse", payload)
    else:
        assert isinstance(effect, NotifyPartner)
        await webhooks.enqueue(
            conn,
            referral_of(row),
            row.code,
            effect.event,
            effect.at,
            void_reason=VOID_REASON if effect.event is webhooks.WebhookEvent.VOIDED else None,
        )


# ---- what identity and earning tell ----------------------------------------------------------


def _in_window(row: queries.ReferralRow, joined_at: datetime) -> bool:
    return joined_at < row.holds_until


async def join(
    conn: AsyncConnection, rows: list[queries.ReferralRow], member_id: UUID, joined_at: datetime
) -> set[UUID]:
    """The referee ``member_id`` joined: the first referral still holding them is credited (the
    first valid referral wins); with none, each pending one is told, and expires."""
    pending = [r for r in rows if r.status == "pending" and r.current_referrer_id != member_id]
    holding = [r for r in pending if _in_window(r, joined_at)]
    chosen = holding[:1] if holding else pending
    touched = set()
    for row in chosen:
        await record(conn, row.id, RefereeJoined(member_id, joined_at))
        touched.add(row.id)
        triggers = sorted(t.value for t in policy_from_json(row.terms).qualifying_triggers)
        first = await queries.earliest_qualifying_earn(conn, member_id, triggers, row.registered_at)
        if first is not None:
            qualified = Qualified(
                member_id, Trigger(first.trigger), first.occurred_at, str(first.entry_id)
            )
            await record(conn, row.id, qualified)
    return touched


def registered_message(referral: Referral, code: str) -> registration.Delivery | None:
    """What tells a partner that its referral was registered (none for a member's referral)."""
    if not isinstance(referral.source, FromPartner):
        return None
    msg = message(WebhookEvent.REGISTERED, referral, ReferralCode(code), referral.registered_at)
    return registration.Delivery(msg.id, msg.type.value, msg.body().decode())


def _identifiers(hashes: Mapping[str, str]) -> dict[str, str]:
    """``{"email": h}`` -> ``{h: "email:h"}``: a hash and the identifier key the fold compares."""
    return {h: f"{kind}:{h}" for kind, h in hashes.items() if kind in ("email", "phone") and h}


async def _linked(
    conn: AsyncConnection, member_id: UUID, hashes: Mapping[str, str], at: datetime
) -> list[queries.ReferralRow]:
    keys = _identifiers(hashes)
    rows = await queries.referrals_matching(conn, list(keys))
    for row in rows:
        for h in (row.referee_email_hash, row.referee_phone_hash):
            if h in keys:
                await record(conn, row.id, IdentifierLinked(member_id, keys[h], at))
    return rows


async def member_registered(
    conn: AsyncConnection, member_id: UUID, hashes: Mapping[str, str], at: datetime
) -> set[UUID]:
    """A member registered with these identifiers (``{"email": hash, "phone": hash}``)."""
    rows = await _linked(conn, member_id, hashes, at)
    fresh = [await queries.lock_referral(conn, r.id) for r in rows]
    return {r.id for r in rows} | await join(conn, fresh, member_id, at)


async def identifier_linked(
    conn: AsyncConnection, member_id: UUID, kind: str, identifier_hash: str, at: datetime
) -> set[UUID]:
    """A member linked an identifier: a referee's, perhaps. If they registered after the
    referral, they are the referee joining; if they are the referrer, a self-referral."""
    rows = await _linked(conn, member_id, {kind: identifier_hash}, at)
    touched = {r.id for r in rows}
    joined = await queries.registered_at(conn, member_id)
    if joined is not None:
        fresh = [await queries.lock_referral(conn, r.id) for r in rows]
        later = [r for r in fresh if r.registered_at <= joined]
        touched |= await join(conn, later, member_id, joined)
    return touched


async def members_merged(
    conn: AsyncConnection, survivor: UUID, absorbed: UUID, at: datetime
) -> set[UUID]:
    ids = await queries.referrals_of_parties(conn, [survivor, absorbed])
    for referral_id in ids:
        await record(conn, referral_id, MembersMerged(survivor, absorbed, at))
    return set(ids)


async def earned(
    conn: AsyncConnection, member_id: UUID, trigger: Trigger, at: datetime, entry_id: UUID
) -> set[UUID]:
    """A member earned: for each referral waiting on them, a possible qualifying event."""
    if trigger is Trigger.REFERRAL_CONVERTED:
        return set()
    member = await queries.survivor(conn, member_id)
    ids = await queries.joined_referrals_of(conn, member)
    for referral_id in ids:
        await record(conn, referral_id, Qualified(member, trigger, at, str(entry_id)))
    return set(ids)
