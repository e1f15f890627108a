"""SQL over the lake: ``:name`` parameters as SQL literals, and queries run by Athena.

On the twin, Athena runs the SQL in DuckDB over the same Glue catalog, so a query is written once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel.data._catalog import require_database
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

ATHENA_RESULTS_PREFIX = "athena-results"
# Same placeholder rule as awswrangler's named parameters: ``:name``, but not ``::cast``.
_PLACEHOLDER = re.compile(r"(?<!:):([A-Za-z0-9_]+)(?![A-Za-z0-9_])")


def format_sql(sql: str, params: Mapping[str, Any] | None = None) -> str:
    """Put ``params`` into ``sql`` as SQL literals at their ``:name`` placeholders.

    The same rule as awswrangler's named parameters, so a query reads the same on Athena and on
    the twin: strings are quoted (quotes doubled), None is NULL, dates and timestamps become
    ``DATE '…'`` / ``TIMESTAMP '…'``, lists become ``ARRAY [...]`` (test membership with
    ``contains(:makes, make)``).

    Examples
    --------
    >>> format_sql("SELECT * FROM t WHERE make = :make AND year > :year",
    ...            {"make": "O'Neil", "year": 2019})
    "SELECT * FROM t WHERE make = 'O''Neil' AND year > 2019"
    """
    if not params:
        return sql
    if not isinstance(params, Mapping):
        raise MLAccelInputError(
            f"params must be a dict of placeholder name to value, got {type(params).__name__}"
        )
    used = set(_PLACEHOLDER.findall(sql))
    unused = sorted(set(params) - used)
    if unused:
        raise MLAccelInputError(
            f"params {unused} have no placeholder in the SQL; write them as :{unused[0]}"
        )
    literals = {key: sql_literal(key, value) for key, value in params.items()}
    return _PLACEHOLDER.sub(lambda m: literals.get(m.group(1), m.group(0)), sql)


def sql_literal(name: str, value: Any) -> str:
    """``value`` written as an Athena SQL literal; ``name`` is its parameter, for errors.

    Examples
    --------
    >>> sql_literal("day", dt.date(2024, 1, 31)), sql_literal("makes", ["bmw", None])
    ("DATE '2024-01-31'", "ARRAY ['bmw', NULL]")
    """
    if hasattr(value, "item") and not isinstance(value, list | tuple | set | str):
        value = value.item()  # numpy scalars
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MLAccelInputError(f"params[{name!r}]={value!r} is not a finite number")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return f"DECIMAL '{value:f}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise MLAccelInputError(
                f"params[{name!r}]={value!r} has a time zone; Athena timestamps are naive, "
                "pass value.astimezone(datetime.UTC).replace(tzinfo=None)"
            )
        return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='milliseconds')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, list | tuple | set):
        items = sorted(value, key=str) if isinstance(value, set) else value
        return "ARRAY [" + ", ".join(sql_literal(name, v) for v in items) + "]"
    raise MLAccelInputError(
        f"params[{name!r}] has type {type(value).__name__}; use str, int, float, bool, None, "
        "Decimal, date, datetime or a list of those"
    )


def query(
    sql: str,
    *,
    database: str,
    connection: Connection,
    params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run Athena SQL against the lake and return the result.

    This is ``awswrangler.athena.read_sql_query`` on both backends: on the twin, its Athena
    runs the SQL in DuckDB over the same Glue catalog. Write the SQL once; it runs on both.

    Parameters
    ----------
    sql
        One SELECT statement (Athena / Presto dialect).
    database
        The default database for unqualified table names.
    connection
        From :func:`mlaccel.connect`.
    params
        Values for ``:name`` placeholders (see :func:`format_sql`).

    Raises
    ------
    MLAccelInputError
        Unknown database or table (the message lists what exists), or SQL the engine rejects
        (the message shows the SQL).

    Examples
    --------
    >>> query("SELECT make, avg(price) AS avg_price FROM used_cars GROUP BY 1",
    ...       database="mlaccel_lake", connection=mlaccel.connect())  # doctest: +SKIP
    >>> query("SELECT * FROM used_cars WHERE year >= :year", database="mlaccel_lake",
    ...       params={"year": 2020}, connection=conn)  # doctest: +SKIP
    """
    connection = check_connection(connection)
    if not isinstance(sql, str) or not sql.strip():
        raise MLAccelInputError(f"sql={sql!r} is empty; pass a SELECT statement")
    database = require_database(connection.client("glue"), database)
    statement = format_sql(sql, params)
    import awswrangler as wr

    try:
        # Results go to the kit's bucket: awswrangler's fallback guesses a bucket per account.
        result: pd.DataFrame = wr.athena.read_sql_query(
            statement,
            database=database,
            s3_output=connection.s3_uri(ATHENA_RESULTS_PREFIX),
            boto3_session=connection.boto3_session,
        )
    except wr.exceptions.QueryFailed as exc:
        raise MLAccelInputError(f"Athena query failed: {exc}\nSQL:\n{statement}") from exc
    return result
