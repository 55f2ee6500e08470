"""Publishing a rule set, and the public rulebook with its history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor, ActorKind
from services.common.problems import Forbidden, InvalidInput, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract, rules
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.journal.entries import now_or
from services.loyalty.referrals import words as referral_words
from services.loyalty.referrals.model import policy_of
from services.loyalty.rulebook import queries
from services.loyalty.rulebook.book import RuleBook
from services.loyalty.rulebook.views import change_views, changes_json, tier_view


async def publish_rule_set(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.PublishRuleSet,
    *,
    now: datetime | None = None,
) -> contract.PublishedRuleSet:
    """Validate and publish a new version; a change that lowers earnings must be announced."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SYSTEM):
        raise Forbidden(ProblemCode.FORBIDDEN, "only admins publish rule sets")
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        await queries.lock_rule_sets(conn)
        if body.idempotency_key is not None:
            earlier = await queries.rule_set_by_key(conn, body.idempotency_key)
            if earlier is not None:
                return contract.PublishedRuleSet(
                    version=earlier.version,
                    effective_at=earlier.effective_at,
                    published_at=earlier.published_at,
                    changes=change_views(earlier.changes, Locale.EN),
                    created=False,
                )
        versions = await book.versions(conn)
        previous = versions[-1].rule_set if versions else None
        document = {"version": (previous.version + 1) if previous else 1, **body.document}
        try:
            rule_set = rules.parse_rule_set(document)
            changes = rules.check_publication(previous, rule_set, now)
        except rules.RuleSetInvalid as invalid:
            raise InvalidInput(
                "the rule set is not valid",
                code=ProblemCode.RULE_SET_INVALID,
                errors=invalid.errors,
            ) from None
        except rules.RuleSetRejected as rejected:
            raise Problem(rejected.code, rejected.message) from None
        row = await queries.insert_rule_set(
            conn,
            version=rule_set.version,
            document=rule_set.model_dump(mode="json"),
            effective_at=rule_set.effective_at,
            published_by=actor.label(),
            changes=changes_json(changes),
            idempotency_key=body.idempotency_key,
        )
        await uow.commit()
    return contract.PublishedRuleSet(
        version=row.version,
        effective_at=row.effective_at,
        published_at=row.published_at,
        changes=change_views(row.changes, Locale.EN),
        created=True,
    )


def referral_terms(rule_set: rules.RuleSet, locale: rules.Locale) -> list[str]:
    """The referral terms, in plain words, when some rule of the set rewards referrals."""
    if not any(r.trigger is rules.Trigger.REFERRAL_CONVERTED for r in rule_set.rules):
        return []
    return referral_words.policy(policy_of(rule_set.referrals), locale)


async def rulebook(
    engine: AsyncEngine, book: RuleBook, *, locale: Locale, now: datetime | None = None
) -> contract.Rulebook:
    """The public rulebook: the rules in force, in plain words, and their history."""
    now = now_or(now)
    async with UnitOfWork(engine) as uow:
        versions = await book.versions(uow.conn)
    current = rules.in_force([p.rule_set for p in versions], now)
    lang = rules.Locale(locale.value)
    fr = locale is Locale.FR
    return contract.Rulebook(
        locale=locale,
        version=current.version if current else None,
        effective_at=current.effective_at if current else None,
        currency=current.currency if current else "EUR",
        rules=[
            contract.RuleView(
                key=r.key,
                title=r.title_fr if fr else r.title_en,
                trigger=contract.Trigger(r.trigger.value),
                description=rules.describe(r, lang, current),  # type: ignore[arg-type]
                exclusive_group=r.exclusive_group,
                pending_days=r.pending_days,
                counts_for_status=r.counts_for_status,
            )
            for r in (current.rules if current else ())
        ],
        tiers=[tier_view(t, locale) for t in (current.tiers if current else ())],
        policies=rules.describe_policy(current, lang) + referral_terms(current, lang)
        if current
        else [],
        changelog=[
            contract.RuleSetVersion(
                version=p.rule_set.version,
                effective_at=p.rule_set.effective_at,
                published_at=p.published_at,
                published_by=p.published_by,
                changes=change_views(p.changes, locale),
                in_force=current is not None and p.rule_set.version == current.version,
                upcoming=p.rule_set.effective_at > now,
            )
            for p in reversed(versions)
        ],
    )
