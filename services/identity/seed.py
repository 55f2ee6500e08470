"""The identity half of the demo programme: venues, staff, a partner, an admin and members.

Every step is idempotent, so seeding twice creates nothing new, with one exception: API keys are
stored hashed and cannot be shown again, so each call issues a fresh demo key for the partner.
These credentials are for trying the platform out, never for production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.actor import Actor, ActorKind
from services.identity import contract
from services.identity.members.use_cases import get_member, register_member
from services.identity.organisations.api_keys import issue_api_key
from services.identity.organisations.use_cases import (
    create_admin,
    create_partner,
    create_staff_account,
    create_venue,
)
from services.identity.privacy.use_cases import update_preferences
from services.identity.verification import queries as verifications
from services.identity.verification.codes import CODE_KINDS
from services.identity.verification.use_cases import request_code, verify_identifier

SEED_ACTOR = Actor(ActorKind.ADMIN, "demo-seed")

ADMIN_EMAIL = "admin@loyalty.example.org"
ADMIN_PASSWORD = "demo-programme-key"
DEMO_KEY_LABEL = "demo"
# the demo partner, a ticketing reseller: records purchases and registers referrals
DEMO_SCOPE = contract.PartnerScope(triggers=["purchase"], register_referrals=True)


@dataclass(frozen=True)
class DemoVenue:
    name: str
    external_id: str
    staff_email: str
    staff_password: str
    staff_name: str


@dataclass(frozen=True)
class DemoMember:
    email: str
    password: str
    display_name: str
    locale: contract.Locale
    interests: tuple[str, ...]


VENUES = (
    DemoVenue(
        "Théâtre du Rivage",
        "demo-venue-theatre-du-rivage",
        "billetterie@theatre-du-rivage.example.org",
        "demo-staff-1",
        "Camille Roux",
    ),
    DemoVenue(
        "Salle Lumière",
        "demo-venue-salle-lumiere",
        "accueil@salle-lumiere.example.org",
        "demo-staff-2",
        "Julien Marchand",
    ),
)
PARTNER_NAME = "Billetterie Partenaire"
PARTNER_EXTERNAL_ID = "demo-partner-billetterie"
MEMBERS = (
    DemoMember(
        "ines.moreau@example.org",
        "demo-member-1",
        "Inès Moreau",
        contract.Locale.FR,
        ("theatre", "dance"),
    ),
    DemoMember(
        "hugo.lefevre@example.org",
        "demo-member-2",
        "Hugo Lefèvre",
        contract.Locale.FR,
        ("music", "cinema"),
    ),
    DemoMember(
        "amelia.clarke@example.org",
        "demo-member-3",
        "Amelia Clarke",
        contract.Locale.EN,
        ("theatre", "music"),
    ),
)


async def seed_demo_identity(engine: AsyncEngine, *, api_key: bool = True) -> dict[str, Any]:
    """Seed once; return the demo credentials (a fresh partner API key on every call, unless
    ``api_key=False``: the caller then looks after the partner's key)."""
    await create_admin(engine, ADMIN_EMAIL, ADMIN_PASSWORD)

    staff: list[dict[str, str]] = []
    for demo in VENUES:
        venue = (
            await create_venue(
                engine,
                SEED_ACTOR,
                contract.CreateVenue(name=demo.name, external_id=demo.external_id),
            )
        ).value
        await create_staff_account(
            engine,
            SEED_ACTOR,
            contract.CreateStaffAccount(
                email=demo.staff_email,
                password=demo.staff_password,
                display_name=demo.staff_name,
                venue_ids=[venue.id],
            ),
        )
        staff.append(
            {"email": demo.staff_email, "password": demo.staff_password, "venueId": str(venue.id)}
        )

    partner = (
        await create_partner(
            engine,
            SEED_ACTOR,
            contract.CreatePartner(name=PARTNER_NAME, external_id=PARTNER_EXTERNAL_ID),
        )
    ).value
    secret = None
    if api_key:
        secret = (
            await issue_api_key(
                engine,
                SEED_ACTOR,
                partner.id,
                contract.IssueApiKey(label=DEMO_KEY_LABEL, scope=DEMO_SCOPE),
            )
        ).value.secret
        assert secret is not None

    members: list[dict[str, str]] = []
    for demo_member in MEMBERS:
        outcome = await register_member(
            engine,
            SEED_ACTOR,
            contract.RegisterMember(
                email=demo_member.email,
                password=demo_member.password,
                display_name=demo_member.display_name,
                locale=demo_member.locale,
                idempotency_key=f"demo-member:{demo_member.email}",
            ),
        )
        member = outcome.value
        await _verify_as_delivered(engine, member.id)
        if outcome.created:
            await update_preferences(
                engine,
                SEED_ACTOR,
                member.id,
                contract.UpdatePreferences(
                    consents=[
                        contract.ConsentChange(channel=contract.Channel.EMAIL, granted=True),
                        contract.ConsentChange(channel=contract.Channel.PUSH, granted=True),
                    ],
                    interests=list(demo_member.interests),
                    source="demo_seed",
                ),
            )
        members.append(
            {
                "email": demo_member.email,
                "password": demo_member.password,
                "memberId": str(member.id),
            }
        )

    return {
        "admin": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        "staff": staff,
        "partners": [{"partnerId": str(partner.id), "apiKey": secret}],
        "members": members,
    }


async def _verify_as_delivered(engine: AsyncEngine, member_id: UUID) -> None:
    """The demo members' mailboxes are imaginary: the seed reads the codes sent to them from the
    outbox, as the messaging system would, and gives them back as the members would."""
    member = Actor(ActorKind.MEMBER, str(member_id))
    for identifier in (await get_member(engine, member, member_id)).identifiers:
        if not identifier.verified and identifier.kind.value in CODE_KINDS:
            async with engine.connect() as conn:
                waiting = await verifications.codes_to_send(
                    conn, member_id=member_id, value=identifier.value
                )
            if not waiting:  # seeded before codes were sent: ask for one
                ref = contract.IdentifierRef(kind=identifier.kind, value=identifier.value)
                await request_code(engine, member, member_id, ref)
    async with engine.connect() as conn:
        waiting = await verifications.codes_to_send(conn, member_id=member_id)
    for sent in waiting:
        await verify_identifier(
            engine,
            member,
            member_id,
            contract.VerifyIdentifier(
                kind=sent.kind, value=sent.value, verification_code=sent.verification_code
            ),
        )
