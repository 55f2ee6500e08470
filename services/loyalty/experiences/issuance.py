"""One issuance of invitations, planned: walk the fair order, ask the guardrails about each
member, stop once enough are invited, and count what was spared and why (no I/O).

Members past the limit are *not reached*: they were neither invited nor spared, so they do not
count as suppressions. Only the members the issuance would have invited are asked, so the
report's suppressions measure exactly the pressure the guardrails spared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from services.loyalty.experiences.guardrails import Decision, Hold, Issue, Suppressed, Suppression


@dataclass(frozen=True, slots=True)
class Plan:
    """Who is invited (now or held), who is spared (with the decision's reasons), who is not
    reached; each in the fair order."""

    invited: tuple[tuple[UUID, Issue | Hold], ...]
    suppressed: tuple[tuple[UUID, Suppressed], ...]
    not_reached: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """The figures staff read: invitations issued (``held`` of them wait for quiet hours to end)
    and suppressions counted by their first reason (``by_reason``) and by every reason that
    applied (``by_any_reason``); both list every reason, zeros included, in a stable order."""

    issued: int
    held: int
    suppressed: int
    not_reached: int
    by_reason: Mapping[Suppression, int]
    by_any_reason: Mapping[Suppression, int]


def plan(
    ordered: Sequence[UUID], decide: Callable[[UUID], Decision], limit: int | None = None
) -> Plan:
    """Ask ``decide`` about each member of ``ordered`` in turn until ``limit`` are invited
    (``None``: no limit). ``decide`` is called for no member past the limit."""
    if limit is not None and limit < 0:
        raise ValueError("the limit cannot be negative")
    invited: list[tuple[UUID, Issue | Hold]] = []
    suppressed: list[tuple[UUID, Suppressed]] = []
    for n, member_id in enumerate(ordered):
        if limit is not None and len(invited) >= limit:
            return Plan(tuple(invited), tuple(suppressed), tuple(ordered[n:]))
        decision = decide(member_id)
        if isinstance(decision, Suppressed):
            suppressed.append((member_id, decision))
        else:
            invited.append((member_id, decision))
    return Plan(tuple(invited), tuple(suppressed), ())


def report(plan: Plan) -> Report:
    first = dict.fromkeys(Suppression, 0)
    every = dict.fromkeys(Suppression, 0)
    for _, decision in plan.suppressed:
        first[decision.reason] += 1
        for reason in decision.reasons:
            every[reason] += 1
    return Report(
        issued=len(plan.invited),
        held=sum(1 for _, d in plan.invited if isinstance(d, Hold)),
        suppressed=len(plan.suppressed),
        not_reached=len(plan.not_reached),
        by_reason=first,
        by_any_reason=every,
    )
