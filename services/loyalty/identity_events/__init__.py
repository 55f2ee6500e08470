"""The consumer of identity's outbox: each event recorded once, merges followed on the ledger."""
