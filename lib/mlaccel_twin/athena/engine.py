"""Athena on the twin: Athena-style SQL over the Glue catalog, run by DuckDB.

Each query gets a fresh in-memory DuckDB database laid out like Athena's catalog: a catalog
``awsdatacatalog``, one schema per Glue database and one view per Glue table over the table's S3
location (Parquet, CSV or JSON; hive partition folders become the partition columns). Columns
come in the Glue table's order with its types, as Athena reads them. So these all work::

    SELECT make, avg(price) FROM used_cars GROUP BY 1
    SELECT count(*) FROM mlaccel_lake.used_cars WHERE year = 2020
    SELECT * FROM "awsdatacatalog"."mlaccel_lake"."credit_risk" LIMIT 10

Only the tables a query names get a view, so a large catalog costs nothing. DuckDB reads S3
through its ``httpfs`` extension (shipped as the ``duckdb-extension-httpfs`` wheel, loaded from
disk: nothing is downloaded). A few Presto functions DuckDB lacks (``approx_percentile``,
``approx_distinct``, ``regexp_like``, ``from_unixtime``, ``to_unixtime``,
``json_extract_scalar``) are defined as macros.

Not emulated: Athena views (``VIRTUAL_VIEW`` tables), partitions registered outside the table's
location, and Presto functions or syntax DuckDB does not share (the error shows the SQL).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelError, MLAccelInputError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin.athena.dialect import to_duckdb

log = logging.getLogger(__name__)

CATALOG = "awsdatacatalog"

# Presto functions that DuckDB names differently.
_PRESTO_MACROS = (
    "approx_percentile(x, p) AS approx_quantile(x, p)",
    "approx_distinct(x) AS approx_count_distinct(x)",
    "regexp_like(s, pattern) AS regexp_matches(s, pattern)",
    "from_unixtime(t) AS CAST(to_timestamp(t) AS TIMESTAMP)",
    "to_unixtime(t) AS epoch(t)",
    "json_extract_scalar(j, path) AS json_extract_string(j, path)",
)

_GLUE_TO_DUCKDB = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}

_DUCKDB_TO_ATHENA = {
    "VARCHAR": "varchar",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "bigint",
    "HUGEINT": "bigint",
    "FLOAT": "real",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "BLOB": "varbinary",
}

# Glue names may start with a digit, so any run of word characters may name a table.
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class S3Access:
    """How DuckDB reaches S3: the endpoint (the twin's URL, or None for AWS) and credentials."""

    region: str
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None


@dataclass(frozen=True)
class QueryResult:
    """What a query returned: an Arrow table and the Athena type of each column."""

    table: pa.Table
    athena_types: tuple[str, ...]

    def to_pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()


def duckdb_type(glue_type: str) -> str | None:
    """DuckDB type of a primitive Glue/Hive type, or None for types left as the files have them.

    Examples
    --------
    >>> duckdb_type("decimal(10,2)"), duckdb_type("varchar(20)"), duckdb_type("array<int>")
    ('DECIMAL(10,2)', 'VARCHAR', None)
    """
    text = glue_type.strip().lower()
    if text.startswith("decimal"):
        return text.upper().replace(" ", "")
    base = text.split("(")[0].strip()
    return _GLUE_TO_DUCKDB.get(base)


def athena_type(duckdb_type_name: str) -> str:
    """Athena's name for the type of a result column that DuckDB computed.

    Examples
    --------
    >>> athena_type("VARCHAR"), athena_type("DECIMAL(18,3)"), athena_type("INTEGER[]")
    ('varchar', 'decimal(18,3)', 'array')
    """
    name = duckdb_type_name.upper()
    if name.startswith("DECIMAL"):
        return name.lower()
    if name.endswith("[]"):
        return "array"
    for prefix, athena in (("STRUCT", "row"), ("MAP", "map")):
        if name.startswith(prefix):
            return athena
    return _DUCKDB_TO_ATHENA.get(name, "varchar")


def glue_type(duckdb_type_name: str) -> str:
    """Glue column type for a DuckDB result column (used when a CTAS query registers a table).

    Examples
    --------
    >>> glue_type("VARCHAR"), glue_type("INTEGER"), glue_type("HUGEINT")
    ('string', 'int', 'bigint')
    """
    athena = athena_type(duckdb_type_name)
    return {"varchar": "string", "integer": "int", "real": "float", "varbinary": "binary"}.get(
        athena, athena if athena not in ("array", "row", "map") else "string"
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _split_s3(uri: str) -> tuple[str, str]:
    return parse_path(uri, name="table location")


def _is_data_file(key: str, size: int) -> bool:
    # Athena skips hidden and bookkeeping files (``_SUCCESS``, ``.crc``, ``x_$folder$``).
    name = key.rsplit("/", 1)[-1]
    return bool(name) and size > 0 and not name.startswith(("_", ".")) and "$folder$" not in name


def _httpfs_extension() -> Path:
    import duckdb_extension_httpfs

    package = Path(duckdb_extension_httpfs.__file__).parent
    found = sorted(package.glob("extensions/*/httpfs.duckdb_extension"))
    if not found:
        raise MLAccelError(
            "the DuckDB httpfs extension file is missing; reinstall duckdb-extension-httpfs "
            "at the version pinned in pyproject.toml"
        )
    return found[-1]


class LakeQueryEngine:
    """Athena's SQL over a Glue catalog and S3, run by DuckDB.

    Parameters
    ----------
    glue, s3
        boto3 clients of the backend that holds the catalog and the data.
    s3_access
        Endpoint and credentials DuckDB uses to read S3.

    Examples
    --------
    >>> engine = LakeQueryEngine.for_twin(runtime)  # doctest: +SKIP
    >>> engine.query("SELECT make, avg(price) FROM used_cars GROUP BY 1", "mlaccel_lake")
    ... # doctest: +SKIP
    """

    def __init__(self, *, glue: Any, s3: Any, s3_access: S3Access) -> None:
        self._glue = glue
        self._s3 = s3
        self._s3_access = s3_access

    @classmethod
    def for_twin(cls, runtime: TwinRuntime) -> LakeQueryEngine:
        """An engine the twin itself uses (Athena API calls, processing jobs)."""
        access = S3Access(
            region=runtime.region,
            endpoint_url=runtime.url,
            access_key_id="twin",
            secret_access_key="twin",  # pragma: allowlist secret
        )
        return cls(glue=runtime.client("glue"), s3=runtime.client("s3"), s3_access=access)

    def __call__(
        self, query_string: str, database: str, catalog: str | None = None
    ) -> pd.DataFrame:
        """The ``runtime.services["athena_query"]`` contract: same as :meth:`query`."""
        return self.query(query_string, database, catalog)

    def query(self, sql: str, database: str, catalog: str | None = None) -> pd.DataFrame:
        """Run ``sql`` with ``database`` as the default database; the result as a DataFrame.

        Raises
        ------
        MLAccelInputError
            Unknown database or table (the message lists what exists), or SQL DuckDB rejects.
        """
        return self.run(sql, database, catalog).to_pandas()

    def run(self, sql: str, database: str, catalog: str | None = None) -> QueryResult:
        """Run ``sql`` and keep the result as Arrow with Athena column types."""
        if not isinstance(sql, str) or not sql.strip():
            raise MLAccelInputError(f"sql={sql!r} is empty; pass a SELECT statement")
        if catalog not in (None, "", CATALOG) and catalog.lower() != CATALOG:
            raise MLAccelInputError(
                f"catalog={catalog!r} is not available on the twin; only the Glue catalog "
                f"{CATALOG!r} (AwsDataCatalog) is"
            )
        if not isinstance(database, str) or not database.strip():
            raise MLAccelInputError(f"database={database!r} must name a Glue database")
        database = database.strip().lower()  # Glue keeps names in lowercase
        databases = self._database_names()
        if database not in databases:
            raise MLAccelInputError(
                f"database={database!r} is not in the Glue catalog; databases that exist: "
                f"{', '.join(sorted(databases)) or 'none'}. Publish a table into it first "
                "(mlaccel.data.publish_data_product) or fix the name"
            )
        words = {w.lower() for w in _IDENTIFIER.findall(sql)}
        wanted = {database} | (words & databases)
        con = self._connect()
        try:
            tables_by_database = self._create_views(con, wanted, words)
            con.execute(f"USE {CATALOG}.{_quote(database)}")
            return self._execute(
                con, to_duckdb(sql), database, tables_by_database.get(database, [])
            )
        finally:
            con.close()

    # ------------------------------------------------------------------------------ catalog

    def _database_names(self) -> set[str]:
        names: set[str] = set()
        for page in self._glue.get_paginator("get_databases").paginate():
            names.update(db["Name"] for db in page["DatabaseList"])
        return names

    def _tables(self, database: str) -> Iterator[dict[str, Any]]:
        for page in self._glue.get_paginator("get_tables").paginate(DatabaseName=database):
            yield from page["TableList"]

    # ------------------------------------------------------------------------------ duckdb

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        # Never fetch extensions from the internet: httpfs comes from its wheel.
        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        con.execute(f"ATTACH ':memory:' AS {CATALOG}")
        for macro in _PRESTO_MACROS:
            con.execute(f"CREATE TEMP MACRO {macro}")
        return con

    def _enable_s3(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"LOAD {_literal(str(_httpfs_extension()))}")
        access = self._s3_access
        options = [("TYPE", "s3"), ("REGION", _literal(access.region))]
        if access.access_key_id:
            options.append(("KEY_ID", _literal(access.access_key_id)))
            options.append(("SECRET", _literal(access.secret_access_key or "")))
        if access.session_token:
            options.append(("SESSION_TOKEN", _literal(access.session_token)))
        if access.endpoint_url:
            scheme, _, host = access.endpoint_url.partition("://")
            options += [
                ("ENDPOINT", _literal(host.rstrip("/"))),
                ("URL_STYLE", "'path'"),
                ("USE_SSL", "true" if scheme == "https" else "false"),
            ]
        try:
            con.execute("CREATE SECRET lake_s3 (" + ", ".join(f"{k} {v}" for k, v in options) + ")")
        except Exception as exc:
            # The statement holds credentials: report the failure without echoing it.
            raise MLAccelError(
                f"DuckDB could not configure S3 access: {type(exc).__name__}"
            ) from None

    def _create_views(
        self, con: duckdb.DuckDBPyConnection, databases: set[str], words: set[str]
    ) -> dict[str, list[str]]:
        tables_by_database: dict[str, list[str]] = {}
        s3_enabled = False
        for database in sorted(databases):
            con.execute(f"CREATE SCHEMA {CATALOG}.{_quote(database)}")
            tables = list(self._tables(database))
            tables_by_database[database] = sorted(t["Name"] for t in tables)
            for table in tables:
                if table["Name"].lower() not in words:
                    continue
                if not s3_enabled:
                    self._enable_s3(con)
                    s3_enabled = True
                source = self._table_source(con, database, table)
                name = f"{CATALOG}.{_quote(database)}.{_quote(table['Name'])}"
                con.execute(f"CREATE VIEW {name} AS {source}")
        return tables_by_database

    def _data_files(self, location: str) -> list[str]:
        bucket, key = _split_s3(location)
        prefix = key.rstrip("/") + "/" if key.strip("/") else ""
        files = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                if _is_data_file(item["Key"], int(item.get("Size", 0))):
                    files.append(f"s3://{bucket}/{item['Key']}")
        return files

    def _table_source(
        self, con: duckdb.DuckDBPyConnection, database: str, table: dict[str, Any]
    ) -> str:
        """SELECT over the table's files: Glue's columns, in Glue's order, with Glue's types."""
        name = f"{database}.{table['Name']}"
        if table.get("TableType") == "VIRTUAL_VIEW":
            raise MLAccelInputError(
                f"{name} is an Athena view; the twin does not run views. Query its base tables"
            )
        storage = table.get("StorageDescriptor") or {}
        location = storage.get("Location")
        if not location:
            raise MLAccelInputError(f"table {name} has no S3 location in the Glue catalog")
        columns = [(c["Name"], c.get("Type", "string")) for c in storage.get("Columns", [])]
        partitions = [(c["Name"], c.get("Type", "string")) for c in table.get("PartitionKeys", [])]
        files = self._data_files(location)
        if not files:
            return _empty_select(columns + partitions)
        reader = _reader(name, storage, files, columns, partitions)
        if not columns:
            return f"SELECT * FROM {reader}"
        present = {
            row[0].lower() for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        }
        projection = []
        for column, hive_type in columns + partitions:
            target = duckdb_type(hive_type)
            if column.lower() not in present:
                projection.append(f"CAST(NULL AS {target or 'VARCHAR'}) AS {_quote(column)}")
            elif target is None:
                projection.append(_quote(column))
            else:
                projection.append(f"CAST({_quote(column)} AS {target}) AS {_quote(column)}")
        return f"SELECT {', '.join(projection)} FROM {reader}"

    def _execute(
        self, con: duckdb.DuckDBPyConnection, sql: str, database: str, tables: list[str]
    ) -> QueryResult:
        import duckdb
        import pyarrow as pa

        try:
            relation = con.sql(sql)
            if relation is None:  # a statement without a result set
                return QueryResult(pa.table({}), ())
            types = [str(t) for t in relation.types]
            # DuckDB sums integers into HUGEINT where Athena keeps bigint.
            if any(t in ("HUGEINT", "UHUGEINT") for t in types):
                relation = relation.project(
                    ", ".join(
                        f"CAST({_quote(c)} AS BIGINT) AS {_quote(c)}"
                        if t in ("HUGEINT", "UHUGEINT")
                        else _quote(c)
                        for c, t in zip(relation.columns, types, strict=True)
                    )
                )
            table = relation.to_arrow_table()
        except duckdb.CatalogException as exc:
            raise MLAccelInputError(
                f"query failed: {_first_line(exc)}\n"
                f"Tables in database {database!r}: {', '.join(tables) or 'none'}.\n"
                f"SQL:\n{sql}"
            ) from exc
        except (
            duckdb.ParserException,
            duckdb.BinderException,
            duckdb.ConversionException,
            duckdb.InvalidInputException,
            duckdb.NotImplementedException,
        ) as exc:
            raise MLAccelInputError(f"query failed: {_first_line(exc)}\nSQL:\n{sql}") from exc
        except duckdb.Error as exc:
            raise MLAccelError(f"query failed: {_first_line(exc)}\nSQL:\n{sql}") from exc
        return QueryResult(table, tuple(athena_type(t) for t in types))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _empty_select(columns: list[tuple[str, str]]) -> str:
    if not columns:
        return "SELECT NULL AS _empty LIMIT 0"
    parts = [f"CAST(NULL AS {duckdb_type(t) or 'VARCHAR'}) AS {_quote(c)}" for c, t in columns]
    return f"SELECT {', '.join(parts)} LIMIT 0"


def _reader(
    name: str,
    storage: dict[str, Any],
    files: list[str],
    columns: list[tuple[str, str]],
    partitions: list[tuple[str, str]],
) -> str:
    """DuckDB table function reading ``files`` in the table's storage format."""
    serde = storage.get("SerdeInfo") or {}
    library = str(serde.get("SerializationLibrary", "")).lower()
    input_format = str(storage.get("InputFormat", "")).lower()
    serde_params = {**storage.get("Parameters", {}), **serde.get("Parameters", {})}
    file_list = "[" + ", ".join(_literal(f) for f in files) + "]"
    hive_types = ", ".join(
        f"{_literal(c)}: {_literal(duckdb_type(t) or 'VARCHAR')}" for c, t in partitions
    )
    hive = (
        f"hive_partitioning = true, hive_types = {{{hive_types}}}"
        if partitions
        else "hive_partitioning = false"
    )
    if "parquet" in library or "parquet" in input_format:
        return f"read_parquet({file_list}, union_by_name = true, {hive})"
    declared = ", ".join(
        f"{_literal(c)}: {_literal(duckdb_type(t) or 'VARCHAR')}" for c, t in columns
    )
    if "json" in library:
        return (
            f"read_json({file_list}, format = 'newline_delimited', "
            f"columns = {{{declared}}}, {hive})"
        )
    if "textinputformat" in input_format or "csv" in library or "lazysimple" in library:
        delimiter = serde_params.get("separatorChar") or serde_params.get("field.delim") or ","
        quote = serde_params.get("quoteChar", '"') if "opencsv" in library else ""
        header = int(str(serde_params.get("skip.header.line.count", "0")) or 0) > 0
        return (
            f"read_csv({file_list}, delim = {_literal(delimiter)}, quote = {_literal(quote)}, "
            f"header = {str(header).lower()}, columns = {{{declared}}}, {hive})"
        )
    raise MLAccelInputError(
        f"table {name} is stored as {library or input_format or 'an unknown format'}; the twin "
        "reads Parquet, CSV and JSON tables"
    )
