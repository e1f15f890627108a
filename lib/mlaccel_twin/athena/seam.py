"""Seam: Athena runs SQL on the twin, with DuckDB over the Glue catalog.

moto records Athena query executions but runs no SQL. This seam:

- registers :class:`~mlaccel_twin.athena.engine.LakeQueryEngine` as
  ``runtime.services["athena_query"]``,
  a callable ``(query_string, database, catalog) -> pandas.DataFrame`` for the twin's own hooks
  (processing jobs with an Athena dataset definition);
- makes the Athena API answer with real results, so ``awswrangler.athena.read_sql_query``
  (CTAS approach, the default, or ``ctas_approach=False``) and plain boto3 work on the twin:

  * ``StartQueryExecution`` runs the statement: a query writes its result CSV (Athena's format:
    header, every value quoted) to the ``OutputLocation``; ``CREATE TABLE … WITH (…) AS SELECT``
    writes Parquet to ``external_location``, registers the Glue table and writes the data
    manifest; ``CREATE DATABASE`` and ``DROP TABLE`` change the Glue catalog;
  * ``GetQueryExecution`` reports ``SUCCEEDED``, or ``FAILED`` with ``StateChangeReason`` and
    ``AthenaError``, and ``Statistics.DataManifestLocation`` for CTAS;
  * ``GetQueryResults`` pages through the result (``MaxResults``, ``NextToken``), with Athena's
    column types in ``ResultSetMetadata``.

Results configured through moto's own ``/moto-api/static/athena/query-results`` still win.
Statements run synchronously inside ``StartQueryExecution``; clients poll as they do on AWS.

Written for moto 5.2.5 (see ``PINNED_VERSIONS``); :func:`check_seams` fails loudly when the moto
internals used here change.
"""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
import io
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelError, MLAccelInputError, StatementFailed
from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin.athena.engine import LakeQueryEngine, QueryResult, glue_type
from mlaccel_twin.seams import fail_if_broken, replace, signature_problems

log = logging.getLogger(__name__)

SERVICE_KEY = "athena_query"  # pragma: allowlist secret
MAX_RESULTS_PER_PAGE = 1000

