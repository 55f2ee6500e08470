"""Members: the signed-in member (``me``), joining, linking identifiers, contact preferences,
merging duplicates (admins), and the member's export and erasure.

A member only ever reads or changes themselves: no operation here takes a member id from a
member; the id comes from the verified access token. Admin operations require an admin token.

One module per concern: ``me`` (the member's view, and the ``me`` query), ``outputs`` (identifiers
and contact preferences), ``inputs``, ``outcomes``, and the operations, ``registration``,
``contact`` (identifiers and preferences), ``merging`` and ``privacy`` (export and erasure).
``AREAS`` lists the modules that bring operations.
"""

from __future__ import annotations

from graphql_schema.members import contact, me, merging, privacy, registration

AREAS = (me, registration, contact, merging, privacy)
