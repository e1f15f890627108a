"""Athena statements on the twin: which SQL runs, how, and where its results go.

:func:`run_statement` runs one statement as Athena's ``StartQueryExecution`` does:

- a query (``SELECT``, ``WITH``, ``VALUES``, ``TABLE``) runs in DuckDB
  (:class:`~mlaccel_twin.athena.engine.LakeQueryEngine`) and its result CSV (Athena's format)
  goes to the ``OutputLocation``;
- ``CREATE TABLE … WITH (…) AS SELECT`` writes Parquet to ``external_location``, registers the
  Glue table and writes the data manifest beside the result CSV;
- ``UNLOAD (SELECT …) TO 's3://…' WITH (format = …)`` writes the query's rows as Parquet,
  text (delimited) or JSON files under the location, with their data manifest;
- ``CREATE DATABASE`` and ``DROP TABLE`` change the Glue catalog.

Queries are written in Athena's dialect and transpiled to DuckDB's
(:mod:`mlaccel_twin.athena.dialect`). Prepared statements (``PREPARE``, ``EXECUTE … USING``,
``DEALLOCATE PREPARE``) are resolved by the seam before a statement gets here.

Anything else fails with :class:`~mlaccel.errors.StatementFailed`, the reason Athena reports.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mlaccel._s3 import join_uri, parse_path
from mlaccel.errors import MLAccelInputError, StatementFailed
from mlaccel_twin.athena.engine import LakeQueryEngine, QueryResult, glue_type
from mlaccel_twin.athena.results import result_csv

if TYPE_CHECKING:
    import pyarrow as pa

_IDENT = r'(?:"[^"]+"|`[^`]+`|[A-Za-z0-9_]+)'
_CTAS = re.compile(
    rf"^\s*CREATE\s+TABLE\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_IDENT}(?:\.{_IDENT}){{0,2}})"
    r"\s*(?:WITH\s*\((?P<props>.*?)\)\s*)?AS\s+(?P<select>.+?)"
    r"(?P<nodata>\s+WITH\s+NO\s+DATA)?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_PROPERTY = re.compile(
    r"(\w+)\s*=\s*('(?:[^']|'')*'|ARRAY\s*\[[^\]]*\]|[^,\s]+)", re.IGNORECASE | re.DOTALL
)
_CREATE_DATABASE = re.compile(
    rf"^\s*CREATE\s+(?:DATABASE|SCHEMA)\s+(?P<exists>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_IDENT})"
    r"(?:\s+COMMENT\s+'(?P<comment>(?:[^']|'')*)')?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_DROP_TABLE = re.compile(
    rf"^\s*DROP\s+TABLE\s+(?P<exists>IF\s+EXISTS\s+)?(?P<name>{_IDENT}(?:\.{_IDENT})?)\s*;?\s*$",
    re.IGNORECASE,
)
_UNLOAD = re.compile(
    r"^\s*UNLOAD\s*\((?P<select>.+)\)\s*TO\s*'(?P<location>[^']+)'"
    r"\s*(?:WITH\s*\((?P<props>.*)\))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_UNLOAD_PROPERTIES = frozenset({"format", "compression", "field_delimiter"})
_QUERY_START = re.compile(r"^\s*(?:\(\s*)*(SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)
_CTAS_PROPERTIES = frozenset({"external_location", "format", "write_compression"})
_PARQUET_STORAGE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}


class Lake:
    """What a statement reaches: the query engine, and the Glue and S3 clients of the twin.

    ``client(service)`` makes a boto3 client; each is made on first use, so a plain query
    (which only needs the engine) makes none.
    """

    def __init__(self, engine: LakeQueryEngine, client: Callable[[str], Any]) -> None:
        self.engine = engine
        self._client = client

    @cached_property
    def glue(self) -> Any:
        """The Glue client (the catalog)."""
        return self._client("glue")

    @cached_property
    def s3(self) -> Any:
        """The S3 client (data, results, manifests)."""
        return self._client("s3")


@dataclass(frozen=True)
class Statement:
    """One ``StartQueryExecution``: the SQL (parameters bound), its context and its output."""

    sql: str
    execution_id: str
    database: str = "default"
    catalog: str | None = None
    output: str | None = None  # the result CSV's S3 URI (OutputLocation)


@dataclass(frozen=True)
class StatementOutcome:
    """What a statement returned, and the CTAS data manifest it wrote (if any)."""

    result: QueryResult
    manifest: str | None = None


def bind_execution_parameters(sql: str, parameters: list[str] | None) -> str:
    """Put Athena's ``ExecutionParameters`` (SQL literals) in place of the ``?`` markers.

    Examples
    --------
    >>> bind_execution_parameters("SELECT * FROM t WHERE a = ? AND b = '?'", ["'x'"])
    "SELECT * FROM t WHERE a = 'x' AND b = '?'"
    """
    if not parameters:
        return sql
    pieces = re.split(r"('(?:[^']|'')*')", sql)  # odd pieces are string literals
    values = iter(parameters)
    markers = sum(pieces[index].count("?") for index in range(0, len(pieces), 2))
    if markers != len(parameters):
        raise StatementFailed(
            f"the query has {markers} '?' markers but {len(parameters)} ExecutionParameters"
        )
    for index in range(0, len(pieces), 2):
        pieces[index] = re.sub(r"\?", lambda _: next(values), pieces[index])
    return "".join(pieces)


def run_statement(lake: Lake, statement: Statement) -> StatementOutcome:
    """Run one statement and write its result CSV to ``statement.output``.

    Raises
    ------
    StatementFailed
        A statement the twin does not run, or one Athena would refuse (the reason says which).
    """
    sql = statement.sql
    manifest = None
    if ctas := _CTAS.match(sql):
        result, manifest = _create_table_as_select(lake, statement, ctas)
    elif match := _UNLOAD.match(sql):
        result, manifest = _unload(lake, statement, match)
    elif match := _CREATE_DATABASE.match(sql):
        result = _create_database(lake, match)
    elif match := _DROP_TABLE.match(sql):
        result = _drop_table(lake, match, statement.database)
    elif _QUERY_START.match(sql):
        result = lake.engine.run(sql, statement.database, statement.catalog)
    else:
        keyword = sql.strip().split(None, 1)[0].upper() if sql.strip() else "(empty)"
        raise StatementFailed(
            f"{keyword} statements do not run on the twin; it runs SELECT/WITH queries, "
            "CREATE TABLE AS SELECT, UNLOAD, prepared statements (PREPARE, EXECUTE, "
            "DEALLOCATE PREPARE), CREATE DATABASE and DROP TABLE"
        )
    if statement.output and not _UNLOAD.match(sql):  # an UNLOAD leaves only its manifest
        _put(lake, statement.output, result_csv(result))
    return StatementOutcome(result, manifest)


# --------------------------------------------------------------------------- CREATE TABLE AS


def _create_table_as_select(
    lake: Lake, statement: Statement, match: re.Match[str]
) -> tuple[QueryResult, str | None]:
    database, table = _split_name(match.group("name"), statement.database)
    properties = ctas_properties(match.group("props") or "")
    if _table_exists(lake, database, table):
        if match.group("exists"):
            return _row_count(None), None
        raise StatementFailed(f"Table {database}.{table} already exists")
    location = _ctas_location(properties, statement)
    _refuse_existing_data(lake, location, f"{database}.{table}")
    selected = lake.engine.run(match.group("select"), statement.database, statement.catalog)
    data = selected.table.slice(0, 0) if match.group("nodata") else selected.table
    compression = properties.get("write_compression", "SNAPPY").lower()
    files = _write_parquet(lake, data, location, statement.execution_id, compression)
    _register_table(lake, database, table, data, location)
    manifest = _write_manifest(lake, statement.output, files) if statement.output else None
    return _row_count(data.num_rows), manifest


# ------------------------------------------------------------------------------------ UNLOAD


def _unload(
    lake: Lake, statement: Statement, match: re.Match[str]
) -> tuple[QueryResult, str | None]:
    properties = unload_properties(match.group("props") or "")
    location = match.group("location").rstrip("/") + "/"
    _refuse_existing_data(lake, location, location)
    selected = lake.engine.run(match.group("select"), statement.database, statement.catalog)
    body, suffix = unload_file(selected.table, properties)
    files = []
    if selected.table.num_rows:
        bucket, prefix = _split(location)
        key = f"{prefix}{statement.execution_id}_00000{suffix}"
        lake.s3.put_object(Bucket=bucket, Key=key, Body=body)
        files.append(join_uri(bucket, key))
    manifest = _write_manifest(lake, statement.output, files) if statement.output else None
    return _no_rows(), manifest


def unload_properties(text: str) -> dict[str, str]:
    """The ``WITH (…)`` of an UNLOAD, with Athena's defaults (Parquet, gzip).

    Examples
    --------
    >>> unload_properties("format = 'TEXTFILE', field_delimiter = ','")
    {'format': 'TEXTFILE', 'compression': 'gzip', 'field_delimiter': ','}
    """
    given = {key.lower(): value.strip().strip("'") for key, value in _PROPERTY.findall(text)}
    unsupported = sorted(set(given) - _UNLOAD_PROPERTIES)
    if unsupported:
        raise StatementFailed(
            f"UNLOAD properties {unsupported} are not supported on the twin; drop them"
        )
    storage = given.get("format", "PARQUET").upper()
    if storage not in ("PARQUET", "TEXTFILE", "JSON"):
        raise StatementFailed(
            f"UNLOAD format {storage!r} is not supported; use PARQUET, TEXTFILE or JSON"
        )
    properties = {"format": storage, "compression": given.get("compression", "gzip").lower()}
    if storage == "TEXTFILE":
        properties["field_delimiter"] = given.get("field_delimiter", "\x01")
    return properties


def unload_file(data: pa.Table, properties: dict[str, str]) -> tuple[bytes, str]:
    """The rows as UNLOAD writes them, and the file name's suffix."""
    import gzip

    import pyarrow.parquet as pq

    compression = properties["compression"]
    if properties["format"] == "PARQUET":
        buffer = io.BytesIO()
        codec = "none" if compression == "none" else compression
        pq.write_table(data, buffer, compression=codec)
        return buffer.getvalue(), ".parquet" if codec == "none" else f".{codec}.parquet"
    frame = data.to_pandas()
    if properties["format"] == "JSON":
        text = frame.to_json(orient="records", lines=True, date_format="iso")
    else:
        text = frame.to_csv(sep=properties["field_delimiter"], header=False, index=False)
    raw = text.encode()
    if compression == "gzip":
        return gzip.compress(raw), ".gz"
    if compression != "none":
        raise StatementFailed(f"UNLOAD compression {compression!r} is not supported; use gzip")
    return raw, ""


