"""The SQL of experiences, one module per concern: experiences and invitations, what the
programme knows of members (contact preferences, history), issuances and the outbox, the door,
and the figures."""
