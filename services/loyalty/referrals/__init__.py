"""Referrals: members and partners bring people in, and ambassadors are rewarded exactly once.

Pure core: codes, attribution, conversion, ambassadors' quality, webhook payloads and retries.
Use cases, queries and routes build on these plain functions over frozen data."""
