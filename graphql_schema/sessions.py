# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""Sessions: signing in (members on the MEMBER portal, staff and admins on STAFF) and trading a
refresh token for a new session."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_schema.clients.base import ServiceProblem
from graphql_schema.common import build, graphql_id, unexpected
from graphql_schema.context import Info
from graphql_schema.errors import UserError
from graphql_schema.types import Portal
from services.identity import contract as ic

# ---- types -----------------------------------------------------------------------------------


@strawberry.type(description="A signed-in session: a short-lived access token and a refresh token.")
class Session:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    subject_kind: str = strawberry.field(description="member, staff or admin.")
    subject_id: strawberry.ID

    @classmethod
    def of(cls, s: ic.Session) -> Session:
        return cls(
            access_token=s.access_token,
            refresh_token=s.refresh_token,
            token_type=s.token_type,
            expires_in=s.expires_in,
            subject_kind=s.subject_kind,
            subject_id=graphql_id(s.subject_id),
        )


# ---- expected outcomes -----------------------------------------------------------------------


@strawberry.type(description="Wrong email, password or portal. Code INVALID_CREDENTIALS.")
class InvalidCredentials(UserError):
    pass


@strawberry.type(
    description="The refresh token is not valid (REFRESH_TOKEN_INVALID), or was already used "
    "(REFRESH_TOKEN_REUSED: every session of its family is now revoked)."
)
class RefreshRejected(UserError):
    pass


@strawberry.type(
    description="Too many sign-in attempts for this account or from this address: wait "
    "retryAfterSeconds. Code TOO_MANY_ATTEMPTS."
)
class TooManyAttempts(UserError):
    retry_after_seconds: int


LoginResult = Annotated[
    Session | InvalidCredentials | TooManyAttempts, strawberry.union("LoginResult")
]
RefreshSessionResult = Annotated[
    Session | RefreshRejected, strawberry.union("RefreshSessionResult")
]


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input
class LoginInput:
    email: str
    password: str
    portal: Portal | None = strawberry.field(default=None, description="MEMBER by default.")


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


# ---- resolvers -------------------------------------------------------------------------------


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Sign in: members on the MEMBER portal, staff and admins on STAFF."
    )
    async def login(self, info: Info, input: LoginInput) -> LoginResult:
        client = info.context.request.client
        body = build(
            ic.Login,
            email=input.email,
            password=input.password,
            portal=input.portal,
            client_address=client.host if client else None,
        )
        try:
            return Session.of(await info.context.identity.login(body))
        except ServiceProblem as problem:
            if problem.code == ic.ProblemCode.INVALID_CREDENTIALS:
                return InvalidCredentials(message=problem.message, code=problem.code)
            if problem.code == ic.ProblemCode.TOO_MANY_ATTEMPTS:
                return TooManyAttempts(
                    message=problem.message,
                    code=problem.code,
                    retry_after_seconds=int(problem.details["retry_after_seconds"]),
                )
            raise unexpected(problem) from None

    @strawberry.mutation(
        description="Trade a refresh token for a new session; a reused token revokes its family."
    )
    async def refresh_session(self, info: Info, input: RefreshSessionInput) -> RefreshSessionResult:
        body = build(ic.Refresh, refresh_token=input.refresh_token)
        try:
            return Session.of(await info.context.identity.refresh(body))
        except ServiceProblem as problem:
            if problem.code in (
                ic.ProblemCode.REFRESH_TOKEN_INVALID,
                ic.ProblemCode.REFRESH_TOKEN_REUSED,
            ):
                return RefreshRejected(message=problem.message, code=problem.code)
            raise unexpected(problem) from None
