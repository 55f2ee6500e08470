"""Referees: an email or phone named as someone referred, resolved to members and to keyed hashes."""
