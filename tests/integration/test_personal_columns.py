"""Every column of both services' schemas is classified (personal, withheld, the member's
record, or not personal), so a column a migration adds cannot be forgotten by the export and
the erasure: it fails here until it is classified in ``personal_data``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.personal_data import (
    COLUMNS,
    IGNORED_TABLES,
    MEMBER_ROWS,
    NOT_PERSONAL,
    PERSONAL,
    RECORD,
    WITHHELD,
)


async def _live_columns(engine: AsyncEngine) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT c.table_schema || '.' || c.table_name AS t, c.column_name "
                "FROM information_schema.columns c "
                "JOIN information_schema.tables USING (table_catalog, table_schema, table_name) "
                "WHERE c.table_schema IN ('identity', 'loyalty') AND table_type = 'BASE TABLE'"
            )
        )
        found: dict[str, set[str]] = {}
        for table, column in rows:
            if table not in IGNORED_TABLES:
                found.setdefault(table, set()).add(column)
        return found


async def test_every_column_of_both_schemas_is_classified_and_nothing_else(
    engine: AsyncEngine,
) -> None:
    live = await _live_columns(engine)
    classified = {table: set(columns) for table, columns in COLUMNS.items()}

    unclassified = sorted(
        f"{t}.{c}" for t, cs in live.items() for c in cs - classified.get(t, set())
    )
    gone = sorted(f"{t}.{c}" for t, cs in classified.items() for c in cs - live.get(t, set()))

    assert unclassified == [], "classify these columns in tests/integration/personal_data.py"
    assert gone == [], "these columns are no longer in the schemas"


def test_each_classification_is_one_of_the_four_and_each_personal_table_says_whose_rows() -> None:
    kinds = {kind for columns in COLUMNS.values() for kind in columns.values()}
    assert kinds == {PERSONAL, WITHHELD, RECORD, NOT_PERSONAL}
    with_personal = {t for t, cs in COLUMNS.items() if PERSONAL in cs.values()}
    assert with_personal == set(MEMBER_ROWS)
