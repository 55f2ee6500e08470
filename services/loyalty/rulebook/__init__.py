"""The rulebook: publishing rule sets, the set in force at a moment, the changelog, the public view."""