def ctas_properties(text: str) -> dict[str, str]:
    """The ``WITH (…)`` properties of a CTAS statement, refused when the twin cannot honour them.

    Examples
    --------
    >>> ctas_properties("format = 'PARQUET', external_location = 's3://b/t/'")
    {'format': 'PARQUET', 'external_location': 's3://b/t/'}
    """
    properties = {key.lower(): value.strip().strip("'") for key, value in _PROPERTY.findall(text)}
    unsupported = sorted(set(properties) - _CTAS_PROPERTIES)
    if unsupported:
        raise StatementFailed(
            f"CTAS properties {unsupported} are not supported on the twin; drop them"
        )
    storage_format = properties.get("format", "PARQUET").upper()
    if storage_format != "PARQUET":
        raise StatementFailed(f"CTAS format {storage_format!r} is not supported; use PARQUET")
    return properties


def _table_exists(lake: Lake, database: str, table: str) -> bool:
    try:
        lake.glue.get_table(DatabaseName=database, Name=table)
    except lake.glue.exceptions.EntityNotFoundException:
        return False
    return True


def _ctas_location(properties: dict[str, str], statement: Statement) -> str:
    # Without external_location, Athena writes beside the query results.
    output = statement.output or ""
    location = properties.get("external_location") or (
        output.rsplit("/", 1)[0] + f"/tables/{statement.execution_id}" if output else ""
    )
    if not location:
        raise StatementFailed("CTAS needs external_location or a query result location")
    return location.rstrip("/") + "/"


