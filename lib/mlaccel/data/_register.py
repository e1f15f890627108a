"""Register any tabular source as a data product: read it, infer its contract, land it.

A source is a Glue/Athena table (``database.table``), an S3 object or prefix (Parquet or CSV,
compressed or not), a local file, or a DataFrame. :func:`register` normalizes its column names,
infers the contract (:func:`mlaccel.products.infer_product`), adds a stable id column when it has
none, and publishes the rows under the product's name with the contract in the Glue table's
parameters, where :func:`load_product` finds it by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel import products
from mlaccel._aws import error_code
from mlaccel._s3 import parse_path
from mlaccel.data._catalog import DEFAULT_DATABASE, glue_tables, require_table
from mlaccel.data._publish import publish_data_product
from mlaccel.data._read import read_table
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

    from mlaccel._connect import Connection

# Glue's limit on a column comment.
_COMMENT_LIMIT = 255
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parquet.snappy")


@dataclass(frozen=True)
class Registration:
    """A registered product: its contract, why it is so, and where its rows landed."""

    product: products.DataProduct
    notes: tuple[str, ...]
    database: str
    table: str
    n_rows: int
    location: str

    def __str__(self) -> str:
        lines = [
            f"registered {self.database}.{self.table}: {self.n_rows:,} rows at {self.location}",
            self.product.describe(),
        ]
        if self.product.renamed:
            renames = ", ".join(f"{o!r} → {n}" for o, n in self.product.renamed.items())
            lines.append(f"  renamed for the catalog: {renames}")
        lines += [f"  why: {note}" for note in self.notes]
        return "\n".join(lines)


def register(
    source: Any,
    *,
    name: str,
    target: str,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
    problem_type: str = "",
    id_column: str = "",
    time_column: str = "",
    positive_class: str = "",
    features: Sequence[str] = (),
    exclude: Sequence[str] = (),
    description: str = "",
    column_descriptions: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Registration:
    """Register ``source`` as data product ``name`` (see :func:`mlaccel.products.infer_product`
    for the contract's parameters), replacing an earlier registration of the same name.

    Examples
    --------
    >>> register("data/houses.csv", name="houses", target="price", connection=conn)
    ... # doctest: +SKIP
    """
    name = products.normalize_column(name) if isinstance(name, str) and name else name
    if not isinstance(target, str) or not target:
        raise MLAccelInputError(
            "target is required: name the column to predict (for the demo products it is known)"
        )
    df, where = read_source(source, connection=connection)
    df, renamed = products.normalize_columns(df)
    descriptions = {
        products.normalize_column(c): shorten(str(d), _COMMENT_LIMIT)
        for c, d in (column_descriptions or {}).items()
    }
    inference = products.infer_product(
        df,
        name=name,
        target=target,
        problem_type=problem_type,
        id_column=id_column,
        time_column=time_column,
        positive_class=positive_class,
        features=features,
        exclude=exclude,
        description=description,
        column_descriptions=descriptions,
        tags=tags,
        source=where,
    )
    product = inference.product
    if renamed:
        product = replace(product, renamed=renamed)
    if product.id_added:
        df = df.assign(**{product.id_column: products.stable_row_ids(df)})
    df = df[[*dict.fromkeys((product.id_column, *df.columns))]]
    published = publish_data_product(
        df,
        database=database,
        table=product.name,
        description=product.description,
        column_comments={c: d for c, d in descriptions.items() if c in df.columns},
        tags=dict(product.tags),
        connection=connection,
        parameters=product.table_parameters(),
    )
    return Registration(
        product, inference.notes, published.database, published.table, len(df), published.location
    )


def register_demo(
    name: str,
    n_rows: int,
    *,
    seed: int = 0,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
) -> Registration:
    """Generate ``n_rows`` rows of one of the kit's demo products and register them as a user
    registers a table: target, problem type and id column given, the rest inferred."""
    from mlaccel import demo  # the generators load only when a demo product is registered

    spec = demo.get_demo(name)
    return register(
        demo.generate(name, n_rows, seed=seed),
        name=spec.name,
        target=spec.target,
        problem_type=spec.problem_type,
        id_column=spec.id_column,
        description=spec.description,
        column_descriptions=spec.column_descriptions,
        tags={**spec.tags, "generator_seed": str(seed)},
        connection=connection,
        database=database,
    )


def register_product(
    name: str,
    source: Any = "",
    *,
    target: str = "",
    problem_type: str = "",
    id_column: str = "",
    time_column: str = "",
    positive_class: str = "",
    demo_rows: int = 20_000,
    seed: int = 0,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
) -> Registration:
    """What notebook 01's parameters ask for: register ``source`` as ``name`` with the given
    contract settings, or, with no ``source``, the kit's demo product ``name`` (``demo_rows``
    rows from ``seed``). Settings that the demo would ignore are refused, not dropped."""
    if source:
        return register(
            source,
            name=name,
            target=target,
            problem_type=problem_type,
            id_column=id_column,
            time_column=time_column,
            positive_class=positive_class,
            connection=connection,
            database=database,
        )
    from mlaccel import demo

    given = {
        k: v
        for k, v in {
            "target": target,
            "problem_type": problem_type,
            "id_column": id_column,
            "time_column": time_column,
            "positive_class": positive_class,
        }.items()
        if v
    }
    if name not in demo.list_demos() or given:
        settings = f" ({', '.join(f'{k}={v!r}' for k, v in given.items())})" if given else ""
        raise MLAccelInputError(
            f"source is empty, so data_product={name!r} must be a demo product "
            f"({', '.join(demo.list_demos())}) without contract settings{settings}: to register "
            "your own data, set source to a database.table, an s3:// URI or a file, and target"
        )
    return register_demo(name, demo_rows, seed=seed, connection=connection, database=database)


def load_product(
    name: str,
    *,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
    demo_rows: int = 0,
    seed: int = 0,
) -> products.DataProduct:
    """The contract of the registered data product ``name``, read from the catalog.

    With ``demo_rows`` > 0 and ``name`` one of the kit's demo products, an unregistered demo is
    registered first (``demo_rows`` rows from ``seed``), so a notebook can run on its own.
    """
    glue = connection.client("glue")
    try:
        table = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except Exception as exc:
        if error_code(exc) != "EntityNotFoundException":
            raise
        from mlaccel import demo

        if demo_rows and name in demo.list_demos():
            register_demo(name, demo_rows, seed=seed, connection=connection, database=database)
            return load_product(name, connection=connection, database=database)
        known = ", ".join(registered_products(database, connection=connection)) or "none"
        raise MLAccelInputError(
            f"data_product={name!r} is not registered in database {database!r} "
            f"(registered: {known}); register it with notebook 01 (source=..., target=...) or "
            "mlaccel.data.register(source, name=..., target=..., connection=conn)"
        ) from None
    product = products.product_from_table_parameters(
        table.get("Parameters") or {}, table=f"{database}.{name}"
    )
    if product is None:
        raise MLAccelInputError(
            f"{database}.{name} is a table without a data-product contract: register it with "
            f"mlaccel.data.register('{database}.{name}', name=..., target=..., connection=conn)"
        )
    return product


def registered_products(database: str = DEFAULT_DATABASE, *, connection: Connection) -> list[str]:
    """Names of the data products registered in ``database``."""
    glue = connection.client("glue")
    try:
        tables = glue_tables(glue, database)
    except Exception as exc:
        if error_code(exc) != "EntityNotFoundException":
            raise
        return []
    return [
        str(t["Name"]) for t in tables if products.CONTRACT_PARAMETER in (t.get("Parameters") or {})
    ]


def save_product(
    product: products.DataProduct,
    *,
    connection: Connection,
    database: str = DEFAULT_DATABASE,
) -> None:
    """Store an edited contract (e.g. from its YAML file) with its registered table, after
    checking that the table has every column the contract names."""
    glue = connection.client("glue")
    table = require_table(glue, database, product.name)
    columns = [c["Name"] for c in table.get("StorageDescriptor", {}).get("Columns", [])]
    missing = [c for c in product.columns if c not in columns]
    if missing:
        raise MLAccelInputError(
            f"the contract names columns {missing} that table {database}.{product.name} lacks; "
            f"its columns are {columns}"
        )
    keys = ("Name", "Description", "StorageDescriptor", "PartitionKeys", "TableType", "Owner")
    wanted = {k: table[k] for k in keys if k in table}
    wanted["Parameters"] = {**(table.get("Parameters") or {}), **product.table_parameters()}
    glue.update_table(DatabaseName=database, TableInput=wanted)  # type: ignore[arg-type]


# --- sources ---------------------------------------------------------------------------------


def read_source(source: Any, *, connection: Connection) -> tuple[pd.DataFrame, str]:
    """The rows of ``source`` and a short text saying where they came from."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source, "a DataFrame"
    if isinstance(source, Path):
        source = str(source)
    if not isinstance(source, str) or not source.strip():
        raise MLAccelInputError(
            f"source={source!r} must be a table (database.table), an S3 URI (s3://bucket/key) "
            "or a file path"
        )
    source = source.strip()
    if source.startswith("s3://"):
        return _read_s3(source, connection), source
    if "://" in source:
        raise MLAccelInputError(
            f"source={source!r}: only s3:// URIs, database.table names and local files are "
            "sources; copy the data to S3 or to a local file first"
        )
    path = Path(source).expanduser()
    if path.exists():
        return _read_file(path), path.name
    if _TABLE_NAME.match(source):
        database, table = source.split(".", 1)
        return read_table(database, table, connection=connection), source
    raise MLAccelInputError(
        f"source={source!r} is not a file, an s3:// URI or a database.table name: check the "
        "path (relative to the notebook's folder) or the table's name"
    )


