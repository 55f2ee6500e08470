"""The matrix's rows for members, sessions and organisations: joining, signing in, a member's
own changes, export and erasure, and what admins alone do (merges, venues, partners, staff
accounts, partner keys and their scopes)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from tests.integration.gateway.authorization_table import (
    Cell,
    Ok,
    Prepared,
    Row,
    Typed,
    admins,
    everyone,
    members,
    sends,
)
from tests.integration.gateway.authorization_world import Gateway, World, card_number, fresh

# ---- members and sessions ----------------------------------------------------------------

REGISTER = """mutation($i: RegisterMemberInput!) { @registerMember(input: $i) {
  __typename ... on MemberRegistered { created member { id } } ... on UserError { code } } }"""
SIGN_IN = """mutation($i: LoginInput!) { @login(input: $i) {
  __typename ... on Session { subjectId subjectKind } ... on UserError { code } } }"""
REFRESH = """mutation($i: RefreshSessionInput!) { @refreshSession(input: $i) {
  __typename ... on Session { subjectId } ... on UserError { code } } }"""
LINK = """mutation($i: LinkIdentifierInput!) { @linkIdentifier(input: $i) {
  __typename ... on IdentifierLinked { identifier { kind value } } ... on UserError { code } } }"""
PREFERENCES = """mutation($i: UpdateContactPreferencesInput!) {
  @updateContactPreferences(input: $i) { preferences { invitationCapPer30Days interests } } }"""
MERGE = """mutation($i: MergeMembersInput!) { @mergeMembers(input: $i) {
  __typename ... on MembersMerged { survivorId absorbedId } ... on UserError { code } } }"""
EXPORT = "mutation { @exportMyData { identity loyalty } }"
ERASE = "mutation { @eraseMe { memberId } }"


async def _joiner(world: World, view: str) -> Prepared:
    del world, view
    return Prepared(
        {"i": {"email": f"{fresh('joiner')}@example.org", "password": Gateway.PASSWORD}}
    )


def _created(cell: Cell, registered: dict[str, Any]) -> None:
    assert registered["created"] is True and registered["member"]["id"]


def _as_a(world: World, view: str) -> dict[str, Any]:
    del view
    return {"i": {"email": world.member.email, "password": Gateway.PASSWORD, "portal": "MEMBER"}}


def _signed_in_as_a(cell: Cell, session: dict[str, Any]) -> None:
    assert session["subjectId"] == cell.world.member.id


async def _refresh_token(world: World, view: str) -> Prepared:
    del view
    session = await world.gateway.login(world.member.email)
    return Prepared({"i": {"refreshToken": session["refreshToken"]}})


def _card(world: World, view: str) -> dict[str, Any]:
    """A new card; another member tries A's own."""
    value = world.card if view == "other_member" else card_number()
    return {"i": {"kind": "MEMBERSHIP_CARD", "value": value}}


def _linked_as_sent(cell: Cell, linked: dict[str, Any]) -> None:
    sent = cell.prepared.variables["i"]
    assert linked["identifier"] == {"kind": sent["kind"], "value": sent["value"]}


def _own_preferences(cell: Cell, updated: dict[str, Any]) -> None:
    own = cell.world.member if cell.view == "member" else cell.world.other_member
    assert updated["preferences"] == {"invitationCapPer30Days": 30, "interests": [own.interest]}


async def _duplicates(world: World, view: str) -> Prepared:
    """Two new members, the second a duplicate of the first."""
    del view
    survivor, absorbed = await world.new_member(), await world.new_member()
    merge = {"survivorId": survivor.id, "absorbedId": absorbed.id, "reason": "one person"}
    return Prepared({"i": merge}, subject=survivor.id)


def _merged(cell: Cell, merged: dict[str, Any]) -> None:
    sent = cell.prepared.variables["i"]
    assert (merged["survivorId"], merged["absorbedId"]) == (sent["survivorId"], sent["absorbedId"])


def _own_export(cell: Cell, export: dict[str, Any]) -> None:
    world = cell.world
    other = world.other_member if cell.view == "member" else world.member
    held = json.dumps(export)
    assert cell.subject in held and other.id not in held and other.email not in held


async def _disposable(world: World, view: str) -> Prepared:
    """A member erases only themselves: a new member of their own, not the shared ones."""
    if view not in ("member", "other_member"):
        return Prepared()
    member = await world.new_member()
    return Prepared(credentials={"token": member.token}, subject=member.id)


def _erased_themself(cell: Cell, erased: dict[str, Any]) -> None:
    assert erased["memberId"] == cell.subject


# ---- verifying an email or a phone --------------------------------------------------------

ASK_CODE = """mutation($i: RequestIdentifierVerificationInput!) {
  @requestIdentifierVerification(input: $i) {
  __typename ... on VerificationCodeSent { kind value } ... on UserError { code } } }"""
VERIFY = """mutation($i: VerifyIdentifierInput!) { @verifyIdentifier(input: $i) {
  __typename ... on IdentifierVerified { kind value verified } ... on UserError { code } } }"""


async def _awaiting(world: World, view: str, *, with_code: bool) -> Prepared:
    """A new member waiting for the code sent to an email they linked (a minute ago, so a new
    code may be asked for); any other point of view names A's verified email."""
    if view != "member":
        code = {"verificationCode": "000000"} if with_code else {}
        return Prepared({"i": {"kind": "EMAIL", "value": world.member.email, **code}})
    member, email = await world.new_member(), f"{fresh('linked')}@example.org"
    await world.gateway.data(
        LINK.replace("@", ""), {"i": {"kind": "EMAIL", "value": email}}, token=member.token
    )
    sent: dict[str, Any] = {"kind": "EMAIL", "value": email}
    if with_code:
        sent["verificationCode"] = await world.gateway.sent_code(email)
    else:
        async with world.gateway.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "UPDATE identity.identifier_verifications"
                    " SET last_sent_at = last_sent_at - interval '1 minute' WHERE value = :v"
                ),
                {"v": email},
            )
    return Prepared({"i": sent}, credentials={"token": member.token}, subject=member.id)