def _refuse_existing_data(lake: Lake, location: str, name: str) -> None:
    bucket, prefix = _split(location)
    if lake.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
        raise StatementFailed(
            f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{name}' already exists: "
            f"{location}"
        )


def _write_parquet(
    lake: Lake, data: pa.Table, location: str, execution_id: str, compression: str
) -> list[str]:
    import pyarrow.parquet as pq

    if not data.num_rows:
        return []
    buffer = io.BytesIO()
    pq.write_table(data, buffer, compression=compression)
    bucket, prefix = _split(location)
    key = f"{prefix}{execution_id}_00000"
    lake.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return [join_uri(bucket, key)]


def _register_table(lake: Lake, database: str, table: str, data: pa.Table, location: str) -> None:
    columns = [
        {"Name": name, "Type": glue_type(arrow_duckdb_type(data.schema.field(name).type))}
        for name in data.column_names
    ]
    lake.glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "has_encrypted_data": "false"},
            "StorageDescriptor": {
                "Columns": columns,
                "Location": location.rstrip("/"),
                **_PARQUET_STORAGE,
            },
        },
    )


def _write_manifest(lake: Lake, output: str, files: list[str]) -> str:
    # Athena names the manifest after the result file: <id>-manifest.csv.
    manifest = (output[: -len(".csv")] if output.endswith(".csv") else output) + "-manifest.csv"
    _put(lake, manifest, "".join(f"{f}\n" for f in files).encode())
    return manifest


