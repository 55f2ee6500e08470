"""Referral codes and registering referrals.

Every member has a code, given when they register (or when first read). A referral is
registered by a partner (the code, the referee as identity resolved them, the partner's own
reference, the consent stated) or by a new member joining with a code. The pure ``attribution``
module judges it against what the store knows, under advisory locks on the referee, the
referrer and the reference, so that concurrent registrations are judged one after the other.

A partner never learns whether someone is a member: the reasons that would tell it
(``SELF_REFERRAL``, ``ALREADY_MEMBER``, someone else's ``DUPLICATE_REFERRAL``) are all answered
``NOT_ELIGIBLE``; the precise reason is kept for admins (``referral_rejections``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, Problem
from services.common.uow import UnitOfWork
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.journal.entries import request_hash
from services.loyalty.partner_scope import check_referrals
from services.loyalty.referrals import guest_queries, queries, tracking, webhooks, words
from services.loyalty.referrals import registration_queries as registration
from services.loyalty.referrals.attribution import (
    Candidate,
    History,
    PriorReferral,
    Rejected,
    Rejection,
    decide,
)
from services.loyalty.referrals.codes import (
    CODE_SPACE,
    InvalidCode,
    ReferralCode,
    code_from_random,
    parse,
    share_link,
)
from services.loyalty.referrals.contract import (
    Channel,
    CodeCheck,
    GuestReferral,
    MemberCode,
    PartnerReferral,
    PublicRejection,
    RefereeIdentity,
    ReferralDecision,
    ReferralProblem,
    RegisterReferral,
    SignupReferral,
)
from services.loyalty.referrals.conversion import Status
from services.loyalty.referrals.model import (
    Consent,
    ConsentMethod,
    FromMember,
    FromPartner,
    MemberChannel,
    Referee,
    ReferralPolicy,
    Source,
    policy_of,
)
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rules.model import Locale as RulesLocale
from services.loyalty.rules.model import ReferralTerms

_CODE_ATTEMPTS = 5
NOT_ELIGIBLE_TEXT = {
    Locale.EN: "This person cannot be referred.",
    Locale.FR: "Cette personne ne peut pas être parrainée.",
}
_HIDDEN = (Rejection.SELF_REFERRAL, Rejection.ALREADY_MEMBER)


# ---- codes -----------------------------------------------------------------------------------


async def ensure_code(conn: AsyncConnection, member_id: UUID) -> str:
    """The member's code (canonical), given now if they have none yet."""
    for _ in range(_CODE_ATTEMPTS):
        found = await queries.code_of(conn, member_id)
        if found is not None:
            return found
        fresh = code_from_random(secrets.randbelow(CODE_SPACE))
        await queries.insert_code(conn, member_id, fresh.value)
    raise RuntimeError("could not give a referral code")  # pragma: no cover - 5 collisions


def _may_read(actor: Actor, member_id: UUID) -> None:
    if actor.kind is ActorKind.MEMBER and actor.id == str(member_id):
        return
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "a member reads only their own referrals")


async def member_code(
    engine: AsyncEngine, actor: Actor, member_id: UUID, link_base: str
) -> MemberCode:
    _may_read(actor, member_id)
    async with UnitOfWork(engine) as uow:
        code = ReferralCode(await ensure_code(uow.conn, member_id))
        await uow.commit()
    return MemberCode(code=code.display, link=share_link(link_base, code))


async def check_code(engine: AsyncEngine, text: str) -> CodeCheck:
    """Whether typed text is a code some member has (a mistyped character is caught by the
    code's check character before anything is looked up)."""
    parsed = parse(text)
    if isinstance(parsed, InvalidCode):
        return CodeCheck(code=None, valid=False, problem=parsed.problem.value)
    async with UnitOfWork(engine) as uow:
        owner = await queries.member_of_code(uow.conn, parsed.value)
    if owner is None:
        return CodeCheck(code=None, valid=False, problem=Rejection.UNKNOWN_CODE.value)
    return CodeCheck(code=parsed.display, valid=True, problem=None)


# ---- registering -----------------------------------------------------------------------------