async def _asking(world: World, view: str) -> Prepared:
    return await _awaiting(world, view, with_code=False)


async def _verifying(world: World, view: str) -> Prepared:
    return await _awaiting(world, view, with_code=True)


def _sent_to_it(cell: Cell, sent: dict[str, Any]) -> None:
    asked = cell.prepared.variables["i"]
    assert (sent["kind"], sent["value"]) == (asked["kind"], asked["value"])
    assert sent.get("verified", True) is True


VERIFICATIONS = [
    Row(
        "requestIdentifierVerification",
        ASK_CODE,
        members(
            Ok("VerificationCodeSent", _sent_to_it),
            other_member=Typed("VerificationRejected", "NOTHING_TO_VERIFY"),
        ),
        _asking,
    ),
    Row(
        "verifyIdentifier",
        VERIFY,
        members(
            Ok("IdentifierVerified", _sent_to_it),
            other_member=Typed("VerificationRejected", "NOTHING_TO_VERIFY"),
        ),
        _verifying,
    ),
]

MEMBERS = [
    Row("registerMember", REGISTER, everyone(Ok("MemberRegistered", _created)), _joiner),
    Row(
        "login",
        SIGN_IN,
        everyone(Ok("Session", _signed_in_as_a), erased=Ok("Session", _signed_in_as_a)),
        sends(_as_a),
    ),
    Row("refreshSession", REFRESH, everyone(Ok("Session"), erased=Ok("Session")), _refresh_token),
    Row(
        "linkIdentifier",
        LINK,
        members(
            Ok("IdentifierLinked", _linked_as_sent),
            other_member=Typed("IdentifierConflict", "IDENTIFIER_TAKEN"),
        ),
        sends(_card),
    ),
    Row(
        "updateContactPreferences",
        PREFERENCES,
        members(Ok(check=_own_preferences)),
        sends(lambda w, v: {"i": {"invitationCapPer30Days": 30}}),
    ),
    Row("mergeMembers", MERGE, admins(Ok("MembersMerged", _merged)), _duplicates),
    Row("exportMyData", EXPORT, members(Ok(check=_own_export))),
    Row("eraseMe", ERASE, members(Ok(check=_erased_themself)), _disposable),
]

# ---- organisations (admins) --------------------------------------------------------------

VENUE = """mutation($i: CreateVenueInput!) { @createVenue(input: $i) { created venue { id } } }"""
PARTNER = """mutation($i: CreatePartnerInput!) { @createPartner(input: $i) {
  created partner { id } } }"""
STAFF = """mutation($i: CreateStaffAccountInput!) { @createStaffAccount(input: $i) {
  __typename ... on StaffAccountCreated { account { id venueIds } } ... on UserError { code } } }"""
ISSUE_KEY = """mutation($i: IssuePartnerApiKeyInput!) { @issuePartnerApiKey(input: $i) {
  __typename ... on ApiKeyIssued { secret key { id partnerId } } ... on UserError { code } } }"""
REVOKE_KEY = """mutation($i: RevokePartnerApiKeyInput!) { @revokePartnerApiKey(input: $i) {
  __typename ... on ApiKeyRevoked { key { id revokedAt } } ... on UserError { code } } }"""
SCOPE = """mutation($i: SetPartnerScopeInput!) { @setPartnerScope(input: $i) {
  __typename ... on PartnerScopeSet { key { id scope { triggers } } } ... on UserError { code } } }"""


def _created_anew(cell: Cell, created: dict[str, Any]) -> None:
    assert created["created"] is True


async def _a_key(world: World, view: str) -> Prepared:
    """A new key of the partner, working until the cell revokes it (or changes its scope)."""
    del view
    return Prepared({"i": {"keyId": await world.new_key()}})


async def _a_key_to_scope(world: World, view: str) -> Prepared:
    prepared = await _a_key(world, view)
    prepared.variables["i"]["scope"] = {"triggers": ["PURCHASE"], "venueIds": [world.venue]}
    return prepared


ORGANISATIONS = [
    Row(
        "createVenue",
        VENUE,
        admins(Ok(check=_created_anew)),
        sends(lambda w, v: {"i": {"name": fresh("Venue"), "externalId": fresh("venue")}}),
    ),
    Row(
        "createPartner",
        PARTNER,
        admins(Ok(check=_created_anew)),
        sends(lambda w, v: {"i": {"name": fresh("Partner"), "externalId": fresh("partner")}}),
    ),
    Row(
        "createStaffAccount",
        STAFF,
        admins(Ok("StaffAccountCreated")),
        sends(
            lambda w, v: {
                "i": {
                    "email": f"{fresh('staff')}@example.org",
                    "password": Gateway.PASSWORD,
                    "venueIds": [w.venue],
                }
            }
        ),
    ),
    Row(
        "issuePartnerApiKey",
        ISSUE_KEY,
        admins(Ok("ApiKeyIssued")),
        sends(lambda w, v: {"i": {"partnerId": w.partner_id, "label": fresh("key")}}),
    ),
    Row("revokePartnerApiKey", REVOKE_KEY, admins(Ok("ApiKeyRevoked")), _a_key),
    Row("setPartnerScope", SCOPE, admins(Ok("PartnerScopeSet")), _a_key_to_scope),
]

ACCOUNTS = [*MEMBERS, *VERIFICATIONS, *ORGANISATIONS]
