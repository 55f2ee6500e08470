"""The ledger as every capability writes it: members' accounts, journal entries and lots."""
