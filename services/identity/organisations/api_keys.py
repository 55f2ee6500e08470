"""Partner API keys: issued by admins with a secret shown once, revoked, verified on each call.

Only a key's SHA-256 digest is stored; its random prefix finds the row in one lookup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor
from services.common.problems import NotFound, Problem, Unauthenticated
from services.common.uow import UnitOfWork
from services.identity import audit, contract, tokens
from services.identity.access import require_admin
from services.identity.contract import ProblemCode
from services.identity.organisations import queries
from services.identity.outcome import Outcome
from services.identity.revocations.use_cases import revoke


async def issue_api_key(
    engine: AsyncEngine, actor: Actor, partner_id: UUID, body: contract.IssueApiKey
) -> Outcome[contract.IssuedApiKey]:
    """Issue a partner API key. Its secret is shown once: an idempotent retry returns the key's
    metadata with ``secret=None``."""
    require_admin(actor)
    now = datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        if await queries.partner(conn, partner_id=partner_id) is None:
            raise NotFound(
                ProblemCode.PARTNER_NOT_FOUND, "no such partner", partner_id=str(partner_id)
            )
        for _ in range(3):
            prefix, full_key = tokens.new_api_key()
            key = await queries.insert_api_key(
                conn,
                partner_id=partner_id,
                label=body.label,
                prefix=prefix,
                secret_hash=tokens.sha256_hex(full_key),
                idempotency_key=body.idempotency_key,
                scope=body.scope,
                now=now,
            )
            if key is not None:
                break
            if body.idempotency_key is not None:
                earlier = await queries.api_key_by_idempotency_key(
                    conn, partner_id, body.idempotency_key
                )
                if earlier is not None:
                    if earlier.key.label != body.label or _scope_of_issue(
                        earlier.key
                    ) != _scope_of_issue(body):
                        raise Problem(
                            ProblemCode.IDEMPOTENCY_KEY_REUSED,
                            "this idempotency key was used for a different API key",
                        )
                    return Outcome(contract.IssuedApiKey(key=earlier.key, secret=None), False)
            # otherwise the random prefix collided: draw another
        else:  # pragma: no cover - three prefix collisions in a row
            raise RuntimeError("could not draw a unique API key prefix")
        await audit.record(
            conn,
            actor=actor.label(),
            action="api_key.issued",
            subject=str(key.id),
            details={
                "partner_id": str(partner_id),
                "prefix": key.prefix,
                "scope": key.scope.model_dump(mode="json"),
            },
        )
        await uow.commit()
    return Outcome(contract.IssuedApiKey(key=key, secret=full_key), created=True)


def _scope_of_issue(item: contract.ApiKey | contract.IssueApiKey) -> dict[str, object]:
    """A scope compared as a set of triggers and of venues."""
    scope = item.scope
    venues = None if scope.venue_ids is None else sorted(set(scope.venue_ids))
    return {
        "triggers": sorted(set(scope.triggers)),
        "venues": venues,
        "referrals": scope.register_referrals,
    }


async def set_scope(
    engine: AsyncEngine, actor: Actor, key_id: UUID, scope: contract.PartnerScope
) -> contract.ApiKey:
    """Change what a partner's key may do (admins); audited with the scope before and after.
    A change reaches every gateway through the revocation feed, as a revocation does: they stop
    serving the key's former scope from memory as soon as they are told."""
    require_admin(actor)
    now = datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        before = await queries.api_key_by_id(uow.conn, key_id)
        key = await queries.set_scope(uow.conn, key_id, scope, now)
        if key is None or before is None:
            raise NotFound(ProblemCode.API_KEY_NOT_FOUND, "no such API key", key_id=str(key_id))
        if key.scope != before.scope:
            await revoke(uow.conn, contract.RevocationKind.API_KEY_SCOPE, [key_id], now)
        await audit.record(
            uow.conn,
            actor=actor.label(),
            action="api_key.scope_set",
            subject=str(key_id),
            details={
                "before": before.scope.model_dump(mode="json"),
                "after": key.scope.model_dump(mode="json"),
            },
        )
        await uow.commit()
    return key


async def revoke_api_key(engine: AsyncEngine, actor: Actor, key_id: UUID) -> contract.ApiKey:
    """Revoke a partner API key; revoking it again changes nothing."""
    require_admin(actor)
    now = datetime.now(UTC)
    async with UnitOfWork(engine) as uow:
        revoked = await queries.revoke_api_key(uow.conn, key_id, now)
        if revoked is None:
            raise NotFound(ProblemCode.API_KEY_NOT_FOUND, "no such API key", key_id=str(key_id))
        key, changed = revoked
        if changed:  # gateways stop taking it from memory as soon as they are told
            await revoke(uow.conn, contract.RevocationKind.API_KEY, [key_id], now)
            await audit.record(
                uow.conn, actor=actor.label(), action="api_key.revoked", subject=str(key_id)
            )
            await uow.commit()
    return key


async def verify_api_key(
    engine: AsyncEngine, body: contract.VerifyApiKey
) -> contract.PartnerPrincipal:
    """The partner a key belongs to; unknown, malformed and revoked keys are ``API_KEY_INVALID``."""
    invalid = Unauthenticated(ProblemCode.API_KEY_INVALID, "the API key is not valid")
    prefix = tokens.api_key_prefix(body.api_key)
    if prefix is None:
        raise invalid
    async with UnitOfWork(engine) as uow:
        row = await queries.api_key_by_prefix(uow.conn, prefix)
    digest = tokens.sha256_hex(body.api_key)
    if row is None or not tokens.same_digest(row.secret_hash, digest) or row.key.revoked_at:
        raise invalid
    return contract.PartnerPrincipal(
        partner_id=row.key.partner_id, key_id=row.key.id, scope=row.key.scope
    )
