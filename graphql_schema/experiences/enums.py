"""The loyalty service's enums of experiences, as the public schema names them."""

from __future__ import annotations

import strawberry

from services.loyalty.experiences import contract as ec

strawberry.enum(
    ec.Purpose,
    name="ExperiencePurpose",
    description="TICKET_HOLDERS: a reward for those holding a ticket; DISCOVERY: to make the "
    "production discovered (never offered to those who booked or attended it).",
)
strawberry.enum(ec.Suppression, description="Why a member was spared an invitation.")
strawberry.enum(
    ec.Period, name="AttendancePeriod", description="Over which time attendance counts."
)
Purpose = ec.Purpose
Suppression = ec.Suppression
Period = ec.Period
