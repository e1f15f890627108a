"""Read a lake table's Parquet files into a DataFrame, whole or by partition."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel.data._catalog import require_table
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

PartitionFilter = Mapping[str, Any] | Callable[[dict[str, str]], bool]


def read_table(
    database: str,
    table: str,
    *,
    columns: Sequence[str] | None = None,
    partition_filter: PartitionFilter | None = None,
    connection: Connection,
) -> pd.DataFrame:
    """Read a lake table (Parquet) into a DataFrame, partition columns included.

    Parameters
    ----------
    database, table
        The Glue table.
    columns
        Columns to read (all when None).
    partition_filter
        Partitions to read: a dict ``{partition_key: value or list of values}``, or
        awswrangler's callable taking ``{key: value-as-string}`` and returning a bool. Row
        filters on other columns belong in SQL (:func:`query`).
    connection
        From :func:`mlaccel.connect`.

    Examples
    --------
    >>> read_table("mlaccel_lake", "used_cars", columns=["make", "price"],
    ...            partition_filter={"year": [2019, 2020]}, connection=conn)  # doctest: +SKIP
    """
    import awswrangler as wr
    import pandas as pd

    connection = check_connection(connection)
    found = require_table(connection.client("glue"), database, table)
    database, table = found["DatabaseName"], found["Name"]
    storage = found.get("StorageDescriptor") or {}
    if not is_parquet(storage):
        raise MLAccelInputError(
            f"{database}.{table} is not stored as Parquet; read it with "
            f"mlaccel.data.query('SELECT * FROM {table}', database={database!r}, ...)"
        )
    partition_keys = [k["Name"] for k in found.get("PartitionKeys", [])]
    available = [c["Name"] for c in storage.get("Columns", [])] + partition_keys
    _check_columns(columns, available, f"{database}.{table}")
    predicate = partition_predicate(partition_filter, partition_keys, f"{database}.{table}")
    try:
        frame: pd.DataFrame = wr.s3.read_parquet_table(
            database=database,
            table=table,
            columns=list(columns) if columns is not None else None,
            partition_filter=predicate,
            boto3_session=connection.boto3_session,
        )
    except wr.exceptions.NoFilesFound:
        # An empty table (or a filter matching no partition) reads as no rows, not an error.
        return pd.DataFrame(columns=list(columns) if columns is not None else available)
    return frame


def is_parquet(storage: Mapping[str, Any]) -> bool:
    """True when a Glue storage descriptor describes Parquet files.

    Examples
    --------
    >>> is_parquet({"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"})
    True
    >>> is_parquet({"SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}})
    False
    """
    library = str((storage.get("SerdeInfo") or {}).get("SerializationLibrary", "")).lower()
    return "parquet" in library or "parquet" in str(storage.get("InputFormat", "")).lower()


def partition_predicate(
    partition_filter: PartitionFilter | None,
    partition_keys: list[str],
    name: str,
) -> Callable[[dict[str, str]], bool] | None:
    """awswrangler's partition filter for ``partition_filter``, checked against the table's keys.

    Examples
    --------
    >>> keep = partition_predicate({"year": [2019, 2020]}, ["year"], "lake.cars")
    >>> keep({"year": "2020"}), keep({"year": "2021"})
    (True, False)
    """
    if partition_filter is None:
        return None
    if not partition_keys:
        raise MLAccelInputError(
            f"partition_filter was given but {name} has no partitions; filter rows with query()"
        )
    if callable(partition_filter):
        return partition_filter
    if not isinstance(partition_filter, Mapping):
        raise MLAccelInputError(
            "partition_filter must be a dict {partition_key: value(s)} or a callable, got "
            f"{type(partition_filter).__name__}"
        )
    unknown = [k for k in partition_filter if k not in partition_keys]
    if unknown:
        raise MLAccelInputError(
            f"partition_filter keys {unknown} are not partition keys of {name}; its partition "
            f"keys are {partition_keys}"
        )
    # Partition values reach the filter as strings, so compare them as strings.
    allowed = {
        key: {str(v) for v in (value if isinstance(value, list | tuple | set) else [value])}
        for key, value in partition_filter.items()
    }

    def keep(partition: dict[str, str]) -> bool:
        return all(partition.get(key) in values for key, values in allowed.items())

    return keep


def _check_columns(columns: Any, available: list[str], name: str) -> None:
    if columns is None:
        return
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise MLAccelInputError(f"columns={columns!r} must be a list of column names")
    missing = [c for c in columns if c not in available]
    if missing:
        raise MLAccelInputError(f"columns {missing} are not in {name}; its columns are {available}")
