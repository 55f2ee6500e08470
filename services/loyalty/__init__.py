"""The loyalty service: rules, ledger, tiers, rewards, experiences, referrals."""
