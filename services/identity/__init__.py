"""The identity service: members and their identifiers, consent, organisations, credentials and tokens."""