def view(row: queries.ReferralRow, now: datetime) -> PartnerReferral:
    status = Status(row.status)
    if status is Status.PENDING and now >= row.holds_until:
        status = Status.EXPIRED
    return PartnerReferral(
        id=row.id,
        reference=row.reference or "",
        code=ReferralCode(row.code).display,
        status=status,
        registered_at=row.registered_at,
        holds_until=row.holds_until,
        joined_at=row.joined_at,
        converted_at=row.converted_at,
        voided_at=row.voided_at,
    )


def _referee(identity: RefereeIdentity) -> Referee:
    if identity.email_hash is None and identity.phone_hash is None:
        raise InvalidInput(
            "a referee is named by an email or a phone", code=ReferralProblem.NO_REFEREE
        )
    return Referee(email=identity.email_hash, phone=identity.phone_hash)


async def _terms(
    conn: AsyncConnection, book: RuleBook, now: datetime, latest: int
) -> ReferralTerms:
    rule_set = await book.in_force(conn, now, latest=latest)
    return rule_set.referrals if rule_set is not None else ReferralTerms()


def _public(
    reason: Rejection, policy: ReferralPolicy, locale: Locale, *, own_duplicate: bool
) -> tuple[PublicRejection, str]:
    hidden = reason in _HIDDEN or (reason is Rejection.DUPLICATE_REFERRAL and not own_duplicate)
    if hidden:
        return PublicRejection.NOT_ELIGIBLE, NOT_ELIGIBLE_TEXT[locale]
    return PublicRejection(reason.value), words.rejection(reason, policy, RulesLocale(locale.value))


async def _register(
    conn: AsyncConnection,
    book: RuleBook,
    *,
    code_text: str,
    referee_identity: RefereeIdentity,
    source: Source,
    consent: Consent | None,
    fingerprint: str,
    actor: Actor,
    locale: Locale,
    now: datetime,
    joined_member: UUID | None = None,
) -> tuple[ReferralDecision, bool]:
    """The decision, and whether a webhook delivery was queued with the referral."""
    referee = _referee(referee_identity)
    partner_id = source.partner_id if isinstance(source, FromPartner) else None
    channel = Channel.PARTNER if isinstance(source, FromPartner) else Channel(source.channel.value)
    reference = source.reference or ""
    hashes = [h for h in (referee.email, referee.phone) if h]
    parsed = parse(code_text)
    code = None if isinstance(parsed, InvalidCode) else parsed.value
    referrer, latest = await registration.code_and_latest(conn, code)
    keys = [f"ref:{channel.value}:{partner_id}:{reference}", *(f"referee:{h}" for h in hashes)]
    await registration.lock_keys(conn, [*keys, *([f"referrer:{referrer}"] if referrer else [])])
    terms = await _terms(conn, book, now, latest)
    policy = policy_of(terms)
    known = await registration.context(
        conn,
        partner_id=partner_id,
        channel=channel.value,
        reference=reference,
        hashes=hashes,
        window_start=policy.window_start(now),
        referrer=referrer,
        cap_start=policy.cap_period_start(now),
    )
    if known.earlier is not None:
        if known.earlier.request_hash != fingerprint:
            raise Problem(
                ReferralProblem.REFERENCE_REUSED,
                "this reference was already used for a different referral",
            )
        return ReferralDecision(
            accepted=True, created=False, referral=view(known.earlier, now)
        ), False
    history = History(
        referee_member_ids=frozenset(referee_identity.member_ids) - {joined_member},
        prior_referrals=tuple(PriorReferral(p.id, p.registered_at, p.voided) for p in known.priors),
        referrer_recent=known.recent,
    )
    candidate = Candidate(referrer, referee, source, consent, now)
    decision = decide(policy, candidate, history, referral_id=uuid4())
    if isinstance(decision, Rejected):
        await queries.record_rejection(
            conn,
            channel=channel.value,
            partner_id=partner_id,
            reference=reference,
            referrer_id=referrer,
            reason=decision.reason.value,
            at=now,
        )
        own = partner_id is not None and any(p.partner_id == partner_id for p in known.priors)
        public, message = _public(decision.reason, policy, locale, own_duplicate=own)
        return ReferralDecision(
            accepted=False, created=False, rejection=public, message=message
        ), False
    referral = decision.referral
    assert referrer is not None and code is not None
    values = {
        "id": referral.id,
        "referrer_id": referrer,
        "code": code,
        "channel": channel.value,
        "partner_id": partner_id,
        "reference": reference,
        "referee_email_hash": referee.email,
        "referee_phone_hash": referee.phone,
        "consent_method": referral.consent.method.value,
        "consent_given_at": referral.consent.given_at,
        "registered_at": now,
        "holds_until": decision.holds_until,
        "request_hash": fingerprint,
        "actor": actor.label(),
        "terms": tracking.terms_json(terms),
    }
    row, queued = await registration.insert_registered(
        conn, values, tracking.registered_message(referral, code)
    )
    if joined_member is not None:
        await tracking.join(conn, [row], joined_member, now)
        row = await queries.lock_referral(conn, row.id)
    return ReferralDecision(accepted=True, created=True, referral=view(row, now)), queued


