# strawberry's field decorators with arguments are typed as returning Any:
# mypy: disable-error-code="untyped-decorator"
"""The expected outcomes of joining, linking identifiers, changing contact preferences,
merging members, exporting and erasure."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from graphql_schema.errors import UserError
from graphql_schema.members.me import Me
from graphql_schema.members.outputs import ContactPreferences, Identifier
from graphql_schema.referrals import ReferralCodeRejected, SignupReferral
from graphql_schema.verification import VerificationThrottled


@strawberry.type
class MemberRegistered:
    member: Me
    created: bool = strawberry.field(
        description="False when a retry with the same idempotency key returned the member."
    )
    referral: SignupReferral | None = strawberry.field(
        default=None, description="What became of the referral code given, if any."
    )


@strawberry.type(
    description="The identifier belongs to another member: never a silent takeover. "
    "Code IDENTIFIER_TAKEN."
)
class IdentifierConflict(UserError):
    pass


@strawberry.type(
    description="Linked. An email or a phone is unverified until the code sent to it is given "
    "back (verifyIdentifier): until then it neither signs in nor receives points."
)
class IdentifierLinked:
    identifier: Identifier


@strawberry.type
class PreferencesUpdated:
    preferences: ContactPreferences


@strawberry.type
class MembersMerged:
    merge_id: strawberry.ID
    survivor_id: strawberry.ID
    absorbed_id: strawberry.ID
    merged_at: dt.datetime
    identifiers_moved: int


@strawberry.type(
    description="The merge cannot happen: SAME_MEMBER, ALREADY_MERGED, MEMBER_NOT_FOUND, "
    "MEMBER_ERASED."
)
class MergeRejected(UserError):
    pass


@strawberry.type(description="Everything the platform holds on the member (principle 6).")
class DataExport:
    identity: JSON
    loyalty: JSON
    exported_at: dt.datetime


@strawberry.type
class Erased:
    member_id: strawberry.ID
    erased_at: dt.datetime


RegisterMemberResult = Annotated[
    MemberRegistered | IdentifierConflict | ReferralCodeRejected,
    strawberry.union("RegisterMemberResult"),
]
LinkIdentifierResult = Annotated[
    IdentifierLinked | IdentifierConflict | VerificationThrottled,
    strawberry.union("LinkIdentifierResult"),
]
MergeMembersResult = Annotated[
    MembersMerged | MergeRejected, strawberry.union("MergeMembersResult")
]
