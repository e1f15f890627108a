"""Readers of one source each: a pandas frame, a Parquet, CSV or JSON Lines file.

Files are read as streams of Arrow record batches of bounded size, so memory does not grow
with the number of rows. A reader yields *chunks*, ``(new_rows, batch)``: a batch may hold
only some columns of its rows, and ``new_rows`` counts each row once, on its first chunk.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from mlaccel._s3 import is_s3
from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._locations import DataFile, open_stream

Chunk = tuple[int, pa.RecordBatch]

_BLOCK_BYTES = 8 << 20


def whole_rows(batches: Iterable[pa.RecordBatch]) -> Iterator[Chunk]:
    """Chunks of batches that hold every column of their rows."""
    for batch in batches:
        yield batch.num_rows, batch


def frame_to_table(frame: Any) -> pa.Table:
    """A pandas DataFrame as an Arrow table; mixed-type object columns become strings.

    Examples
    --------
    >>> import pandas as pd
    >>> frame_to_table(pd.DataFrame({"x": [1, "a", None]})).column("x").to_pylist()
    ['1', 'a', None]
    """
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


def read_parquet(
    file: DataFile,
    wanted: list[str] | None,
    batch_rows: int,
    boto3_session: Any | None,
    columns_per_read: int | None,
) -> Iterator[Chunk]:
    """Chunks of a Parquet file: ``columns_per_read`` columns of a row group at a time.

    ``columns_per_read=None`` keeps rows whole. Reading a few columns at a time means a file
    written as one big row group does not have to be decoded whole.
    """
    import pyarrow.parquet as pq

    local = not is_s3(file.address)
    source = file.address if local else open_stream(file, boto3_session, seekable=True)
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
    if columns_per_read is None:
        yield from whole_rows(parquet.iter_batches(batch_size=batch_rows, columns=names))
        return
    step = columns_per_read
    groups = [names[i : i + step] for i in range(0, len(names), step)] or [[]]
    for row_group in range(parquet.num_row_groups):
        for index, group in enumerate(groups):
            table = parquet.read_row_group(row_group, columns=group, use_threads=True)
            for batch in table.to_batches(max_chunksize=batch_rows):
                yield (batch.num_rows if index == 0 else 0), batch
            del table


def read_csv(
    file: DataFile,
    header: bool,
    batch_rows: int,
    boto3_session: Any | None,
    column_names: list[str] | None,
) -> Iterator[pa.RecordBatch]:
    """Batches of a CSV file, every column as text (typed value by value later)."""
    import pyarrow.csv as pcsv

    first_line = _first_line(file, boto3_session)
    if first_line is None:
        return
    names = _csv_names(file, first_line, header, column_names)
    # Every column is read as text and typed value by value later, so a column whose type
    # changes half-way through a file is reported, not a crash.
    read_options = pcsv.ReadOptions(
        column_names=names,
        skip_rows=1 if header else 0,
        block_size=_BLOCK_BYTES,
    )
    convert = pcsv.ConvertOptions(
        column_types={name: pa.string() for name in names}, strings_can_be_null=True
    )
    parse = pcsv.ParseOptions(newlines_in_values=False)
    reader = pcsv.open_csv(
        open_stream(file, boto3_session, seekable=False),
        read_options=read_options,
        convert_options=convert,
        parse_options=parse,
    )
    for batch in reader:
        yield from pa.Table.from_batches([batch]).to_batches(max_chunksize=batch_rows)


def _csv_names(
    file: DataFile, first_line: str, header: bool, column_names: list[str] | None
) -> list[str]:
    fields = next(csv.reader([first_line]), [])
    if not header:
        given = list(column_names or [])
        return [given[i] if i < len(given) else f"_c{i}" for i in range(len(fields))]
    names = [name.strip() for name in fields]
    if len(set(names)) != len(names):
        raise MLAccelInputError(
            f"{file.address}: the CSV header repeats column names {names}; rename them"
        )
    return names


def _first_line(file: DataFile, boto3_session: Any | None) -> str | None:
    stream = open_stream(file, boto3_session, seekable=False)
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


def read_json(
    file: DataFile, batch_rows: int, boto3_session: Any | None
) -> Iterator[pa.RecordBatch]:
    """Batches of a JSON Lines file; nested objects become ``parent.child`` columns."""
    import pyarrow.json as pjson

    stream = open_stream(file, boto3_session, seekable=False)
    options = pjson.ReadOptions(block_size=_BLOCK_BYTES)
    if hasattr(pjson, "open_json"):  # streaming, in constant memory (pyarrow 19 and later)
        reader: Any = pjson.open_json(stream, read_options=options)
    else:  # older pyarrow reads the whole file, then hands it out in batches
        reader = pjson.read_json(stream, read_options=options).to_batches()
    for batch in reader:
        flat = _flatten(pa.Table.from_batches([batch]))
        yield from flat.to_batches(max_chunksize=batch_rows)


def _flatten(table: pa.Table) -> pa.Table:
    # Nested JSON objects become "parent.child" columns, the names JSONPath-like attributes use.
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table