_EXPECTED_SIGNATURES = {
    "AthenaBackend.start_query_execution": [
        "self",
        "query",
        "context",
        "config",
        "workgroup",
        "execution_parameters",
    ],
    "AthenaResponse.get_query_execution": ["self"],
    "AthenaResponse.get_query_results": ["self"],
}

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
_QUERY_START = re.compile(r"^\s*(?:\(\s*)*(SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)


def check_seams() -> None:
    """Raise when the moto internals this seam patches are not what it was written for."""
    from moto.athena import models, responses

    owners: dict[str, Any] = {
        "AthenaBackend": models.AthenaBackend,
        "AthenaResponse": responses.AthenaResponse,
    }
    problems = signature_problems(owners, _EXPECTED_SIGNATURES)
    source = inspect.getsource(models.AthenaBackend.__init__)
    for attribute in ("executions", "query_results", "work_groups"):
        if f"self.{attribute}" not in source:
            problems.append(f"AthenaBackend no longer keeps self.{attribute}")
    if "OutputLocation" not in inspect.getsource(models.Execution.__init__):
        problems.append("Execution no longer derives OutputLocation")
    fail_if_broken("athena", problems)


def install(runtime: TwinRuntime) -> None:
    """Register the DuckDB engine and make moto's Athena API run the SQL it receives."""
    from moto.athena import models, responses

    check_seams()
    runtime.services[SERVICE_KEY] = LakeQueryEngine.for_twin(runtime)
    replace(models.AthenaBackend, "start_query_execution", _start_query_execution)
    replace(responses.AthenaResponse, "get_query_execution", _get_query_execution)
    replace(responses.AthenaResponse, "get_query_results", _get_query_results)


def engine() -> LakeQueryEngine:
    """The query engine of the twin running in this process."""
    runtime = active_runtime()
    found = runtime.services.get(SERVICE_KEY)
    if not isinstance(found, LakeQueryEngine):
        found = LakeQueryEngine.for_twin(runtime)
        runtime.services[SERVICE_KEY] = found
    return found


# --------------------------------------------------------------------------- moto hooks


def _start_query_execution(original: Callable[..., str]) -> Callable[..., str]:
    def start_query_execution(
        self: Any,
        query: str,
        context: dict[str, Any] | None,
        config: dict[str, Any] | None,
        workgroup: str | None,
        execution_parameters: list[str] | None,
    ) -> str:
        if not (config or {}).get("OutputLocation"):
            # Athena falls back to the workgroup's result location.
            group = self.work_groups.get(workgroup or "primary")
            configured = (group.configuration or {}) if group is not None else {}
            output = (configured.get("ResultConfiguration") or {}).get("OutputLocation")
            if output:
                config = {**(config or {}), "OutputLocation": output}
        execution_id = original(
            self,
            query=query,
            context=context,
            config=config,
            workgroup=workgroup,
            execution_parameters=execution_parameters,
        )
        if execution_id in self.query_results:
            return execution_id  # results configured through moto's own API
        execution = self.executions[execution_id]
        try:
            sql = bind_execution_parameters(query, execution_parameters)
            _run_statement(execution, sql, context or {})
            execution.status = "SUCCEEDED"
        except Exception as exc:
            reason = str(exc) if isinstance(exc, StatementFailed | MLAccelError) else repr(exc)
            log.info("twin Athena query %s failed: %s", execution_id, reason)
            execution._mlaccel_failure = reason
            execution.status = "FAILED"
        return execution_id

    return start_query_execution


def _get_query_execution(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def get_query_execution(self: Any) -> str:
        body = original(self)
        payload = json.loads(body)
        info = payload.get("QueryExecution", {})
        execution = self.athena_backend.executions.get(info.get("QueryExecutionId"))
        if execution is None:
            return body
        failure = getattr(execution, "_mlaccel_failure", None)
        if failure:
            info["Status"]["StateChangeReason"] = failure
            info["Status"]["AthenaError"] = {
                "ErrorCategory": 2,
                "ErrorType": 1301,
                "Retryable": False,
                "ErrorMessage": failure,
            }
        manifest = getattr(execution, "_mlaccel_manifest", None)
        if manifest:
            info["Statistics"]["DataManifestLocation"] = manifest
        return json.dumps(payload)

    return get_query_execution


def _get_query_results(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def get_query_results(self: Any) -> Any:
        execution_id = self._get_param("QueryExecutionId")
        execution = self.athena_backend.executions.get(execution_id)
        result: QueryResult | None = getattr(execution, "_mlaccel_result", None)
        if execution is None or result is None or execution_id in self.athena_backend.query_results:
            return original(self)
        limit = int(self._get_param("MaxResults") or MAX_RESULTS_PER_PAGE)
        if not 1 <= limit <= MAX_RESULTS_PER_PAGE:
            return self.error(f"MaxResults must be between 1 and {MAX_RESULTS_PER_PAGE}", 400)
        return json.dumps(results_page(result, self._get_param("NextToken"), limit))

    return get_query_results


# --------------------------------------------------------------------------- statements


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
    markers = 0
    for index in range(0, len(pieces), 2):
        markers += pieces[index].count("?")
    if markers != len(parameters):
        raise StatementFailed(
            f"the query has {markers} '?' markers but {len(parameters)} ExecutionParameters"
        )
    for index in range(0, len(pieces), 2):
        pieces[index] = re.sub(r"\?", lambda _: next(values), pieces[index])
    return "".join(pieces)


def _run_statement(execution: Any, sql: str, context: dict[str, Any]) -> None:
    database = str(context.get("Database") or "default").lower()
    catalog = context.get("Catalog")
    output = (execution.config or {}).get("OutputLocation")
    ctas = _CTAS.match(sql)
    if ctas:
        result = _create_table_as_select(execution, ctas, database, catalog)
    elif match := _CREATE_DATABASE.match(sql):
        result = _create_database(match)
    elif match := _DROP_TABLE.match(sql):
        result = _drop_table(match, database)
    elif _QUERY_START.match(sql):
        result = engine().run(sql, database, catalog)
    else:
        keyword = sql.strip().split(None, 1)[0].upper() if sql.strip() else "(empty)"
        raise StatementFailed(
            f"{keyword} statements do not run on the twin; it runs SELECT/WITH queries, "
            "CREATE TABLE AS SELECT, CREATE DATABASE and DROP TABLE"
        )
    execution._mlaccel_result = result
    if output:
        _put(output, result_csv(result))


def _unquote(identifier: str) -> str:
    return identifier.strip('"`').lower()


def _split_name(name: str, database: str) -> tuple[str, str]:
    parts = [_unquote(p) for p in re.findall(_IDENT, name)]
    if len(parts) == 1:
        return database, parts[0]
    return parts[-2], parts[-1]


def _create_table_as_select(
    execution: Any, match: re.Match[str], database: str, catalog: str | None
) -> QueryResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    target_database, table = _split_name(match.group("name"), database)
    properties = {
        key.lower(): value.strip().strip("'")
        for key, value in _PROPERTY.findall(match.group("props") or "")
    }
    unsupported = sorted(set(properties) - {"external_location", "format", "write_compression"})
    if unsupported:
        raise StatementFailed(
            f"CTAS properties {unsupported} are not supported on the twin; drop them"
        )
    storage_format = properties.get("format", "PARQUET").upper()
    if storage_format != "PARQUET":
        raise StatementFailed(f"CTAS format {storage_format!r} is not supported; use PARQUET")
    glue = active_runtime().client("glue")
    try:
        glue.get_table(DatabaseName=target_database, Name=table)
        if match.group("exists"):
            return QueryResult(pa.table({"rows": pa.array([], pa.int64())}), ("bigint",))
        raise StatementFailed(f"Table {target_database}.{table} already exists")
    except glue.exceptions.EntityNotFoundException:
        pass
    output = (execution.config or {}).get("OutputLocation", "")
    location = properties.get("external_location") or (
        output.rsplit("/", 1)[0] + f"/tables/{execution.id}" if output else ""
    )
    if not location:
        raise StatementFailed("CTAS needs external_location or a query result location")
    location = location.rstrip("/") + "/"
    bucket, prefix = _split(location)
    s3 = active_runtime().client("s3")
    if s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0):
        raise StatementFailed(
            f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{target_database}.{table}' "
            f"already exists: {location}"
        )
    result = engine().run(match.group("select"), database, catalog)
    data = result.table.slice(0, 0) if match.group("nodata") else result.table
    files = []
    if data.num_rows:
        buffer = io.BytesIO()
        compression = properties.get("write_compression", "SNAPPY").lower()
        pq.write_table(data, buffer, compression=compression)
        key = f"{prefix}{execution.id}_00000"
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        files.append(f"s3://{bucket}/{key}")
    glue.create_table(
        DatabaseName=target_database,
        TableInput={
            "Name": table,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "has_encrypted_data": "false"},
            "StorageDescriptor": {
                "Columns": [
                    {"Name": name, "Type": glue_type(_duckdb_type_of(data.schema.field(name)))}
                    for name in data.column_names
                ],
                "Location": location.rstrip("/"),
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": (
                        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                    ),
                    "Parameters": {"serialization.format": "1"},
                },
            },
        },
    )
    if output:
        manifest = output[: -len(".csv")] if output.endswith(".csv") else output
        manifest += "-manifest.csv"
        _put(manifest, "".join(f"{f}\n" for f in files).encode())
        execution._mlaccel_manifest = manifest
    return QueryResult(pa.table({"rows": pa.array([data.num_rows], pa.int64())}), ("bigint",))


