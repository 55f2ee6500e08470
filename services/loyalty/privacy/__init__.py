"""A member's say over what loyalty holds on them: everything exported, the personal part
forgotten when identity erases them (the ledger stays whole under the bare id)."""
