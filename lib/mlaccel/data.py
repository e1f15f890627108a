"""Data-lake accelerators: publish data products, discover them in the catalog, read and query them.

A producer team *publishes* a data product: partitioned Parquet under
``s3://<bucket>/lake/<database>/<table>/`` and a Glue table that documents it (description,
column comments, tags). A consumer *browses* the catalog (:func:`list_tables`,
:func:`search_tables`, :func:`describe_table`), then *reads* a table (:func:`read_table`) or
*queries* it with SQL (:func:`query`). Every function takes the ``connection`` returned by
:func:`mlaccel.connect` and makes the same awswrangler / boto3 calls on both backends; only
:func:`query` picks an engine: Athena on ``aws``, DuckDB over the same catalog on ``local``.

Tags are stored twice: as table parameters ``tag.<key>`` (what the catalog functions read, and
what Athena's ``SHOW TBLPROPERTIES`` shows) and, where the backend allows tagging a Glue table,
as resource tags.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlaccel._connect import Connection
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_DATABASE",
    "PublishedTable",
    "describe_table",
    "format_sql",
    "list_databases",
    "list_tables",
    "publish",
    "publish_data_product",
    "query",
    "read_table",
    "search_tables",
    "table_location",
]

DEFAULT_DATABASE = "mlaccel_lake"
ATHENA_RESULTS_PREFIX = "athena-results"
LAKE_PREFIX = "lake"
TAG_PARAMETER_PREFIX = "tag."
WriteMode = Literal["overwrite", "append", "overwrite_partitions"]
WRITE_MODES: tuple[WriteMode, ...] = ("overwrite", "append", "overwrite_partitions")

_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
# Same placeholder rule as awswrangler's named parameters: ``:name``, but not ``::cast``.
_PLACEHOLDER = re.compile(r"(?<!:):([A-Za-z0-9_]+)(?![A-Za-z0-9_])")
_TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
)
_LISTING_COLUMNS = [
    "database",
    "table",
    "description",
    "columns",
    "partition_keys",
    "tags",
    "location",
    "updated",
]


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


# ------------------------------------------------------------------------------- validation


def _check_connection(connection: Any) -> Connection:
    if not isinstance(connection, Connection):
        raise MLAccelInputError(
            f"connection={connection!r} is not a Connection; pass connection=mlaccel.connect()"
        )
    return connection


def _check_name(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        suggestion = ""
        if isinstance(value, str) and value.strip():
            fixed = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
            suggestion = f" such as {fixed!r}" if fixed else ""
        raise MLAccelInputError(
            f"{kind}={value!r} is not a valid Glue/Athena name; use lowercase letters, digits "
            f"and underscores{suggestion}"
        )
    return value


def _check_frame(df: Any) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise MLAccelInputError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if df.empty or len(df.columns) == 0:
        raise MLAccelInputError(
            f"df is empty ({len(df)} rows, {len(df.columns)} columns); publish at least one row"
        )
    bad = [c for c in df.columns if not isinstance(c, str) or not _NAME.fullmatch(c)]
    if bad:
        from awswrangler.catalog import sanitize_column_name

        renames = {c: sanitize_column_name(str(c)) for c in bad}
        raise MLAccelInputError(
            f"df has column names Athena cannot keep as they are: {bad}; rename them first, "
            f"e.g. df.rename(columns={renames})"
        )
    duplicated = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if duplicated:
        raise MLAccelInputError(f"df has duplicated columns {duplicated}; keep one of each")
    return df


def _check_text_mapping(name: str, value: Any, *, max_key: int, max_value: int) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise MLAccelInputError(
            f"{name} must be a dict of str to str, got {type(value).__name__}; "
            f"pass {name}={{}} for none"
        )
    checked: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not key.strip() or len(key) > max_key:
            raise MLAccelInputError(
                f"{name} key {key!r} must be a non-empty string of at most {max_key} characters"
            )
        if not isinstance(text, str) or len(text) > max_value:
            raise MLAccelInputError(
                f"{name}[{key!r}]={text!r} must be a string of at most {max_value} characters"
            )
        checked[key] = text
    return checked


def _check_partition_cols(df: pd.DataFrame, partition_cols: Any) -> list[str]:
    if partition_cols is None:
        return []
    columns = [partition_cols] if isinstance(partition_cols, str) else partition_cols
    if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise MLAccelInputError(
            f"partition_cols={partition_cols!r} must be a list of column names or None"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MLAccelInputError(
            f"partition_cols {missing} are not columns of df; columns are {list(df.columns)}"
        )
    if len(set(columns)) != len(columns):
        raise MLAccelInputError(f"partition_cols={list(columns)} names a column twice")
    if len(columns) >= len(df.columns):
        raise MLAccelInputError(
            "partition_cols names every column of df; keep at least one data column"
        )
    with_missing = [c for c in columns if df[c].isna().any()]
    if with_missing:
        raise MLAccelInputError(
            f"partition columns {with_missing} have missing values, which Hive stores as "
            "__HIVE_DEFAULT_PARTITION__; fill them (df.fillna) or partition by another column"
        )
    return list(columns)


# ------------------------------------------------------------------------------- catalog access


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _database_names(glue: Any) -> list[str]:
    names: list[str] = []
    for page in glue.get_paginator("get_databases").paginate():
        names.extend(db["Name"] for db in page["DatabaseList"])
    return sorted(names)


def _glue_tables(glue: Any, database: str) -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        tables.extend(page["TableList"])
    return sorted(tables, key=lambda t: str(t["Name"]))


def _require_database(glue: Any, database: Any) -> str:
    if not isinstance(database, str) or not database.strip():
        raise MLAccelInputError(f"database={database!r} must be the name of a Glue database")
    names = _database_names(glue)
    if database.lower() not in names:
        raise MLAccelInputError(
            f"database={database!r} is not in the Glue catalog; databases that exist: "
            f"{', '.join(names) or 'none'}. Publish a data product into it first "
            "(mlaccel.data.publish_data_product) or fix the name"
        )
    return database.lower()


def _require_table(glue: Any, database: str, table: Any) -> dict[str, Any]:
    database = _require_database(glue, database)
    if not isinstance(table, str) or not table.strip():
        raise MLAccelInputError(f"table={table!r} must be the name of a table in {database!r}")
    try:
        found: dict[str, Any] = glue.get_table(DatabaseName=database, Name=table.lower())["Table"]
    except Exception as exc:
        if _error_code(exc) != "EntityNotFoundException":
            raise
        existing = [t["Name"] for t in _glue_tables(glue, database)]
        raise MLAccelInputError(
            f"table={table!r} is not in database {database!r}; tables that exist there: "
            f"{', '.join(existing) or 'none'}"
        ) from None
    return found


def _tags_of(table: dict[str, Any]) -> dict[str, str]:
    parameters = table.get("Parameters") or {}
    return {
        key[len(TAG_PARAMETER_PREFIX) :]: value
        for key, value in sorted(parameters.items())
        if key.startswith(TAG_PARAMETER_PREFIX)
    }


def _record(database: str, table: dict[str, Any]) -> dict[str, Any]:
    storage = table.get("StorageDescriptor") or {}
    return {
        "database": database,
        "table": table["Name"],
        "description": table.get("Description", ""),
        "columns": len(storage.get("Columns", [])) + len(table.get("PartitionKeys", [])),
        "partition_keys": [k["Name"] for k in table.get("PartitionKeys", [])],
        "tags": _tags_of(table),
        "location": storage.get("Location", ""),
        "updated": table.get("UpdateTime") or table.get("CreateTime"),
    }


def _listing(records: list[dict[str, Any]], extra: Sequence[str] = ()) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(records, columns=[*_LISTING_COLUMNS, *extra])


# ------------------------------------------------------------------------------- publish


def table_location(database: str, table: str, *, connection: Connection) -> str:
    """S3 folder of a lake table: ``s3://<bucket>/lake/<database>/<table>/``.

    Examples
    --------
    >>> table_location("mlaccel_lake", "used_cars", connection=conn)  # doctest: +SKIP
    's3://mlaccel-local/lake/mlaccel_lake/used_cars/'
    """
    connection = _check_connection(connection)
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

    connection = _check_connection(connection)
    database = _check_name("database", database)
    table = _check_name("table", table)
    df = _check_frame(df)
    if not isinstance(description, str) or not description.strip() or len(description) > 2048:
        raise MLAccelInputError(
            "description must say what the table holds in 1 to 2048 characters (Glue's limit); "
            "people browsing the catalog read it"
        )
    comments = _check_text_mapping("column_comments", column_comments, max_key=255, max_value=255)
    unknown = sorted(set(comments) - set(df.columns))
    if unknown:
        raise MLAccelInputError(
            f"column_comments names columns that df does not have: {unknown}; "
            f"columns are {list(df.columns)}"
        )
    tag_values = _check_text_mapping("tags", tags, max_key=128, max_value=256)
    extra = _check_text_mapping("parameters", parameters or {}, max_key=255, max_value=4000)
    clashing = sorted(k for k in extra if k.startswith(TAG_PARAMETER_PREFIX))
    if clashing:
        raise MLAccelInputError(
            f"parameters {clashing} start with {TAG_PARAMETER_PREFIX!r}, reserved for tags; "
            "pass them in tags= instead"
        )
    partitions = _check_partition_cols(df, partition_cols)
    if mode not in WRITE_MODES:
        raise MLAccelInputError(f"mode={mode!r} is not a write mode; use one of {WRITE_MODES}")

    glue = connection.client("glue")
    _ensure_database(glue, database)
    table_parameters = {**extra, **{TAG_PARAMETER_PREFIX + k: v for k, v in tag_values.items()}}
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
            "description": description,
            "columns_comments": comments,
            "parameters": table_parameters,
        },
        boto3_session=connection.boto3_session,
    )
    _sync_table_metadata(glue, database, table, description, comments, table_parameters)
    _sync_resource_tags(connection, glue, database, table, tag_values)
    return PublishedTable(
        database=database,
        table=table,
        location=location,
        n_rows=len(df),
        partition_cols=tuple(partitions),
        files=tuple(written["paths"]),
    )


def _ensure_database(glue: Any, database: str) -> None:
    try:
        glue.create_database(
            DatabaseInput={
                "Name": database,
                "Description": "Data products published with mlaccel.data.publish_data_product",
            }
        )
        log.info("created Glue database %s", database)
    except Exception as exc:
        if _error_code(exc) != "AlreadyExistsException":
            raise


def _sync_table_metadata(
    glue: Any,
    database: str,
    table: str,
    description: str,
    comments: dict[str, str],
    parameters: dict[str, str],
) -> None:
    """Make the Glue table say exactly what this publish asked for.

    awswrangler's ``append`` modes merge metadata into what the table had, which would keep
    tags and comments the producer has since removed.
    """
    current = glue.get_table(DatabaseName=database, Name=table)["Table"]
    wanted = {k: current[k] for k in _TABLE_INPUT_KEYS if k in current}
    wanted["Description"] = description
    kept = {
        k: v
        for k, v in (current.get("Parameters") or {}).items()
        if not k.startswith(TAG_PARAMETER_PREFIX)
    }
    wanted["Parameters"] = {**kept, **parameters}
    storage = dict(wanted.get("StorageDescriptor") or {})
    storage["Columns"] = [_with_comment(c, comments) for c in storage.get("Columns", [])]
    wanted["StorageDescriptor"] = storage
    wanted["PartitionKeys"] = [_with_comment(c, comments) for c in wanted.get("PartitionKeys", [])]
    if all(wanted.get(k) == current.get(k) for k in wanted):
        return
    glue.update_table(DatabaseName=database, TableInput=wanted, SkipArchive=True)


def _with_comment(column: dict[str, Any], comments: dict[str, str]) -> dict[str, Any]:
    updated = {k: v for k, v in column.items() if k != "Comment"}
    if comments.get(column["Name"]):
        updated["Comment"] = comments[column["Name"]]
    return updated


def _sync_resource_tags(
    connection: Connection, glue: Any, database: str, table: str, tags: dict[str, str]
) -> None:
    """Tag the Glue table as a resource too, where the backend supports it."""
    described = glue.get_table(DatabaseName=database, Name=table)["Table"]
    catalog_id = described.get("CatalogId")
    if not catalog_id:
        return
    partition = connection.boto3_session.get_partition_for_region(connection.region)
    arn = f"arn:{partition}:glue:{connection.region}:{catalog_id}:table/{database}/{table}"
    try:
        current = glue.get_tags(ResourceArn=arn).get("Tags", {})
        stale = sorted(set(current) - set(tags))
        if stale:
            glue.untag_resource(ResourceArn=arn, TagsToRemove=stale)
        if tags and tags != current:
            glue.tag_resource(ResourceArn=arn, TagsToAdd=tags)
    except Exception as exc:
        if not _error_code(exc):
            raise
        # Not every account lets Glue tables be tagged; the tag.* parameters stay the record.
        log.info("kept tags of %s.%s as table parameters only (%s)", database, table, exc)


def publish(
    name: str,
    n_rows: int,
    *,
    seed: int = 0,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
    partition_cols: Sequence[str] | None = None,
) -> PublishedTable:
    """Generate one of the kit's data products and publish it with its catalog metadata.

    Parameters
    ----------
    name
        ``"used_cars"`` or ``"credit_risk"`` (see :mod:`mlaccel.datasets`).
    n_rows
        Rows to generate.
    seed
        Seed of the generator: same seed, same data.
    connection
        From :func:`mlaccel.connect`.
    database
        Glue database to publish into.
    partition_cols
        Columns to partition by, or None.

    Examples
    --------
    >>> publish("used_cars", 5_000, seed=0, connection=mlaccel.connect())  # doctest: +SKIP
    PublishedTable(database='mlaccel_lake', table='used_cars', ...)
    """
    import importlib

    # Resolved at call time: importing mlaccel.data never loads the generators.
    datasets: Any = importlib.import_module("mlaccel.datasets")
    product = datasets.get_data_product(name)
    df = datasets.generate(name, n_rows, seed=seed)
    descriptions = dict(getattr(product, "column_descriptions", {}) or {})
    parameters = {
        "data_product": product.name,
        "target": str(product.target),
        "problem_type": str(product.problem_type),
        "generator_seed": str(seed),
    }
    id_column = getattr(product, "id_column", None)
    if id_column:
        parameters["id_column"] = str(id_column)
    description = getattr(product, "description", None) or (
        f"{product.name}: {product.problem_type} data product, target column {product.target}"
    )
    return publish_data_product(
        df,
        database=database,
        table=product.name,
        description=str(description),
        column_comments={
            c: _shorten(str(d), 255) for c, d in descriptions.items() if c in df.columns
        },
        tags=dict(getattr(product, "tags", {}) or {}),
        partition_cols=partition_cols,
        connection=connection,
        parameters=parameters,
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------- discover


def list_databases(connection: Connection) -> pd.DataFrame:
    """Databases of the Glue catalog, with their description and number of tables.

    Examples
    --------
    >>> list_databases(mlaccel.connect())  # doctest: +SKIP
           database                     description  tables  location
    0  mlaccel_lake  Data products published with ...       2
    """
    import pandas as pd

    glue = _check_connection(connection).client("glue")
    rows = []
    for page in glue.get_paginator("get_databases").paginate():
        for db in page["DatabaseList"]:
            rows.append(
                {
                    "database": db["Name"],
                    "description": db.get("Description", ""),
                    "tables": len(_glue_tables(glue, db["Name"])),
                    "location": db.get("LocationUri", ""),
                }
            )
    frame = pd.DataFrame(rows, columns=["database", "description", "tables", "location"])
    return frame.sort_values("database", ignore_index=True)


def list_tables(database: str | None = None, *, connection: Connection) -> pd.DataFrame:
    """Tables of one database (or of all), one row each.

    Columns: ``database``, ``table``, ``description``, ``columns`` (count, partition keys
    included), ``partition_keys``, ``tags`` (dict), ``location``, ``updated``.

    Examples
    --------
    >>> list_tables("mlaccel_lake", connection=conn)[["table", "description"]]  # doctest: +SKIP
             table                              description
    0  credit_risk  Loan applications and whether they ...
    1    used_cars  Used-car listings with their sale price
    """
    glue = _check_connection(connection).client("glue")
    databases = [_require_database(glue, database)] if database is not None else None
    records = [
        _record(db, t) for db in databases or _database_names(glue) for t in _glue_tables(glue, db)
    ]
    return _listing(records)


def describe_table(database: str, table: str, *, connection: Connection) -> pd.DataFrame:
    """Columns of a table: ``column``, ``type``, ``comment``, ``partition`` (a partition key?).

    Examples
    --------
    >>> describe_table("mlaccel_lake", "used_cars", connection=conn).head(2)  # doctest: +SKIP
      column    type          comment  partition
    0     id  bigint  Listing identifier      False
    1   make  string     Manufacturer      False
    """
    import pandas as pd

    glue = _check_connection(connection).client("glue")
    found = _require_table(glue, database, table)
    storage = found.get("StorageDescriptor") or {}
    rows = [
        {
            "column": c["Name"],
            "type": c.get("Type", ""),
            "comment": c.get("Comment", ""),
            "partition": is_partition,
        }
        for columns, is_partition in (
            (storage.get("Columns", []), False),
            (found.get("PartitionKeys", []), True),
        )
        for c in columns
    ]
    return pd.DataFrame(rows, columns=["column", "type", "comment", "partition"])


def search_tables(
    keyword: str | None = None,
    *,
    tags: Mapping[str, str | None] | None = None,
    database: str | None = None,
    connection: Connection,
) -> pd.DataFrame:
    """Find tables by keyword and/or tags, as a data-mesh consumer browses approved data.

    ``keyword`` matches (case-insensitively, as a substring) table names, descriptions, column
    names, column comments and tag values. ``tags`` keeps tables having every given tag; a value
    of None only requires the key. With neither, every table is listed.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`list_tables` plus ``matched_in``: where the keyword was found.

    Examples
    --------
    >>> search_tables("price", connection=conn)[["table", "matched_in"]]  # doctest: +SKIP
           table                     matched_in
    0  used_cars  description, column:price
    >>> search_tables(tags={"domain": "finance"}, connection=conn)  # doctest: +SKIP
    """
    glue = _check_connection(connection).client("glue")
    if keyword is not None and (not isinstance(keyword, str) or not keyword.strip()):
        raise MLAccelInputError(f"keyword={keyword!r} must be a non-empty string or None")
    wanted_tags: dict[str, str | None] = {}
    if tags is not None:
        if not isinstance(tags, Mapping):
            raise MLAccelInputError(
                f"tags must be a dict such as {{'domain': 'finance'}}, got {type(tags).__name__}"
            )
        for key, value in tags.items():
            if not isinstance(key, str) or (value is not None and not isinstance(value, str)):
                raise MLAccelInputError(
                    f"tags entry {key!r}: {value!r} must map a string to a string or None"
                )
            wanted_tags[key] = value
    databases = [_require_database(glue, database)] if database is not None else None
    needle = keyword.strip().lower() if keyword else None
    records = []
    for db in databases or _database_names(glue):
        for table in _glue_tables(glue, db):
            record = _record(db, table)
            if not _has_tags(record["tags"], wanted_tags):
                continue
            matched = _keyword_matches(table, record["tags"], needle) if needle else []
            if needle and not matched:
                continue
            records.append({**record, "matched_in": ", ".join(matched)})
    return _listing(records, extra=["matched_in"])


def _has_tags(table_tags: dict[str, str], wanted: dict[str, str | None]) -> bool:
    lowered = {k.lower(): v for k, v in table_tags.items()}
    for key, value in wanted.items():
        if key.lower() not in lowered:
            return False
        if value is not None and lowered[key.lower()].lower() != value.lower():
            return False
    return True


def _keyword_matches(table: dict[str, Any], tags: dict[str, str], needle: str) -> list[str]:
    matched = []
    if needle in table["Name"].lower():
        matched.append("name")
    if needle in str(table.get("Description", "")).lower():
        matched.append("description")
    storage = table.get("StorageDescriptor") or {}
    for column in [*storage.get("Columns", []), *table.get("PartitionKeys", [])]:
        if needle in column["Name"].lower() or needle in str(column.get("Comment", "")).lower():
            matched.append(f"column:{column['Name']}")
    matched.extend(
        f"tag:{key}" for key, value in tags.items() if needle in f"{key} {value}".lower()
    )
    return matched


# ------------------------------------------------------------------------------- read & query


def read_table(
    database: str,
    table: str,
    *,
    columns: Sequence[str] | None = None,
    partition_filter: Mapping[str, Any] | Callable[[dict[str, str]], bool] | None = None,
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

    connection = _check_connection(connection)
    found = _require_table(connection.client("glue"), database, table)
    database, table = found["DatabaseName"], found["Name"]
    storage = found.get("StorageDescriptor") or {}
    library = str((storage.get("SerdeInfo") or {}).get("SerializationLibrary", "")).lower()
    if "parquet" not in library and "parquet" not in str(storage.get("InputFormat", "")).lower():
        raise MLAccelInputError(
            f"{database}.{table} is not stored as Parquet; read it with "
            f"mlaccel.data.query('SELECT * FROM {table}', database={database!r}, ...)"
        )
    partition_keys = [k["Name"] for k in found.get("PartitionKeys", [])]
    available = [c["Name"] for c in storage.get("Columns", [])] + partition_keys
    if columns is not None:
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise MLAccelInputError(f"columns={columns!r} must be a list of column names")
        missing = [c for c in columns if c not in available]
        if missing:
            raise MLAccelInputError(
                f"columns {missing} are not in {database}.{table}; its columns are {available}"
            )
    predicate = _partition_predicate(partition_filter, partition_keys, f"{database}.{table}")
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


def _partition_predicate(
    partition_filter: Mapping[str, Any] | Callable[[dict[str, str]], bool] | None,
    partition_keys: list[str],
    name: str,
) -> Callable[[dict[str, str]], bool] | None:
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
    allowed = {
        key: {str(v) for v in (value if isinstance(value, list | tuple | set) else [value])}
        for key, value in partition_filter.items()
    }

    def keep(partition: dict[str, str]) -> bool:
        return all(partition.get(key) in values for key, values in allowed.items())

    return keep


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
    literals = {key: _sql_literal(key, value) for key, value in params.items()}
    return _PLACEHOLDER.sub(lambda m: literals.get(m.group(1), m.group(0)), sql)


def _sql_literal(name: str, value: Any) -> str:
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
        return "ARRAY [" + ", ".join(_sql_literal(name, v) for v in items) + "]"
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
    connection = _check_connection(connection)
    if not isinstance(sql, str) or not sql.strip():
        raise MLAccelInputError(f"sql={sql!r} is empty; pass a SELECT statement")
    database = _require_database(connection.client("glue"), database)
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
