"""Members and their identifiers: registration, resolution, linking, and merging duplicates."""
