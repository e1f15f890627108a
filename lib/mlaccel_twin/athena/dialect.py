"""Athena's SQL (Presto/Trino) as DuckDB runs it, transpiled by sqlglot.

Athena's functions and syntax (``date_add('day', 1, d)``, ``date_format``, ``cardinality``,
``element_at``, ``array_join``, ``approx_percentile``, ``ARRAY[...]``...) become DuckDB's;
SQL sqlglot cannot read fails naming the statement, as Athena's parser would.
"""

from __future__ import annotations

from mlaccel.errors import StatementFailed


def to_duckdb(sql: str) -> str:
    """``sql`` in Athena's dialect, written in DuckDB's.

    Examples
    --------
    >>> to_duckdb("SELECT cardinality(ARRAY[1, 2]), element_at(ARRAY['a', 'b'], 2)")
    "SELECT ARRAY_LENGTH([1, 2]), ['a', 'b'][2]"
    >>> to_duckdb("SELECT array_join(tags, ',') FROM t")
    "SELECT ARRAY_TO_STRING(tags, ',') FROM t"
    """
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        statements = sqlglot.transpile(sql, read="athena", write="duckdb")
    except ParseError as exc:
        first = str(exc).splitlines()[0]
        raise StatementFailed(f"line 1: the SQL does not parse as Athena SQL ({first})") from exc
    if len(statements) != 1:
        raise StatementFailed(
            f"the query holds {len(statements)} statements; Athena runs one at a time"
        )
    return statements[0]
