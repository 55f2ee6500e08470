"""Revocations: what gateways must refuse at once (refresh families, members' tokens, API keys)."""
