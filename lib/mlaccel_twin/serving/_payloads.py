"""Payloads of the SageMaker inference contract: features in, predictions out.

Requests decode to a float matrix (:func:`decode_features`); predictions encode to the accept
type (:func:`encode_predictions`), as the built-in XGBoost container does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlaccel._codecs import (
    CSV,
    JSON,
    JSONLINES,
    JSONLINES_TYPES,
    LIBSVM,
    LIBSVM_TYPES,
    media_type,
)
from mlaccel.errors import InferenceError

SUPPORTED_CONTENT_TYPES = (CSV, LIBSVM, JSON, JSONLINES)


SUPPORTED_ACCEPTS = (CSV, JSON, JSONLINES)


def decode_features(body: bytes, content_type: str, n_features: int | None = None) -> np.ndarray:
    """Decode a request body into a float matrix, one row per record (missing values are NaN).

    Parameters
    ----------
    body
        The request payload.
    content_type
        ``text/csv`` (no header, no label column), ``text/libsvm``, ``application/json`` or
        ``application/jsonlines``.
    n_features
        Number of features the model expects; rows of another width are a 400 error.

    Examples
    --------
    >>> decode_features(b"1,2\\n3,\\n", "text/csv").tolist()
    [[1.0, 2.0], [3.0, nan]]
    """
    kind = media_type(content_type) or CSV
    known = {CSV, JSON} | LIBSVM_TYPES | JSONLINES_TYPES
    if kind not in known:
        raise InferenceError(
            415,
            f"Content-Type {content_type!r} is not supported; send one of "
            f"{', '.join(SUPPORTED_CONTENT_TYPES)}",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InferenceError(400, f"the {kind} payload is not UTF-8 text: {exc}") from exc
    if kind == CSV:
        rows = _csv_rows(text)
    elif kind in LIBSVM_TYPES:
        return _libsvm_matrix(text, n_features)
    elif kind == JSON:
        rows = _json_rows(_parse_json(text, kind))
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                rows.extend(_json_rows(_parse_json(line, f"{kind} line {number}"), single=True))
    if not rows:
        raise InferenceError(400, f"the {kind} payload holds no records")
    return _to_matrix(rows, n_features, kind)


def _csv_rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.splitlines() if line.strip()]


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InferenceError(400, f"the {what} payload is not valid JSON: {exc}") from exc


def _json_rows(payload: Any, single: bool = False) -> list[Any]:
    if isinstance(payload, dict):
        if "instances" in payload and not single:
            return [_json_instance(item) for item in payload["instances"]]
        if "features" in payload or "data" in payload:
            return [_json_instance(payload)]
        raise InferenceError(
            400,
            'a JSON request must be {"instances": [[...], ...]}, {"features": [...]} or a list '
            f"of rows; got an object with keys {sorted(payload)[:5]}",
        )
    if isinstance(payload, list):
        if payload and all(isinstance(item, list | dict) for item in payload) and not single:
            return [_json_instance(item) for item in payload]
        return [payload]
    raise InferenceError(400, f"a JSON request must be an object or a list, not {payload!r}")


def _json_instance(item: Any) -> Any:
    if isinstance(item, dict):
        if "features" in item:
            return item["features"]
        data = item.get("data")
        if isinstance(data, dict) and isinstance(data.get("features"), dict):
            return data["features"].get("values", [])
        raise InferenceError(
            400, f'a JSON instance must be a list or {{"features": [...]}}; got keys {sorted(item)}'
        )
    return item


def _to_matrix(rows: list[Any], n_features: int | None, kind: str) -> np.ndarray:
    if n_features is not None:
        width = n_features
    else:
        width = len(rows[0]) if isinstance(rows[0], list) else 0
    matrix = np.full((len(rows), width), np.nan, dtype=np.float64)
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise InferenceError(400, f"{kind} record {number} is not a list of numbers: {row!r}")
        if len(row) != width:
            expected = (
                f"the model expects {width} features"
                if n_features is not None
                else f"record 1 has {width}"
            )
            raise InferenceError(
                400,
                f"{kind} record {number} has {len(row)} values but {expected}; send feature "
                "columns only, without the label or an id column",
            )
        for column, value in enumerate(row):
            matrix[number - 1, column] = _to_float(value, number, column, kind)
    return matrix


def _to_float(value: Any, row: int, column: int, kind: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InferenceError(
            400, f"{kind} record {row}, column {column + 1}: {value!r} is not a number"
        ) from None


def _libsvm_matrix(text: str, n_features: int | None) -> np.ndarray:
    # Indices are column numbers as XGBoost's own libsvm reader reads them at training time.
    entries: list[dict[int, float]] = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        row: dict[int, float] = {}
        for token in line.split():
            if ":" not in token:
                continue  # the label, which a libsvm row may carry first
            index_text, _, value_text = token.partition(":")
            try:
                row[int(index_text)] = float(value_text)
            except ValueError:
                raise InferenceError(
                    400, f"libsvm record {number}: {token!r} is not index:value"
                ) from None
        entries.append(row)
    if not entries:
        raise InferenceError(400, "the libsvm payload holds no records")
    largest = max((max(row) for row in entries if row), default=-1)
    width = n_features if n_features is not None else largest + 1
    if largest >= width:
        raise InferenceError(
            400,
            f"libsvm feature index {largest} is beyond the model's {width} features "
            f"(indices 0..{width - 1})",
        )
    matrix = np.full((len(entries), width), np.nan, dtype=np.float64)
    for row_number, entry in enumerate(entries):
        for column, number_value in entry.items():
            matrix[row_number, column] = number_value
    return matrix


def resolve_accept(accept: str | None, environment: Mapping[str, str], default: str = CSV) -> str:
    """The accept type to answer in: ``accept``, else ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``."""
    kind = media_type(accept)
    if not kind or kind == "*/*":
        return media_type(environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")) or default
    return kind


def encode_predictions(
    predictions: np.ndarray, accept: str, *, batch: bool = False
) -> tuple[bytes, str]:
    """Encode predictions like the SageMaker XGBoost container.

    ``batch`` (``SAGEMAKER_BATCH`` set, as in transform jobs) writes one prediction per line
    whatever ``accept`` is, so the output lines up with the input records.

    Examples
    --------
    >>> encode_predictions(np.array([0.5, 1.5]), "application/json")
    (b'{"predictions": [{"score": 0.5}, {"score": 1.5}]}', 'application/json')
    >>> encode_predictions(np.array([0.5, 1.5]), "text/csv")
    (b'0.5\\n1.5\\n', 'text/csv')
    """
    values = np.asarray(predictions).tolist()
    if not isinstance(values, list):
        values = [values]
    kind = media_type(accept)
    if batch or kind == CSV:
        if kind not in SUPPORTED_ACCEPTS and not batch:
            raise not_acceptable(accept)
        lines = [csv_value(value) for value in values]
        return ("\n".join(lines) + "\n").encode(), kind or CSV
    if kind == JSON:
        payload = {"predictions": [{"score": value} for value in values]}
        return json.dumps(payload).encode(), JSON
    if kind in JSONLINES_TYPES:
        lines = [json.dumps({"score": value}) for value in values]
        return ("\n".join(lines) + "\n").encode(), kind
    raise not_acceptable(accept)


def csv_value(value: Any) -> str:
    """One prediction as a CSV field: a list becomes its values joined by commas."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def not_acceptable(accept: str) -> InferenceError:
    """The 406 a container answers for an ``Accept`` it cannot produce."""
    return InferenceError(
        406, f"Accept {accept!r} is not supported; ask for one of {', '.join(SUPPORTED_ACCEPTS)}"
    )


def is_batch(environment: Mapping[str, str]) -> bool:
    """Whether the model serves a batch transform job (``SAGEMAKER_BATCH``, set by the platform)."""
    return environment.get("SAGEMAKER_BATCH", "").strip().lower() in {"true", "1", "yes"}
