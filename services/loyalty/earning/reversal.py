"""Reversing an earn: in full or in part, at most once, by the rules that awarded it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor
from services.common.problems import InvalidInput, NotFound, Problem
from services.common.uow import UnitOfWork
from services.loyalty import contract, ledger, rules
from services.loyalty.contract import Locale, ProblemCode
from services.loyalty.earning import queries
from services.loyalty.earning.award import engine_event, line_from_json, line_json
from services.loyalty.earning.earn import source_of
from services.loyalty.journal import queries as journal
from services.loyalty.journal.entries import (
    both,
    entry_view,
    ids_for,
    now_or,
    points_en,
    points_fr,
    prepare_member,
    request_hash,
)
from services.loyalty.journal.settle import settle
from services.loyalty.partner_scope import check_earn
from services.loyalty.rulebook.book import RuleBook


async def reverse_earn(
    engine: AsyncEngine,
    book: RuleBook,
    actor: Actor,
    body: contract.ReverseEarn,
    *,
    locale: Locale = Locale.EN,
    now: datetime | None = None,
) -> contract.ReverseOutcome:
    """Take back an earn, in full or in part, at most once, by the rules that awarded it."""
    now = now_or(now)
    source = source_of(actor, body.venue_id)
    fingerprint = request_hash(body.model_dump(mode="json"))
    async with UnitOfWork(engine) as uow:
        conn = uow.conn
        original = await journal.entry_by_key(conn, source, body.external_id)
        if original is None or original.kind != "earn":
            raise NotFound(ProblemCode.EARN_NOT_FOUND, "no earn with that external id")
        assert original.event is not None
        earned = contract.EarnEvent.model_validate(original.event)
        check_earn(actor, earned.trigger.value, earned.venue_id)  # a partner: its key's scope
        member, prepared = await prepare_member(conn, original.member_id)
        earlier = await queries.reversal_of(conn, original.id)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise Problem(
                    ProblemCode.ALREADY_REVERSED,
                    "this earn was already reversed",
                    reversed_at=earlier.recorded_at.isoformat(),
                    points=-earlier.points,
                    by=earlier.actor,
                )
            balances = await journal.balances(conn, member)
            assert balances is not None
            return contract.ReverseOutcome(
                entry=entry_view(earlier, locale),
                created=False,
                points_reversed=-earlier.points,
                shortfall=int(earlier.explanation.get("shortfall", 0)),
                balance=balances.available,
            )
        assert original.rule_version is not None and original.event is not None
        rule_set = await book.version(conn, original.rule_version)
        event_body = contract.EarnEvent.model_validate(original.event)
        event = engine_event(event_body, rule_set)
        award = rules.Award(
            total=sum(line["points"] for line in original.explanation["lines"]),
            lines=tuple(line_from_json(line) for line in original.explanation["lines"]),
        )
        if body.refunded_amount is not None and (
            event.amount is None or body.refunded_amount > event.amount
        ):
            raise InvalidInput("the refunded amount exceeds the original amount")
        back = rules.reverse(rule_set, event, award, body.refunded_amount)
        account_ids = await ids_for(conn, {member: prepared})
        await settle(conn, member, account_ids, actor, now)
        takes, shortfall = ledger.claw_back(
            await queries.lots_of_entry(conn, original.id),
            await journal.open_lots(conn, member),
            back.total,
            now,
        )
        entry = (
            ledger.reverse_entry(member, takes)
            if takes
            else ledger.Entry(ledger.EntryKind.REVERSE, ())
        )
        taken = sum(t.points for t in takes)
        original_lines = await queries.lines_of(conn, original.id)
        status_by_rule = {line.rule_key: line for line in original_lines}
        note = (
            both(
                f"{shortfall} points had already been spent and were not taken back.",
                f"{shortfall} points avaient déjà été dépensés et n'ont pas été repris.",
            )
            if shortfall
            else None
        )
        row = await journal.write_entry(
            conn,
            entry,
            account_ids=account_ids,
            member_id=member,
            source=source,
            external_id=f"reversal:{body.external_id}",
            occurred_at=now,
            actor=actor.label(),
            rule_version=original.rule_version,
            reverses_entry_id=original.id,
            request_hash=fingerprint,
            explanation={
                "summary": both(
                    f"Reversal ({body.reason}): {points_en(-taken)}",
                    f"Annulation ({body.reason}) : {points_fr(-taken)}",
                ),
                "lines": [{**line_json(line), "points": -line.points} for line in back.lines],
                "note": note,
                "shortfall": shortfall,
                "refunded_amount": str(body.refunded_amount) if body.refunded_amount else None,
            },
            lines=[
                journal.LineRow(
                    line.rule_key,
                    line.rule_version,
                    -line.points,
                    status_by_rule[line.rule_key].occurred_at,
                    status_by_rule[line.rule_key].local_day,
                    status_by_rule[line.rule_key].counts_for_status,
                )
                for line in back.lines
                if line.points and line.rule_key in status_by_rule
            ],
        )
        await journal.draw(conn, takes)
        await journal.bump_version(conn, member)  # its award lines change what it may earn
        balances = await journal.balances(conn, member)
        await uow.commit()
    assert balances is not None
    return contract.ReverseOutcome(
        entry=entry_view(row, locale),
        created=True,
        points_reversed=taken,
        shortfall=shortfall,
        balance=balances.available,
    )
