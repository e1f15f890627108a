"""Any data set as a stream of Arrow record batches: frames, Arrow, local paths and S3.

The one place that picks a reader for a source: in-memory frames and tables, files of
Parquet, CSV or JSON Lines (:mod:`._readers`) and endpoint data capture (:mod:`._capture`).
Memory stays bounded by ``batch_rows`` whatever the number of rows.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._capture import capture_batches
from mlaccel.monitor._dataset_format import (
    CAPTURE,
    CSV,
    JSON,
    PARQUET,
    DatasetFormat,
    parse_dataset_format,
)
from mlaccel.monitor._locations import DataFile, list_files
from mlaccel.monitor._readers import (
    Chunk,
    frame_to_table,
    read_csv,
    read_json,
    read_parquet,
    whole_rows,
)

DEFAULT_BATCH_ROWS = 262_144
# Parquet row groups are read this many columns at a time, so a file written as one big row
# group does not have to be decoded whole; enough columns per read that both cores have
# several columns to work on between reads.
PARQUET_COLUMNS_PER_READ = 4


@dataclass(frozen=True)
class _Reading:
    """How every file of one data set is read."""

    fmt: DatasetFormat | None
    wanted: list[str] | None
    batch_rows: int
    boto3_session: Any | None
    column_names: list[str] | None
    by_columns: bool


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

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": range(5), "y": list("abcde")})
    >>> [(rows, batch.schema.names) for rows, batch in iter_chunks(frame, columns=["x"])]
    [(5, ['x'])]
    """
    if not isinstance(batch_rows, int) or batch_rows < 1:
        raise MLAccelInputError(f"batch_rows must be a positive integer, got {batch_rows!r}")
    wanted = list(columns) if columns is not None else None
    reading = _Reading(
        parse_dataset_format(dataset_format),
        wanted,
        batch_rows,
        boto3_session,
        column_names,
        by_columns,
    )
    for rows, batch in _chunks(data, reading):
        if wanted is not None:
            present = [name for name in wanted if name in batch.schema.names]
            batch = batch.select(present)
        yield rows, batch


_DONE = object()


@contextmanager
def system_allocator() -> Iterator[None]:
    """Arrow allocates from the C library's malloc while the block runs.

    Decoding a large Parquet file allocates and frees column buffers of megabytes over and
    over; Arrow's default pool hands them back to the system each time, so every buffer's
    pages fault in again (a million page faults and seconds of system time at 10M rows),
    while malloc keeps reusing them. The previous default pool is restored afterwards.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def read_ahead(chunks: Iterator[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """``chunks``, with the next ``depth`` read by a background thread meanwhile.

    Arrow decodes files without the GIL, so reading the next columns overlaps the work on the
    current ones; memory holds at most ``depth`` chunks more. Errors surface in the caller.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        slots.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            slots.put(error)

    reader = threading.Thread(target=produce, name="mlaccel-monitor-read", daemon=True)
    reader.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _is_frame(data: Any) -> bool:
    # A DataFrame exists only once pandas was imported; importing it here to ask would cost a
    # file check in a fresh process (an analyzer container, a Lambda) longer than the check.
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def _chunks(data: Any, reading: _Reading) -> Iterator[Chunk]:
    size = reading.batch_rows
    if _is_frame(data):
        wanted = reading.wanted
        kept = data if wanted is None else data[[n for n in wanted if n in data.columns]]
        yield from whole_rows(frame_to_table(kept).to_batches(max_chunksize=size))
    elif isinstance(data, pa.Table):
        yield from whole_rows(data.to_batches(max_chunksize=size))
    elif isinstance(data, pa.RecordBatch):
        yield from whole_rows(pa.Table.from_batches([data]).to_batches(max_chunksize=size))
    elif isinstance(data, str | Path):
        infer = reading.fmt is None
        for file in list_files(data, infer_format=infer, boto3_session=reading.boto3_session):
            yield from _file_chunks(file, reading)
    elif isinstance(data, Iterable):
        for item in data:
            if not isinstance(item, pa.RecordBatch):
                raise MLAccelInputError(
                    f"an iterable data set must yield pyarrow RecordBatches, got "
                    f"{type(item).__name__}"
                )
            yield from whole_rows(pa.Table.from_batches([item]).to_batches(max_chunksize=size))
    else:
        raise MLAccelInputError(
            f"cannot read a data set from {type(data).__name__}; pass a DataFrame, an Arrow "
            "table, or a local path or s3:// URI of Parquet, CSV or JSON Lines files"
        )


def _file_chunks(file: DataFile, reading: _Reading) -> Iterator[Chunk]:
    fmt = reading.fmt
    kind = fmt.kind if fmt is not None else file.kind
    try:
        yield from _read_file(file, kind, reading)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as error:
        raise MLAccelInputError(
            f"cannot read {file.address} as {kind}: {error}; check the file and dataset_format"
        ) from None


def _read_file(file: DataFile, kind: str | None, reading: _Reading) -> Iterator[Chunk]:
    fmt, size, session = reading.fmt, reading.batch_rows, reading.boto3_session
    if kind == PARQUET:
        per_read = PARQUET_COLUMNS_PER_READ if reading.by_columns else None
        yield from read_parquet(file, reading.wanted, size, session, per_read)
    elif kind == CSV:
        header = fmt.header if fmt is not None else True
        yield from whole_rows(read_csv(file, header, size, session, reading.column_names))
    elif kind == JSON:
        yield from whole_rows(read_json(file, size, session))
    elif kind == CAPTURE:
        sides = fmt.capture_index_names if fmt is not None else None
        records = capture_batches(
            [file.address],
            boto3_session=session,
            capture_index_names=sides,
            feature_names=reading.column_names,
        )
        yield from whole_rows(records)
    else:
        raise MLAccelInputError(f"cannot read {file.address}: unknown format {kind!r}")
