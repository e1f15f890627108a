"""Where data sets come from and where reports go: frames, Arrow, local paths and S3.

Every source is read as a stream of Arrow record batches of bounded size, so memory does not
grow with the number of rows. S3 is read through boto3 (a session argument, or the default
session, which on the local twin already points at it).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlaccel.errors import MLAccelInputError

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 131_072
# Parquet row groups are read this many columns at a time, so a file written as one big row
# group does not have to be decoded whole.
PARQUET_COLUMNS_PER_READ = 2
_CSV_BLOCK_BYTES = 8 << 20
_S3_READ_BUFFER = 8 << 20

PARQUET = "parquet"
CSV = "csv"
JSON = "json"
CAPTURE = "sagemakerCaptureJson"

_SUFFIXES = {
    ".parquet": PARQUET,
    ".pq": PARQUET,
    ".csv": CSV,
    ".tsv": CSV,
    ".json": JSON,
    ".jsonl": JSON,
    ".jsonlines": JSON,
    ".ndjson": JSON,
}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2"}


@dataclass(frozen=True)
class DatasetFormat:
    """How to read a data set's files.

    Attributes
    ----------
    kind
        ``"parquet"``, ``"csv"``, ``"json"`` (JSON Lines) or ``"sagemakerCaptureJson"``.
    header
        CSV only: whether the first line names the columns (otherwise ``_c0``, ``_c1``...).
    capture_index_names
        Capture only: which sides of each record become columns.
    """

    kind: str
    header: bool = True
    capture_index_names: tuple[str, ...] = ("endpointInput", "endpointOutput")


def parse_dataset_format(spec: Any, *, source: str = "dataset_format") -> DatasetFormat | None:
    """Read a format given as text, a Model Monitor ``dataset_format`` object or JSON string.

    Parameters
    ----------
    spec
        ``None`` (infer from file names), ``"csv"``, ``"parquet"``, ``"json"``, a
        ``DatasetFormat``, or Model Monitor's shapes: ``{"csv": {"header": true}}``,
        ``{"json": {"lines": true}}``, ``{"parquet": {}}``,
        ``{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}`` (also as a
        JSON string, as the analyzer's environment carries it).
    source
        Names the input in error messages.

    Returns
    -------
    DatasetFormat or None

    Examples
    --------
    >>> parse_dataset_format('{"csv": {"header": false}}')
    DatasetFormat(kind='csv', header=False, capture_index_names=('endpointInput', 'endpointOutput'))
    """
    if spec is None or isinstance(spec, DatasetFormat):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            from mlaccel.monitor._formats import parse_json_text

            spec = parse_json_text(text, source)
        else:
            return _format_from_name(text, {}, source)
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise MLAccelInputError(
            f"{source}={spec!r} must name one format, e.g. {{'csv': {{'header': True}}}}"
        )
    ((name, options),) = spec.items()
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise MLAccelInputError(f"{source}: the options of {name!r} must be an object")
    return _format_from_name(str(name), options, source)


def _format_from_name(name: str, options: Mapping[str, Any], source: str) -> DatasetFormat:
    lowered = {str(key).lower(): value for key, value in options.items()}
    kind = name.strip().lower()
    if kind == "csv":
        return DatasetFormat(CSV, header=_flag(lowered.get("header", True), f"{source}.header"))
    if kind in ("json", "jsonl", "jsonlines"):
        lines = lowered.get("lines", lowered.get("line", True))
        if not _flag(lines, f"{source}.lines"):
            raise MLAccelInputError(
                f"{source}: only JSON Lines is supported (one object per line); got lines=false"
            )
        return DatasetFormat(JSON)
    if kind == "parquet":
        return DatasetFormat(PARQUET)
    if kind == CAPTURE.lower():
        names = options.get("captureIndexNames", ["endpointInput", "endpointOutput"])
        if isinstance(names, str):
            names = [names]
        allowed = {"endpointInput", "endpointOutput"}
        if not names or not set(names) <= allowed:
            raise MLAccelInputError(
                f"{source}.captureIndexNames must list endpointInput and/or endpointOutput, "
                f"got {names!r}"
            )
        return DatasetFormat(CAPTURE, capture_index_names=tuple(names))
    raise MLAccelInputError(
        f"{source}: unknown format {name!r}; use csv, json, parquet or sagemakerCaptureJson"
    )


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise MLAccelInputError(f"{where} must be true or false, got {value!r}")


# ---------------------------------------------------------------- locations


def is_s3(location: Any) -> bool:
    """True for an ``s3://`` URI."""
    return isinstance(location, str) and location.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``("bucket", "key")``."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise MLAccelInputError(f"{uri!r} names no bucket; use s3://bucket/prefix")
    return bucket, key


def s3_client(boto3_session: Any | None) -> Any:
    """An S3 client of ``boto3_session`` (or of the default session)."""
    import boto3

    session = boto3_session or boto3.session.Session()
    return session.client("s3")


def read_text(location: str | Path, *, boto3_session: Any | None = None) -> bytes:
    """The bytes of a local file or an S3 object, with errors that name it."""
    if is_s3(location):
        bucket, key = split_s3(str(location))
        client = s3_client(boto3_session)
        try:
            return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except client.exceptions.NoSuchKey:
            raise MLAccelInputError(f"{location} does not exist") from None
    path = Path(location)
    if not path.is_file():
        raise MLAccelInputError(f"{path} does not exist or is not a file")
    return path.read_bytes()


def write_text(
    location: str | Path, name: str, text: str, *, boto3_session: Any | None = None
) -> str:
    """Write ``text`` as file ``name`` under a local directory or S3 prefix; return its address."""
    if is_s3(location):
        bucket, prefix = split_s3(str(location))
        key = f"{prefix.rstrip('/')}/{name}" if prefix else name
        s3_client(boto3_session).put_object(Bucket=bucket, Key=key, Body=text.encode())
        return f"s3://{bucket}/{key}"
    directory = Path(location)
    if directory.exists() and not directory.is_dir():
        raise MLAccelInputError(f"{directory} is a file; give a directory to write {name} into")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    target.write_text(text)
    return str(target)


# ---------------------------------------------------------------- data sets


@dataclass(frozen=True)
class _File:
    """One file of a data set: a local path or an S3 object."""

    address: str
    kind: str | None
    compression: str | None
    size: int | None = None


def iter_batches(
    data: Any,
    *,
    dataset_format: Any = None,
    columns: Iterable[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    boto3_session: Any | None = None,
    column_names: list[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a data set as Arrow record batches of whole rows (at most ``batch_rows``).

    See :func:`iter_chunks` for the parameters; this form keeps every column of a row together.
    """
    for _, batch in iter_chunks(
        data,
        dataset_format=dataset_format,
        columns=columns,
        batch_rows=batch_rows,
        boto3_session=boto3_session,
        column_names=column_names,
        by_columns=False,
    ):
        yield batch


Chunk = tuple[int, pa.RecordBatch]


def iter_chunks(
    data: Any,
    *,
    dataset_format: Any = None,
    columns: Iterable[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    boto3_session: Any | None = None,
    column_names: list[str] | None = None,
    by_columns: bool = True,
) -> Iterator[Chunk]:
    """Stream a data set as ``(new_rows, batch)`` chunks of at most ``batch_rows`` rows.

    A batch may hold only some of the columns of its rows (Parquet row groups are read a few
    columns at a time, so memory stays bounded); ``new_rows`` counts each row once, on the
    first chunk that covers it.

    Parameters
    ----------
    data
        A pandas DataFrame, an Arrow Table or RecordBatch, an iterable of RecordBatches, or a
        local file / directory / ``s3://`` object or prefix of Parquet, CSV or JSON Lines.
    dataset_format
        See :func:`parse_dataset_format`; inferred from file names when ``None``.
    columns
        Keep only these columns (others are not read from Parquet).
    batch_rows
        Largest batch.
    boto3_session
        Session for ``s3://`` data; the default session when ``None``.
    column_names
        Names for header-less CSV columns, in order (the rest are ``_c<i>``).
    by_columns
        Allow chunks of some columns (the default); ``False`` keeps rows whole.

    Returns
    -------
    Iterator[tuple[int, pyarrow.RecordBatch]]
    """
    if not isinstance(batch_rows, int) or batch_rows < 1:
        raise MLAccelInputError(f"batch_rows must be a positive integer, got {batch_rows!r}")
    fmt = parse_dataset_format(dataset_format)
    wanted = list(columns) if columns is not None else None
    chunks = _chunks(data, fmt, wanted, batch_rows, boto3_session, column_names, by_columns)
    for rows, batch in chunks:
        if wanted is not None:
            present = [name for name in wanted if name in batch.schema.names]
            batch = batch.select(present)
        yield rows, batch


def _whole(batches: Iterable[pa.RecordBatch]) -> Iterator[Chunk]:
    for batch in batches:
        yield batch.num_rows, batch


def _chunks(
    data: Any,
    fmt: DatasetFormat | None,
    wanted: list[str] | None,
    batch_rows: int,
    boto3_session: Any | None,
    column_names: list[str] | None,
    by_columns: bool,
) -> Iterator[Chunk]:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        table = frame_to_table(data if wanted is None else data[_existing(data, wanted)])
        yield from _whole(table.to_batches(max_chunksize=batch_rows))
        return
    if isinstance(data, pa.Table):
        yield from _whole(data.to_batches(max_chunksize=batch_rows))
        return
    if isinstance(data, pa.RecordBatch):
        yield from _whole(pa.Table.from_batches([data]).to_batches(max_chunksize=batch_rows))
        return
    if isinstance(data, str | Path):
        files = list_files(data, fmt, boto3_session=boto3_session)
        for file in files:
            kind = fmt.kind if fmt is not None else file.kind
            yield from _read_file(
                file, kind, fmt, wanted, batch_rows, boto3_session, column_names, by_columns
            )
        return
    if isinstance(data, Iterable):
        for item in data:
            if not isinstance(item, pa.RecordBatch):
                raise MLAccelInputError(
                    f"an iterable data set must yield pyarrow RecordBatches, got "
                    f"{type(item).__name__}"
                )
            yield from _whole(pa.Table.from_batches([item]).to_batches(max_chunksize=batch_rows))
        return
    raise MLAccelInputError(
        f"cannot read a data set from {type(data).__name__}; pass a DataFrame, an Arrow table, "
        "or a local path or s3:// URI of Parquet, CSV or JSON Lines files"
    )


def _existing(frame: Any, wanted: list[str]) -> list[str]:
    return [name for name in wanted if name in frame.columns]


def frame_to_table(frame: Any) -> pa.Table:
    """A pandas DataFrame as an Arrow table; mixed-type object columns become strings."""
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        duplicated = sorted({name for name in names if names.count(name) > 1})
        raise MLAccelInputError(
            f"the data set has duplicate column names {duplicated}; rename them first"
        )
    arrays = []
    for name in frame.columns:
        series = frame[name]
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            # An object column mixing numbers and text: read every value as text, as a CSV
            # reader would.
            text = [None if _is_missing(value) else str(value) for value in series]
            array = pa.array(text, type=pa.string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=names)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False


def list_files(
    location: str | Path, fmt: DatasetFormat | None, *, boto3_session: Any | None = None
) -> list[_File]:
    """The data files at a local path or S3 location, in name order."""
    if is_s3(location):
        files = _list_s3(str(location), boto3_session)
    else:
        files = _list_local(Path(location))
    if not files:
        raise MLAccelInputError(
            f"{location} holds no data files; point to a file or a folder of Parquet, CSV or "
            "JSON Lines files"
        )
    if fmt is None:
        unknown = [file.address for file in files if file.kind is None]
        if unknown:
            raise MLAccelInputError(
                f"cannot tell the format of {unknown[0]} from its name; pass "
                "dataset_format='csv', 'parquet' or 'json'"
            )
    return files


def _describe(name: str) -> tuple[str | None, str | None]:
    lowered = name.lower()
    compression = None
    for suffix, codec in _COMPRESSIONS.items():
        if lowered.endswith(suffix):
            compression = codec
            lowered = lowered[: -len(suffix)]
    kind = next((k for suffix, k in _SUFFIXES.items() if lowered.endswith(suffix)), None)
    if kind is None and lowered.endswith(".out"):
        kind = CSV
    return kind, compression


def _skipped(name: str) -> bool:
    # Marker and checksum files that Spark, Hadoop and SageMaker leave beside data.
    return name.startswith((".", "_")) or name.endswith((".crc", ".manifest"))


def _list_local(path: Path) -> list[_File]:
    if not path.exists():
        raise MLAccelInputError(f"{path} does not exist; check the data set's path")
    if path.is_file():
        candidates = [path]
    else:
        candidates = sorted(p for p in path.rglob("*") if p.is_file() and not _skipped(p.name))
    files = []
    for candidate in candidates:
        kind, compression = _describe(candidate.name)
        files.append(_File(str(candidate), kind, compression, candidate.stat().st_size))
    return files


def _list_s3(uri: str, boto3_session: Any | None) -> list[_File]:
    bucket, prefix = split_s3(uri)
    client = s3_client(boto3_session)
    files = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            name = key.rsplit("/", 1)[-1]
            if key.endswith("/") or _skipped(name):
                continue
            if key != prefix and prefix and not prefix.endswith("/"):
                # "s3://b/data" must not pick up "s3://b/data-old/...".
                rest = key[len(prefix) :]
                if not rest.startswith("/"):
                    continue
            kind, compression = _describe(name)
            files.append(_File(f"s3://{bucket}/{key}", kind, compression, int(item["Size"])))
    return sorted(files, key=lambda file: file.address)


def _read_file(
    file: _File,
    kind: str | None,
    fmt: DatasetFormat | None,
    wanted: list[str] | None,
    batch_rows: int,
    boto3_session: Any | None,
    column_names: list[str] | None,
    by_columns: bool,
) -> Iterator[Chunk]:
    try:
        if kind == PARQUET:
            yield from _read_parquet(file, wanted, batch_rows, boto3_session, by_columns)
        elif kind == CSV:
            header = fmt.header if fmt is not None else True
            yield from _whole(_read_csv(file, header, batch_rows, boto3_session, column_names))
        elif kind == JSON:
            yield from _whole(_read_json(file, batch_rows, boto3_session))
        elif kind == CAPTURE:
            from mlaccel.monitor._capture import capture_batches

            index_names = fmt.capture_index_names if fmt is not None else None
            yield from _whole(
                capture_batches(
                    [file.address],
                    boto3_session=boto3_session,
                    capture_index_names=index_names,
                    feature_names=column_names,
                )
            )
        else:
            raise MLAccelInputError(f"cannot read {file.address}: unknown format {kind!r}")
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as error:
        raise MLAccelInputError(
            f"cannot read {file.address} as {kind}: {error}; check the file and dataset_format"
        ) from None


def _open(file: _File, boto3_session: Any | None, *, seekable: bool) -> Any:
    if not is_s3(file.address):
        stream = pa.input_stream(file.address, compression=file.compression)
        return stream
    bucket, key = split_s3(file.address)
    client = s3_client(boto3_session)
    if seekable and file.compression is None:
        size = file.size
        if size is None:
            size = int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
        raw = _S3RangeFile(client, bucket, key, size)
        return io.BufferedReader(raw, buffer_size=_S3_READ_BUFFER)
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    stream = pa.PythonFile(body, mode="r")
    if file.compression:
        return pa.CompressedInputStream(stream, file.compression)
    return stream


class _S3RangeFile(io.RawIOBase):
    """A read-only, seekable view of an S3 object through ranged GETs (for Parquet footers)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        self._client, self._bucket, self._key, self._size = client, bucket, key, size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self._size or len(view) == 0:
            return 0
        end = min(self._size, self._position + len(view)) - 1
        response = self._client.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-{end}"
        )
        chunk = response["Body"].read()
        view[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)


def _read_parquet(
    file: _File,
    wanted: list[str] | None,
    batch_rows: int,
    boto3_session: Any | None,
    by_columns: bool,
) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    source = file.address if not is_s3(file.address) else _open(file, boto3_session, seekable=True)
    # Without pre-buffering only the column chunks being decoded are held in memory.
    parquet = pq.ParquetFile(source, pre_buffer=False)
    schema = parquet.schema_arrow
    names = [name for name in schema.names if wanted is None or name in wanted]
    # Strings stay dictionary-encoded, as Parquet stores them: counting categories is then a
    # bincount of small integers rather than a hash of every string.
    text = [
        f.name
        for f in schema
        if f.name in names and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    if text:
        parquet = pq.ParquetFile(source, read_dictionary=text, pre_buffer=False)
    if not by_columns:
        yield from _whole(parquet.iter_batches(batch_size=batch_rows, columns=names))
        return
    step = PARQUET_COLUMNS_PER_READ
    groups = [names[i : i + step] for i in range(0, len(names), step)] or [[]]
    for row_group in range(parquet.num_row_groups):
        for index, group in enumerate(groups):
            table = parquet.read_row_group(row_group, columns=group, use_threads=True)
            for batch in table.to_batches(max_chunksize=batch_rows):
                yield (batch.num_rows if index == 0 else 0), batch
            del table


def _read_csv(
    file: _File,
    header: bool,
    batch_rows: int,
    boto3_session: Any | None,
    column_names: list[str] | None,
) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pcsv

    first_line = _first_line(file, boto3_session)
    if first_line is None:
        return
    fields = next(csv.reader([first_line]), [])
    if header:
        names = [name.strip() for name in fields]
        if len(set(names)) != len(names):
            raise MLAccelInputError(
                f"{file.address}: the CSV header repeats column names {names}; rename them"
            )
    else:
        given = list(column_names or [])
        names = [given[i] if i < len(given) else f"_c{i}" for i in range(len(fields))]
    # Every column is read as text and typed value by value later, so a column whose type
    # changes half-way through a file is reported, not a crash.
    read_options = pcsv.ReadOptions(
        column_names=names,
        skip_rows=1 if header else 0,
        block_size=_CSV_BLOCK_BYTES,
    )
    convert = pcsv.ConvertOptions(
        column_types={name: pa.string() for name in names}, strings_can_be_null=True
    )
    parse = pcsv.ParseOptions(newlines_in_values=False)
    reader = pcsv.open_csv(
        _open(file, boto3_session, seekable=False),
        read_options=read_options,
        convert_options=convert,
        parse_options=parse,
    )
    for batch in reader:
        yield from pa.Table.from_batches([batch]).to_batches(max_chunksize=batch_rows)


def _first_line(file: _File, boto3_session: Any | None) -> str | None:
    stream = _open(file, boto3_session, seekable=False)
    try:
        head = b""
        while b"\n" not in head:
            chunk = stream.read(65536)
            if not chunk:
                break
            head += bytes(chunk)
    finally:
        stream.close()
    text = head.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    return text if text.strip() else None


def _read_json(file: _File, batch_rows: int, boto3_session: Any | None) -> Iterator[pa.RecordBatch]:
    import pyarrow.json as pjson

    reader = pjson.open_json(
        _open(file, boto3_session, seekable=False),
        read_options=pjson.ReadOptions(block_size=_CSV_BLOCK_BYTES),
    )
    for batch in reader:
        flat = _flatten(pa.Table.from_batches([batch]))
        yield from flat.to_batches(max_chunksize=batch_rows)


def _flatten(table: pa.Table) -> pa.Table:
    # Nested JSON objects become "parent.child" columns, the names JSONPath-like attributes use.
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def to_float_array(values: Any, name: str) -> np.ndarray:
    """A 1-D float64 numpy array of ``values``, or a clear error naming them."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise MLAccelInputError(f"{name} must hold numbers") from None
    if array.ndim != 1:
        raise MLAccelInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array