def _duckdb_type_of(field: Any) -> str:
    import pyarrow as pa

    kind = field.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "VARCHAR"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_int8(kind):
        return "TINYINT"
    if pa.types.is_int16(kind):
        return "SMALLINT"
    if pa.types.is_int32(kind):
        return "INTEGER"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_float32(kind):
        return "FLOAT"
    if pa.types.is_floating(kind):
        return "DOUBLE"
    if pa.types.is_decimal(kind):
        return f"DECIMAL({kind.precision},{kind.scale})"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_binary(kind):
        return "BLOB"
    return "VARCHAR"


def _create_database(match: re.Match[str]) -> QueryResult:
    import pyarrow as pa

    glue = active_runtime().client("glue")
    name = _unquote(match.group("name"))
    database_input: dict[str, Any] = {"Name": name}
    if match.group("comment"):
        database_input["Description"] = match.group("comment").replace("''", "'")
    try:
        glue.create_database(DatabaseInput=database_input)
    except glue.exceptions.AlreadyExistsException:
        if not match.group("exists"):
            raise StatementFailed(f"Database {name} already exists") from None
    return QueryResult(pa.table({}), ())


def _drop_table(match: re.Match[str], database: str) -> QueryResult:
    import pyarrow as pa

    glue = active_runtime().client("glue")
    target_database, table = _split_name(match.group("name"), database)
    try:
        glue.delete_table(DatabaseName=target_database, Name=table)
    except glue.exceptions.EntityNotFoundException:
        if not match.group("exists"):
            raise StatementFailed(f"Table {target_database}.{table} does not exist") from None
    return QueryResult(pa.table({}), ())


# --------------------------------------------------------------------------- result formats


def _split(uri: str) -> tuple[str, str]:
    try:
        return parse_path(uri, name="location")
    except MLAccelInputError as exc:  # Athena reports it as the statement's failure
        raise StatementFailed(str(exc)) from exc


def _put(uri: str, body: bytes) -> None:
    bucket, key = _split(uri)
    active_runtime().client("s3").put_object(Bucket=bucket, Key=key, Body=body)


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
    """Athena's result file: a header, every non-null value in double quotes, nulls empty."""

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
    """One ``GetQueryResults`` page of at most ``limit`` rows; the first page starts with the
    header row, as Athena's does. ``NextToken`` is the offset of the next data row."""
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
    page: dict[str, Any] = {
        "ResultSet": {
            "Rows": rows,
            "ResultSetMetadata": {
                "ColumnInfo": [
                    _column_info(name, kind)
                    for name, kind in zip(table.column_names, result.athena_types, strict=True)
                ]
            },
        },
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