def arrow_duckdb_type(kind: Any) -> str:
    """The DuckDB type name of an Arrow type (what a CTAS table registers in Glue).

    Examples
    --------
    >>> import pyarrow as pa
    >>> arrow_duckdb_type(pa.int32()), arrow_duckdb_type(pa.decimal128(10, 2))
    ('INTEGER', 'DECIMAL(10,2)')
    """
    import pyarrow as pa

    checks = (
        (pa.types.is_string, "VARCHAR"),
        (pa.types.is_large_string, "VARCHAR"),
        (pa.types.is_boolean, "BOOLEAN"),
        (pa.types.is_int8, "TINYINT"),
        (pa.types.is_int16, "SMALLINT"),
        (pa.types.is_int32, "INTEGER"),
        (pa.types.is_integer, "BIGINT"),
        (pa.types.is_float32, "FLOAT"),
        (pa.types.is_floating, "DOUBLE"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_timestamp, "TIMESTAMP"),
        (pa.types.is_binary, "BLOB"),
    )
    if pa.types.is_decimal(kind):
        return f"DECIMAL({kind.precision},{kind.scale})"
    return next((name for check, name in checks if check(kind)), "VARCHAR")


# --------------------------------------------------------------------------- catalog changes


def _create_database(lake: Lake, match: re.Match[str]) -> QueryResult:
    name = _unquote(match.group("name"))
    database_input: dict[str, Any] = {"Name": name}
    if match.group("comment"):
        database_input["Description"] = match.group("comment").replace("''", "'")
    try:
        lake.glue.create_database(DatabaseInput=database_input)
    except lake.glue.exceptions.AlreadyExistsException:
        if not match.group("exists"):
            raise StatementFailed(f"Database {name} already exists") from None
    return _no_rows()


def _drop_table(lake: Lake, match: re.Match[str], database: str) -> QueryResult:
    target_database, table = _split_name(match.group("name"), database)
    try:
        lake.glue.delete_table(DatabaseName=target_database, Name=table)
    except lake.glue.exceptions.EntityNotFoundException:
        if not match.group("exists"):
            raise StatementFailed(f"Table {target_database}.{table} does not exist") from None
    return _no_rows()


# --------------------------------------------------------------------------- small pieces


def _unquote(identifier: str) -> str:
    return identifier.strip('"`').lower()


def _split_name(name: str, database: str) -> tuple[str, str]:
    parts = [_unquote(p) for p in re.findall(_IDENT, name)]
    if len(parts) == 1:
        return database, parts[0]
    return parts[-2], parts[-1]


def _row_count(rows: int | None) -> QueryResult:
    # A CTAS answers with the rows it wrote; one skipped by IF NOT EXISTS with no row at all.
    import pyarrow as pa

    counts = [] if rows is None else [rows]
    return QueryResult(pa.table({"rows": pa.array(counts, pa.int64())}), ("bigint",))


def _no_rows() -> QueryResult:
    import pyarrow as pa

    return QueryResult(pa.table({}), ())


def _split(uri: str) -> tuple[str, str]:
    try:
        return parse_path(uri, name="location")
    except MLAccelInputError as exc:  # Athena reports it as the statement's failure
        raise StatementFailed(str(exc)) from exc


def _put(lake: Lake, uri: str, body: bytes) -> None:
    bucket, key = _split(uri)
    lake.s3.put_object(Bucket=bucket, Key=key, Body=body)
