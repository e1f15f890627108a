"""Athena's result formats: the result CSV it writes to S3 and the ``GetQueryResults`` pages.

Both print values the same way (:func:`athena_text`); the pages carry Athena's column types in
``ResultSetMetadata``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

from mlaccel_twin.athena.engine import QueryResult

MAX_RESULTS_PER_PAGE = 1000


def athena_text(value: Any) -> str | None:
    """A value as Athena prints it in result CSVs and ``GetQueryResults``.

    Examples
    --------
    >>> athena_text(True), athena_text(dt.datetime(2024, 1, 2, 3, 4, 5)), athena_text(None)
    ('true', '2024-01-02 03:04:05.000', None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


def result_csv(result: QueryResult) -> bytes:
    """Athena's result file: a header, every non-null value in double quotes, nulls empty.

    Examples
    --------
    >>> import pyarrow as pa
    >>> result_csv(QueryResult(pa.table({"make": ["a", None], "n": [1, 2]}), ("varchar", "bigint")))
    b'"make","n"\\n"a","1"\\n,"2"\\n'
    """

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    table = result.table
    lines = [",".join(quoted(name) for name in table.column_names)] if table.num_columns else []
    for batch in table.to_batches(max_chunksize=10_000):
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            texts = (athena_text(v) for v in row)
            lines.append(",".join("" if t is None else quoted(t) for t in texts))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def results_page(result: QueryResult, next_token: str | None, limit: int) -> dict[str, Any]:
    """One ``GetQueryResults`` page of at most ``limit`` rows.

    The first page starts with the header row, as Athena's does; ``NextToken`` is the offset of
    the next data row.

    Examples
    --------
    >>> import pyarrow as pa
    >>> page = results_page(QueryResult(pa.table({"n": [1, 2, 3]}), ("bigint",)), None, 2)
    >>> [row["Data"] for row in page["ResultSet"]["Rows"]], page["NextToken"]
    ([[{'VarCharValue': 'n'}], [{'VarCharValue': '1'}]], '1')
    """
    table = result.table
    start = int(next_token) if next_token and next_token.isdigit() else 0
    rows: list[dict[str, Any]] = []
    if not next_token and table.num_columns:
        rows.append({"Data": [{"VarCharValue": name} for name in table.column_names]})
        limit -= 1
    chunk = table.slice(start, max(limit, 0))
    columns = [column.to_pylist() for column in chunk.columns]
    for row in zip(*columns, strict=True):
        texts = (athena_text(v) for v in row)
        rows.append({"Data": [{} if t is None else {"VarCharValue": t} for t in texts]})
    column_info = [
        _column_info(name, kind)
        for name, kind in zip(table.column_names, result.athena_types, strict=True)
    ]
    page: dict[str, Any] = {
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": column_info}},
        "UpdateCount": 0,
    }
    end = start + chunk.num_rows
    if end < table.num_rows:
        page["NextToken"] = str(end)
    return page


def _column_info(name: str, athena_type: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": athena_type,
        "Precision": 0,
        "Scale": 0,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena_type == "varchar",
    }
    decimal_type = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", athena_type)
    if decimal_type:
        info.update(Type="decimal", Precision=int(decimal_type[1]), Scale=int(decimal_type[2]))
    return info
