"""Model-ready labelled rows (label first, then the features) read back from S3 for scoring."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from typing import Any

from mlaccel._aws import check_connection
from mlaccel._connect import Connection
from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelInputError

# Enough of a CSV file to tell a header line from a row of numbers.
_HEADER_PROBE_BYTES = 4096


@dataclass(frozen=True)
class LabeledRows:
    """Labelled rows: record ids, labels and the model's features.

    Attributes
    ----------
    ids
        Record ids (from the Parquet layout; ``row-<n>`` for CSV, which carries none).
    labels
        The label column.
    features
        The feature columns, in the model's order (named from the header, else ``f0, f1...``).
    source
        Where the rows were read.
    """

    ids: Any
    labels: Any
    features: Any
    source: str


def read_labeled_rows(
    uri: str,
    *,
    n_rows: int | None = None,
    connection: Connection,
) -> LabeledRows:
    """Read model-ready labelled rows from an S3 file or prefix of Parquet or CSV files.

    The rows are those the kit's processing step writes (``seedcode/processing/preprocess.py``)
    for training, in two layouts:

    - Parquet with a header: record id, label, then the features;
    - CSV without header, label first (the built-in XGBoost training format).

    Parameters
    ----------
    uri
        An ``s3://`` file, or a prefix whose ``.parquet`` (preferred) or ``.csv`` files are read
        in key order.
    n_rows
        Read at most this many rows.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Examples
    --------
    >>> test = read_labeled_rows(
    ...     "s3://bucket/features/used_cars/parquet/test.parquet", connection=conn
    ... )  # doctest: +SKIP
    >>> test.features.shape, test.labels.name  # doctest: +SKIP
    ((1500, 41), 'price')
    """
    import pandas as pd

    if n_rows is not None and (not isinstance(n_rows, int) or n_rows < 1):
        raise MLAccelInputError(f"n_rows={n_rows!r} must be a whole number >= 1 or None")
    bucket, key = parse_path(uri)
    s3 = check_connection(connection).client("s3")
    keys, parquet = _data_files(s3, bucket, key, uri)
    frames = []
    remaining = n_rows
    for object_key in keys:
        raw = s3.get_object(Bucket=bucket, Key=object_key)["Body"].read()
        frame = _read_parquet(raw, remaining) if parquet else _read_csv(raw, object_key, remaining)
        frames.append(frame)
        if remaining is not None:
            remaining -= len(frame)
            if remaining <= 0:
                break
    rows = pd.concat(frames, ignore_index=True)
    return _parquet_rows(rows, uri) if parquet else _csv_rows(rows, uri)


def _data_files(s3: Any, bucket: str, key: str, uri: str) -> tuple[list[str], bool]:
    """The Parquet files under the prefix (and True), else its CSV files (and False)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    found = [item["Key"] for page in pages for item in page.get("Contents", [])]
    parquet = sorted(k for k in found if k.lower().endswith(".parquet"))
    if parquet:
        return parquet, True
    csv_keys = sorted(k for k in found if k.lower().endswith((".csv", ".csv.gz")))
    if not csv_keys:
        raise MLAccelInputError(
            f"no Parquet or CSV file at {uri}; write the splits first "
            "(notebooks/02_engineer_features.ipynb) or pass the URI of a split"
        )
    return csv_keys, False


def _read_parquet(raw: bytes, n_rows: int | None) -> Any:
    import pandas as pd

    frame = pd.read_parquet(io.BytesIO(raw))
    return frame.head(n_rows) if n_rows is not None else frame


def _read_csv(raw: bytes, key: str, n_rows: int | None) -> Any:
    import pandas as pd

    compressed = key.lower().endswith(".gz")
    if compressed:
        head = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(_HEADER_PROBE_BYTES)
    else:
        head = raw[:_HEADER_PROBE_BYTES]
    lines = head.decode("utf-8", errors="replace").splitlines()
    return pd.read_csv(
        io.BytesIO(raw),
        header=0 if _looks_like_header(lines) else None,
        nrows=n_rows,
        compression="gzip" if compressed else None,
    )


def _looks_like_header(lines: list[str]) -> bool:
    """True when the first line has a field that is not a number.

    Examples
    --------
    >>> _looks_like_header(["price,age"]), _looks_like_header(["1.5,3"])
    (True, False)
    """
    if not lines:
        return False
    for field_text in lines[0].split(","):
        text = field_text.strip().strip('"')
        if not text:
            continue
        try:
            float(text)
        except ValueError:
            return True
    return False


def _parquet_rows(rows: Any, uri: str) -> LabeledRows:
    if rows.shape[1] < 3:
        raise MLAccelInputError(
            f"{uri} has columns {list(rows.columns)}; expected record id, label, then features"
        )
    rest = rows.iloc[:, 1:]
    return LabeledRows(
        ids=rows.iloc[:, 0].astype(str),
        labels=rest.iloc[:, 0],
        features=rest.iloc[:, 1:],
        source=uri,
    )


def _csv_rows(rows: Any, uri: str) -> LabeledRows:
    import pandas as pd

    if rows.shape[1] < 2:
        raise MLAccelInputError(f"{uri} has one column; expected the label, then features")
    if all(isinstance(c, int) for c in rows.columns):
        rows.columns = ["label", *[f"f{i}" for i in range(rows.shape[1] - 1)]]
    ids = pd.Series([f"row-{i:06d}" for i in range(len(rows))], name="record_id")
    return LabeledRows(ids=ids, labels=rows.iloc[:, 0], features=rows.iloc[:, 1:], source=uri)
