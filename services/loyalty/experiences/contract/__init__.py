"""The internal HTTP API of experiences: request and response models (the gateway imports this
and ``services.loyalty.contract`` only).

Routes, all JSON, under ``/internal`` unless said otherwise (``?locale=en|fr`` where texts are
returned; refusals are a ``ProblemBody`` with a code of ``ExperienceProblem`` or
``services.loyalty.contract.ProblemCode``):

====== ============================================= =================================== ==========
method path                                          body -> answer                       who
====== ============================================= =================================== ==========
POST   /experiences                                  CreateExperience -> Experience       staff, admin
                                                     (201 created, 200 same key again)
GET    /experiences?venue_id=&include_past=          -> list[Experience]                  staff, admin
GET    /experiences/{id}                             -> Experience                        staff, admin
PATCH  /experiences/{id}                             UpdateExperience -> Experience       staff, admin
POST   /experiences/{id}/cancel                      CancelExperience -> Experience       staff, admin
POST   /experiences/{id}/issuances                   IssueInvitations -> IssuanceReport   staff, admin
                                                     (201 issued, 200 same key again)
GET    /experiences/{id}/issuances                   -> list[IssuanceReport]              staff, admin
GET    /issuances/{id}                               -> IssuanceReport                    staff, admin
GET    /members/{member_id}/invitations              -> list[MemberInvitation]            the member, admin
POST   /invitations/{id}/respond                     RespondToInvitation -> MemberInvitation  the member
POST   /invitations/{id}/rating                      RateExperience -> Rating             the member
POST   /door/redeem                                  RedeemInvitation -> RedeemOutcome    staff (of the venue)
POST   /door/redeem-batch                            RedeemBatch -> BatchOutcome          staff (of the venue)
GET    /experience-figures?venue_id=                 -> ExperienceFigures                 staff (their venues), admin
POST   /jobs/experiences                             -> ExperienceJobReport               admin
GET    /.well-known/jwks.json (not internal, public) -> {"keys": [...]} the door passes' keys
====== ============================================= =================================== ==========

Staff act only for venues in their actor's ``venue_ids`` (``WRONG_VENUE`` otherwise); at the
door the venue may be left out when the staff account has exactly one. Every outcome of a
redemption is a member of ``RedeemOutcome`` (200), never a problem: checked in, already checked
in (when, by whom), wrong venue, outside the door window, cancelled, not accepted, not found,
unreadable (a typing mistake the code's check symbol caught) and throttled (too many failed
guesses by this staff account).
"""

from __future__ import annotations

from services.loyalty.experiences.contract.base import (
    ExperienceProblem,
    Model,
)
from services.loyalty.experiences.contract.door import (
    AlreadyCheckedIn,
    BatchOutcome,
    Cancelled,
    CheckedIn,
    ExperienceFigureRow,
    ExperienceFigures,
    ExperienceJobReport,
    Figures,
    NotAccepted,
    NotFound,
    OfflineScan,
    OutsideWindow,
    RedeemBatch,
    RedeemInvitation,
    RedeemOutcome,
    Redemption,
    ScanResult,
    Throttled,
    Unreadable,
    VenueFigureRow,
    WrongVenue,
)
from services.loyalty.experiences.contract.experiences import (
    CancelExperience,
    CreateExperience,
    Experience,
    ExperienceTexts,
    IssuanceReport,
    IssuedInvitation,
    IssueInvitations,
    SparedMember,
    UpdateExperience,
)
from services.loyalty.experiences.contract.members import (
    DoorPass,
    ExperienceSummary,
    Guest,
    GuestIn,
    MemberInvitation,
    RateExperience,
    Rating,
    RespondToInvitation,
    ResponseAction,
)
from services.loyalty.experiences.eligibility import (
    AttendedAtLeast,
    AttendedProduction,
    BookedProduction,
    Condition,
    Eligibility,
    Period,
    TierAtLeast,
)
from services.loyalty.experiences.guardrails import Suppression
from services.loyalty.experiences.model import Channel, InvitationState, Purpose

__all__ = [
    "AlreadyCheckedIn",
    "AttendedAtLeast",
    "AttendedProduction",
    "BatchOutcome",
    "BookedProduction",
    "CancelExperience",
    "Cancelled",
    "Channel",
    "CheckedIn",
    "Condition",
    "CreateExperience",
    "DoorPass",
    "Eligibility",
    "Experience",
    "ExperienceFigureRow",
    "ExperienceFigures",
    "ExperienceJobReport",
    "ExperienceProblem",
    "ExperienceSummary",
    "ExperienceTexts",
    "Figures",
    "Guest",
    "GuestIn",
    "InvitationState",
    "IssuanceReport",
    "IssueInvitations",
    "IssuedInvitation",
    "MemberInvitation",
    "Model",
    "NotAccepted",
    "NotFound",
    "OfflineScan",
    "OutsideWindow",
    "Period",
    "Purpose",
    "RateExperience",
    "Rating",
    "RedeemBatch",
    "RedeemInvitation",
    "RedeemOutcome",
    "Redemption",
    "RespondToInvitation",
    "ResponseAction",
    "ScanResult",
    "SparedMember",
    "Suppression",
    "Throttled",
    "TierAtLeast",
    "Unreadable",
    "UpdateExperience",
    "VenueFigureRow",
    "WrongVenue",
]
