"""Publish a data product to the lake: partitioned Parquet on S3 and a documented Glue table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel.data._catalog import LAKE_PREFIX
from mlaccel.data._table_metadata import ensure_database, sync_resource_tags, sync_table_metadata
from mlaccel.data._validate import (
    check_documentation,
    check_frame,
    check_name,
    check_partition_cols,
)
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

WriteMode = Literal["overwrite", "append", "overwrite_partitions"]
WRITE_MODES: tuple[WriteMode, ...] = ("overwrite", "append", "overwrite_partitions")


@dataclass(frozen=True)
class PublishedTable:
    """Where a published data product landed.

    Attributes
    ----------
    database, table
        The Glue table (query it as ``database.table``).
    location
        S3 folder of the table's Parquet files.
    n_rows
        Rows written by this call.
    partition_cols
        Partition columns (hive folders ``column=value/``).
    files
        Parquet objects written by this call.
    """

    database: str
    table: str
    location: str
    n_rows: int
    partition_cols: tuple[str, ...]
    files: tuple[str, ...]


def table_location(database: str, table: str, *, connection: Connection) -> str:
    """S3 folder of a lake table: ``s3://<bucket>/lake/<database>/<table>/``.

    Examples
    --------
    >>> table_location("mlaccel_lake", "used_cars", connection=conn)  # doctest: +SKIP
    's3://mlaccel-local/lake/mlaccel_lake/used_cars/'
    """
    connection = check_connection(connection)
    return connection.s3_uri(LAKE_PREFIX, database, table) + "/"


def publish_data_product(
    df: pd.DataFrame,
    *,
    database: str,
    table: str,
    description: str,
    column_comments: Mapping[str, str],
    tags: Mapping[str, str],
    partition_cols: Sequence[str] | None = None,
    connection: Connection,
    mode: WriteMode = "overwrite",
    parameters: Mapping[str, str] | None = None,
) -> PublishedTable:
    """Publish ``df`` to the lake as a documented Glue table (Parquet on S3).

    Writes ``s3://<bucket>/lake/<database>/<table>/`` with ``awswrangler.s3.to_parquet`` and
    registers the table with its description, column comments and tags; creates the database
    when missing. Re-running with ``mode="overwrite"`` replaces files, partitions and metadata:
    the table is never duplicated.

    Parameters
    ----------
    df
        The data product; column names in lowercase snake case (Athena's rule).
    database, table
        Glue names: lowercase letters, digits and underscores.
    description
        What the table holds, for people browsing the catalog.
    column_comments
        Comment per column (every key must be a column of ``df``).
    tags
        Tags such as ``{"domain": "automotive", "owner": "pricing-team"}``; searchable with
        :func:`search_tables`.
    partition_cols
        Columns to partition by (hive folders ``column=value/``), or None.
    connection
        From :func:`mlaccel.connect`.
    mode
        ``overwrite`` (default), ``append`` or ``overwrite_partitions`` (awswrangler's modes).
    parameters
        Extra table parameters (e.g. ``{"target": "price"}``).

    Returns
    -------
    PublishedTable
        Where the data landed and what was written.

    Examples
    --------
    >>> publish_data_product(
    ...     df, database="mlaccel_lake", table="used_cars",
    ...     description="Used-car listings with their sale price",
    ...     column_comments={"price": "Sale price in EUR"}, tags={"domain": "automotive"},
    ...     partition_cols=["year"], connection=mlaccel.connect(),
    ... )  # doctest: +SKIP
    PublishedTable(database='mlaccel_lake', table='used_cars', ...)
    """
    import awswrangler as wr

    connection = check_connection(connection)
    database = check_name("database", database)
    table = check_name("table", table)
    df = check_frame(df)
    docs = check_documentation(
        df,
        description=description,
        column_comments=column_comments,
        tags=tags,
        parameters=parameters,
    )
    partitions = check_partition_cols(df, partition_cols)
    if mode not in WRITE_MODES:
        raise MLAccelInputError(f"mode={mode!r} is not a write mode; use one of {WRITE_MODES}")

    glue = connection.client("glue")
    ensure_database(glue, database)
    location = table_location(database, table, connection=connection)
    log.info("publishing %d rows to %s.%s at %s", len(df), database, table, location)
    written = wr.s3.to_parquet(
        df,
        path=location,
        dataset=True,
        database=database,
        table=table,
        mode=mode,
        partition_cols=partitions or None,
        glue_table_settings={
            "description": docs.description,
            "columns_comments": docs.comments,
            "parameters": docs.parameters,
        },
        boto3_session=connection.boto3_session,
    )
    sync_table_metadata(glue, database, table, docs)
    sync_resource_tags(connection, glue, database, table, docs.tags)
    return PublishedTable(
        database=database,
        table=table,
        location=location,
        n_rows=len(df),
        partition_cols=tuple(partitions),
        files=tuple(written["paths"]),
    )
