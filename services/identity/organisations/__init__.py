"""Organisations and their credentials: venues, partners, staff and admin accounts, API keys."""
