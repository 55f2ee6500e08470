"""Accounts: the member's account (balances, tier progress, history and its cursor), the
programme's figures, the member's export, and merges of duplicate members."""
