"""A member's say over their data: contact preferences and consent, export, and erasure."""
