"""Typed httpx clients over the services' contracts (ASGI transport in one process, HTTP otherwise)."""
