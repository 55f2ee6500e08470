# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Joining the programme: anyone may register, with a member's referral code if they have one."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, unexpected
from graphql_schema.context import Info
from graphql_schema.members.inputs import RegisterMemberInput
from graphql_schema.members.me import Me
from graphql_schema.members.outcomes import MemberRegistered, RegisterMemberResult
from graphql_schema.referrals import SignupReferral, join_with_code, refuse_code
from services.identity import contract as ic


def _as_if_registered(info: Info, taken: ServiceProblem, code: str | None) -> MemberRegistered:
    """The email or phone is another member's: the answer is the one a new member gets, so that
    registering cannot tell who is a member; identity tells the owner (``registration.attempted``
    through its outbox). Nothing was stored: signing in with this password will not work. A code
    given (a member's: it was checked first) is answered as a new member's usually is."""
    would_be = ic.Member.model_validate(taken.details["member"])
    info.context.loaders.member.prime(would_be.id, would_be)
    return MemberRegistered(
        member=Me(id=graphql_id(would_be.id)),
        created=bool(taken.details.get("created")),
        referral=SignupReferral(accepted=True, code=None, message=None) if code else None,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Join the programme. Anyone may register.")
    async def register_member(self, info: Info, input: RegisterMemberInput) -> RegisterMemberResult:
        body = build(
            ic.RegisterMember,
            email=input.email,
            password=input.password,
            display_name=input.display_name,
            locale=input.locale,
            phone=input.phone,
            birth_date=dt.datetime.combine(input.birth_date, dt.time(), dt.UTC)
            if input.birth_date
            else None,
            idempotency_key=input.idempotency_key,
        )
        code = input.referral_code
        refused = await refuse_code(info, code)  # before joining: a typo can be corrected
        if refused is not None:
            return refused
        try:
            member, created = await info.context.identity.register(await info.context.actor(), body)
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.IDENTIFIER_TAKEN and "member" in problem.details:
                return _as_if_registered(info, problem, code)
            raise unexpected(problem) from None
        info.context.loaders.member.prime(member.id, member)
        referral = await join_with_code(info, member, code, body) if code else None
        return MemberRegistered(
            member=Me(id=graphql_id(member.id)), created=created, referral=referral
        )
