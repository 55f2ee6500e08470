"""The identity service's tables, all in the ``identity`` schema."""

from __future__ import annotations

from services.common.tables import service_metadata

metadata = service_metadata("identity")
