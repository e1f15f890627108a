"""Payload encodings of the SageMaker inference contract, shared by the kit and the twin.

Content types, CSV lines and the CSV the built-in XGBoost container reads and writes. A leaf
module: it imports nothing else of the kit, so the accelerators (which send payloads) and the
twin (which answers them) encode them the one same way.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from mlaccel.errors import MLAccelError, MLAccelInputError

CSV = "text/csv"
LIBSVM = "text/libsvm"
JSON = "application/json"
JSONLINES = "application/jsonlines"
NPY = "application/x-npy"
LIBSVM_TYPES = frozenset({LIBSVM, "text/x-libsvm"})
JSONLINES_TYPES = frozenset({JSONLINES, "application/json-lines", "application/x-jsonlines"})


def media_type(value: str | None) -> str:
    """The bare, lower-case media type of a Content-Type / Accept value (parameters dropped).

    Examples
    --------
    >>> media_type("text/csv; charset=utf-8")
    'text/csv'
    """
    return (value or "").split(";", 1)[0].strip().lower()


def csv_line(values: Iterable[Any]) -> str:
    """One CSV line (no line terminator) with the minimal quoting ``csv`` applies.

    Examples
    --------
    >>> csv_line(["a", 1, "x,y"])
    'a,1,"x,y"'
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(list(values))
    return buffer.getvalue()


def parse_csv_line(line: str) -> list[str]:
    """The fields of one CSV line.

    Examples
    --------
    >>> parse_csv_line('a,1,"x,y"')
    ['a', '1', 'x,y']
    """
    return next(csv.reader([line]), [])


def records_to_csv(records: Any) -> str:
    """Records as CSV lines without header: what the XGBoost container reads.

    ``records`` is one record (a flat sequence of numbers) or many (a 2-D array, a list of
    lists or a DataFrame of feature columns). Missing values (None, NaN) are left empty.

    Examples
    --------
    >>> records_to_csv([1, 2.5, None])
    '1,2.5,\\n'
    >>> records_to_csv([[1, 2], [3, 4]])
    '1,2\\n3,4\\n'
    """
    rows = records_as_rows(records)
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(_csv_field(v) for v in row))
        buffer.write("\n")
    return buffer.getvalue()


def records_as_rows(records: Any) -> list[list[Any]]:
    if hasattr(records, "to_numpy") and hasattr(records, "columns"):
        records = records.to_numpy(dtype=object)
    if isinstance(records, np.ndarray):
        if records.ndim == 1:
            return [records.tolist()]
        if records.ndim == 2:
            return [list(row) for row in records.tolist()]
        raise MLAccelInputError(f"records has {records.ndim} dimensions; pass 1 or 2")
    if isinstance(records, str | bytes):
        raise MLAccelInputError(
            "records must be numbers (a list, an array or a DataFrame), not text; send text "
            "payloads with invoke_endpoint"
        )
    if not isinstance(records, Iterable):
        raise MLAccelInputError(f"records={records!r} is not a sequence of feature values")
    items = list(records)
    if not items:
        raise MLAccelInputError("records is empty; pass at least one record")
    if all(not _is_sequence(item) for item in items):
        return [items]  # one record
    if not all(_is_sequence(item) for item in items):
        raise MLAccelInputError(
            "records mixes numbers and lists; pass one record (a list of numbers) or a list "
            "of records"
        )
    return [list(item) for item in items]


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _csv_field(value: Any) -> str:
    if value is None or type(value).__name__ in {"NAType", "NaTType"}:  # pandas' missing values
        return ""
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value)
    if "," in text or "\n" in text:
        raise MLAccelInputError(
            f"the value {text!r} holds a comma or a line break; encode categories as numbers "
            "before scoring"
        )
    return text


def parse_csv_predictions(body: bytes | str, n_records: int | None = None) -> np.ndarray:
    """Predictions from a CSV answer: 1-D, or 2-D when the model gives several per record.

    ``n_records`` tells a batch answered on one line (``0.5,1.5`` for two records, as some
    XGBoost container versions write it) from one record with several values.

    Examples
    --------
    >>> parse_csv_predictions(b"0.5\\n1.5\\n").tolist()
    [0.5, 1.5]
    >>> parse_csv_predictions("0.5,1.5", n_records=2).tolist()
    [0.5, 1.5]
    >>> parse_csv_predictions("0.1,0.9\\n0.8,0.2\\n").shape
    (2, 2)
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(f.strip() for f in row)]
    if n_records is not None and n_records > 1 and len(rows) == 1 and len(rows[0]) == n_records:
        rows = [[value] for value in rows[0]]
    try:
        values = [[float(v) for v in row] for row in rows]
    except ValueError as exc:
        raise MLAccelError(f"the endpoint answered something that is not numbers: {exc}") from exc
    if n_records is not None and len(values) != n_records:
        raise MLAccelError(
            f"the endpoint answered {len(values)} prediction(s) for {n_records} record(s)"
        )
    array = np.asarray(values, dtype=np.float64)
    return array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array
