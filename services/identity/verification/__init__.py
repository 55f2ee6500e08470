"""Verifying an email or a phone with a one-time code, sent through the outbox."""
