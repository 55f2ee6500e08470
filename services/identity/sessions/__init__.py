"""Sessions: login, refresh with rotating token families, and the keys that sign access tokens."""
