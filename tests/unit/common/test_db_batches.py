"""Rows split into statements that stay within PostgreSQL's 32,767 parameters."""

from __future__ import annotations

from services.common.db import MAX_PARAMETERS, batches


def test_rows_fill_each_statement_up_to_the_limit_and_no_further() -> None:
    rows = list(range(2 * 2_978 + 1))  # 11 parameters a row: 2,978 rows a statement
    sizes = [len(b) for b in batches(rows, 11)]
    assert sizes == [2_978, 2_978, 1]
    assert 2_978 * 11 <= MAX_PARAMETERS < 2_979 * 11
    assert [x for b in batches(rows, 11) for x in b] == rows


def test_rows_that_fit_in_one_statement_stay_together_and_none_make_no_statement() -> None:
    assert [list(b) for b in batches([1, 2, 3], 5)] == [[1, 2, 3]]
    assert list(batches([], 5)) == []
    exact = list(range(MAX_PARAMETERS))
    assert [len(b) for b in batches(exact, 1)] == [MAX_PARAMETERS]
    assert [len(b) for b in batches([*exact, 0], 1)] == [MAX_PARAMETERS, 1]