def _format_of(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if lowered.endswith(_CSV_SUFFIXES):
        return "csv"
    raise MLAccelInputError(
        f"{name}: unsupported format; the kit reads Parquet ({', '.join(_PARQUET_SUFFIXES)}) and "
        f"CSV ({', '.join(_CSV_SUFFIXES)}, compressed or not)"
    )


def _read_file(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise MLAccelInputError(f"{path.name}: the folder holds no files")
        return pd.concat([_read_file(p) for p in files], ignore_index=True)
    if _format_of(path.name) == "parquet":
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, sep="\t" if path.name.endswith(".tsv") else ",")
    except pd.errors.EmptyDataError:
        raise MLAccelInputError(f"{path.name} is empty: it has no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise MLAccelInputError(f"{path.name} is not readable CSV: {exc}") from None


def _read_s3(uri: str, connection: Connection) -> pd.DataFrame:
    import awswrangler as wr

    bucket, key = parse_path(uri, name="source")
    listed = wr.s3.list_objects(uri, boto3_session=connection.boto3_session)
    listed = [o for o in listed if not o.rstrip("/").rsplit("/", 1)[-1].startswith(("_", "."))]
    if not listed:
        raise MLAccelInputError(f"source={uri!r}: no objects there (bucket {bucket}, key {key})")
    kinds = {_format_of(o) for o in listed}
    if len(kinds) > 1:
        raise MLAccelInputError(
            f"source={uri!r} mixes Parquet and CSV objects: point it at one format"
        )
    if kinds == {"parquet"}:
        return wr.s3.read_parquet(listed, boto3_session=connection.boto3_session)
    return wr.s3.read_csv(listed, boto3_session=connection.boto3_session)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut.

    Examples
    --------
    >>> shorten("Sale price in EUR", 10)
    'Sale pric…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"