async def register_referral(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: RegisterReferral,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> ReferralDecision:
    """A partner registers a referral, once per reference."""
    partner = actor.uuid()
    if actor.kind is not ActorKind.PARTNER or partner is None:
        raise Forbidden(ReferralProblem.PARTNER_ONLY, "partners register referrals")
    check_referrals(actor)
    now = now or datetime.now(UTC)
    consent = None if body.consent is None else Consent(body.consent.method, body.consent.given_at)
    async with UnitOfWork(engine) as uow:
        decision, queued = await _register(
            uow.conn,
            book,
            code_text=body.code,
            referee_identity=body.referee,
            source=FromPartner(partner, body.reference),
            consent=consent,
            fingerprint=request_hash(
                {**body.model_dump(mode="json"), "code": canonical(body.code)}
            ),
            actor=actor,
            locale=locale,
            now=now,
        )
        await uow.commit()
    if queued:
        webhooks.wake(engine)  # the partner is told at once, not at the job's next round
    return decision


async def register_signup(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: SignupReferral,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> tuple[ReferralDecision, set[UUID]]:
    """A new member joined with a member's code: a referral by that member, already joined.
    Returns the decision and the referrals whose effects are due."""
    if actor.kind is not ActorKind.SYSTEM:
        raise Forbidden(ProblemCode.FORBIDDEN, "the gateway registers a member's referral")
    now = now or datetime.now(UTC)
    consent = Consent(ConsentMethod.SELF_REGISTRATION, min(body.registered_at, now))
    async with UnitOfWork(engine) as uow:
        decision, _ = await _register(
            uow.conn,
            book,
            code_text=body.code,
            referee_identity=body.referee,
            source=FromMember(MemberChannel.SIGNUP, str(body.member_id)),
            consent=consent,
            fingerprint=request_hash({"code": canonical(body.code), "member": body.member_id}),
            actor=actor,
            locale=locale,
            now=now,
            joined_member=body.member_id,
        )
        await uow.commit()
    touched = {decision.referral.id} if decision.referral is not None else set()
    return decision, touched


def canonical(text: str) -> str:
    """The code as compared: its canonical spelling, or the text if it is no code."""
    parsed = parse(text)
    return text if isinstance(parsed, InvalidCode) else parsed.value


async def register_guest(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: GuestReferral,
    *,
    now: datetime | None = None,
) -> ReferralDecision:
    """A guest named on an accepted invitation: a referral by the inviting member, once per
    guest of the invitation. Refused like any other (a guest who is a member, say)."""
    if actor.kind is not ActorKind.SYSTEM:
        raise Forbidden(ProblemCode.FORBIDDEN, "the gateway registers a guest's referral")
    now = now or datetime.now(UTC)
    consent = Consent(ConsentMethod.VERBAL, min(body.accepted_at, now))
    async with UnitOfWork(engine) as uow:
        code = await ensure_code(uow.conn, body.member_id)
        decision, _ = await _register(
            uow.conn,
            book,
            code_text=code,
            referee_identity=body.referee,
            source=FromMember(MemberChannel.GUEST, f"{body.invitation_id}:{body.position}"),
            consent=consent,
            fingerprint=request_hash(body.model_dump(mode="json", exclude={"accepted_at"})),
            actor=actor,
            locale=Locale.EN,
            now=now,
        )
        await guest_queries.settle(uow.conn, body.invitation_id, body.position)
        await uow.commit()
    return decision
