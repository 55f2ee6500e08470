"""Write the public GraphQL schema, as the gateway serves it, to ``graphql_schema/schema.graphql``.

    uv run python scripts/export_schema.py

The file is checked in: a change to the public API shows in its diff, and a unit test fails
until the file is regenerated with this script.
"""

from __future__ import annotations

from pathlib import Path

from graphql_schema.schema import build_schema
from services.common.settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "graphql_schema" / "schema.graphql"


def main() -> None:
    # The settings change the limits and error masking, never the schema itself.
    SCHEMA_FILE.write_text(str(build_schema(Settings())) + "\n", encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
