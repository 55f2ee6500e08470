# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Verifying the member's email or phone with the one-time code sent to it.

An email or phone the member links (or gave at registration) is unverified until its code comes
back: a linked one neither signs in nor receives points until then, one given at registration
signs in with the member's password but receives no points recorded by staff or partners.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, parse_uuid, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError
from graphql_schema.types import IdentifierKind
from services.common.actor import ActorKind
from services.identity import contract as ic

# ---- types -----------------------------------------------------------------------------------


@strawberry.type(description="A code is on its way to the email or phone.")
class VerificationCodeSent:
    kind: IdentifierKind
    value: str
    expires_at: dt.datetime = strawberry.field(description="The code works until then.")
    resend_after: dt.datetime = strawberry.field(description="A new code may be asked then.")


@strawberry.type(description="The email or phone is now the member's, verified.")
class IdentifierVerified:
    kind: IdentifierKind
    value: str
    linked_at: dt.datetime
    verified: bool


@strawberry.type(
    description="The code was not accepted: CODE_INVALID (attemptsLeft says how many guesses "
    "remain), CODE_EXPIRED or CODE_ATTEMPTS_EXHAUSTED (ask for a new code); NOTHING_TO_VERIFY "
    "when no code is awaited for this identifier; IDENTIFIER_TAKEN when another member "
    "verified it first."
)
class VerificationRejected(UserError):
    attempts_left: int | None = None


@strawberry.type(
    description="Not now: a code was sent too recently or too often (TOO_MANY_CODES), or too "
    "many identifiers wait for their code (TOO_MANY_PENDING). Wait retryAfterSeconds, if given."
)
class VerificationThrottled(UserError):
    retry_after_seconds: int | None = None


RequestIdentifierVerificationResult = Annotated[
    VerificationCodeSent | VerificationRejected | VerificationThrottled,
    strawberry.union("RequestIdentifierVerificationResult"),
]
VerifyIdentifierResult = Annotated[
    IdentifierVerified | VerificationRejected, strawberry.union("VerifyIdentifierResult")
]

_REJECTED = (
    ic.ProblemCode.CODE_INVALID,
    ic.ProblemCode.CODE_EXPIRED,
    ic.ProblemCode.CODE_ATTEMPTS_EXHAUSTED,
    ic.ProblemCode.NOTHING_TO_VERIFY,
    ic.ProblemCode.IDENTIFIER_TAKEN,
)
_THROTTLED = (ic.ProblemCode.TOO_MANY_CODES, ic.ProblemCode.TOO_MANY_PENDING)


def rejected(problem: ServiceProblem) -> VerificationRejected | None:
    if problem.code not in _REJECTED:
        return None
    left = problem.details.get("attempts_left")
    return VerificationRejected(
        message=problem.message,
        code=problem.code,
        attempts_left=None if left is None else int(left),
    )


def throttled(problem: ServiceProblem) -> VerificationThrottled | None:
    if problem.code not in _THROTTLED:
        return None
    wait = problem.details.get("retry_after_seconds")
    return VerificationThrottled(
        message=problem.message,
        code=problem.code,
        retry_after_seconds=None if wait is None else int(wait),
    )


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class RequestIdentifierVerificationInput:
    kind: IdentifierKind = strawberry.field(description="EMAIL or PHONE.")
    value: str


@strawberry.input
class VerifyIdentifierInput:
    kind: IdentifierKind = strawberry.field(description="EMAIL or PHONE.")
    value: str
    verification_code: str = strawberry.field(description="The six digits sent.")


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Send a new code to one of the member's unverified emails or phones; the "
        "previous code stops working. One a minute, five a day."
    )
    async def request_identifier_verification(
        self, info: Info, input: RequestIdentifierVerificationInput
    ) -> RequestIdentifierVerificationResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(ic.IdentifierRef, kind=input.kind, value=input.value)
        try:
            sent = await info.context.identity.request_verification(
                principal.actor, parse_uuid(principal.id, "the token's subject"), body
            )
        except ServiceProblem as problem:
            outcome = rejected(problem) or throttled(problem)
            if outcome is None:
                raise unexpected(problem) from None
            return outcome
        i = sent.identifier
        return VerificationCodeSent(
            kind=i.kind, value=i.value, expires_at=sent.expires_at, resend_after=sent.resend_after
        )

    @strawberry.mutation(
        description="Give back the code sent to an email or phone: verified, it signs in and "
        "receives points. Five guesses per code."
    )
    async def verify_identifier(
        self, info: Info, input: VerifyIdentifierInput
    ) -> VerifyIdentifierResult:
        principal = await info.context.require(ActorKind.MEMBER)
        body = build(
            ic.VerifyIdentifier,
            kind=input.kind,
            value=input.value,
            verification_code=input.verification_code,
        )
        try:
            i = await info.context.identity.verify_identifier(
                principal.actor, parse_uuid(principal.id, "the token's subject"), body
            )
        except ServiceProblem as problem:
            outcome = rejected(problem)
            if outcome is None:
                raise unexpected(problem) from None
            return outcome
        return IdentifierVerified(
            kind=i.kind, value=i.value, linked_at=i.linked_at, verified=i.verified
        )
