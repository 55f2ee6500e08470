"""Rewards: the catalogue, its eligibility rules, redemptions and their vouchers."""
