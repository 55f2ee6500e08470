"""Exclusive experiences, for staff of their venue and admins: create, change and cancel them,
issue invitations in the fair order within the contact guardrails (the report says who was
invited and who was spared, and why, and stays readable), and the experiences' figures that
``programmeStats { experiences }`` shows (built here, see ``accounts``).

Staff act for their own venues, admins for all: checked here per field where the input names
the venue, and by the loyalty service from the experience otherwise. The member's side is in
``invitations``, the door in ``door``.

One module per concern: ``outputs`` (the experience), ``eligibility`` (its conditions),
``report`` (an issuance's report), ``stats`` (the figures), ``inputs``, ``outcomes`` (the expected
outcomes, and the service's refusals as them), and the operations, ``management`` (read, create,
change, cancel) and ``issuance``. ``AREAS`` lists the modules that bring operations.
"""

from __future__ import annotations

from graphql_schema.experiences import issuance, management

AREAS = (management, issuance)
