"""Endpoint data capture and batch-transform output, read into frames the engine checks.

A capture file holds one JSON object per line, as SageMaker endpoints write them::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "5.1,3.5", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "0.93", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "…", "inferenceTime": "2024-05-01T10:00:00Z"},
     "eventVersion": "0"}

Payloads may be CSV, JSON, JSON Lines or base64 of either (:mod:`._payloads`). Positional
fields become the columns ``feature_names`` (inputs first, then outputs) and then ``_c<i>``,
the names Model Monitor gives header-less data; ground truth (``groundTruthData``) becomes
``groundTruth`` (``groundTruth_<i>`` for several fields).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._locations import list_files, read_lines
from mlaccel.monitor._payloads import CapturedPayload, as_text, parse_payload

log = logging.getLogger(__name__)

INPUT = "endpointInput"
OUTPUT = "endpointOutput"
GROUND_TRUTH = "groundTruth"
_RECORDS_PER_BATCH = 65_536


@dataclass(frozen=True)
class EventMetadata:
    """The record's ``eventMetadata``."""

    event_id: str | None = None
    inference_time: str | None = None
    inference_id: str | None = None


@dataclass(frozen=True)
class InferenceRecord:
    """A captured record, passed to a ``preprocess_handler`` as Model Monitor does."""

    endpoint_input: CapturedPayload | None
    endpoint_output: CapturedPayload | None
    event_metadata: EventMetadata = field(default_factory=EventMetadata)
    event_version: str | None = None
    ground_truth: CapturedPayload | None = None


Preprocessor = Callable[..., Any]


def read_capture(
    source: str | Path,
    *,
    feature_names: Sequence[str] | None = None,
    capture_index_names: Sequence[str] = (INPUT, OUTPUT),
    start_time: str | datetime | None = None,
    end_time: str | datetime | None = None,
    include_metadata: bool = False,
    preprocess: Preprocessor | None = None,
    boto3_session: Any | None = None,
) -> Any:
    """Read endpoint data-capture files (JSON Lines) into a pandas DataFrame.

    Parameters
    ----------
    source
        A capture file, or a local folder / ``s3://`` prefix of them (searched recursively,
        as endpoints write ``<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``).
    feature_names
        Names of the positional fields, inputs first, then outputs.
    capture_index_names
        Which sides become columns: ``endpointInput``, ``endpointOutput`` or both.
    start_time, end_time
        Keep records whose ``inferenceTime`` is in ``[start_time, end_time)``.
    include_metadata
        Add ``eventId``, ``inferenceId`` (the id the caller gave, which ground truth is
        joined on) and ``inferenceTime`` columns.
    preprocess
        A record preprocessor: ``f(record)`` or ``f(record, logger)`` returning a dict
        (one row), a list of dicts (rows) or a list of values (one positional row).
    boto3_session
        Session for ``s3://`` sources.

    Returns
    -------
    pandas.DataFrame
        One row per captured row; values as text (the engine types them).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> record = {"captureData": {
    ...     "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
    ...                       "data": "5.1,3.5", "encoding": "CSV"},
    ...     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
    ...                        "data": "0.9", "encoding": "CSV"}},
    ...     "eventMetadata": {"eventId": "e1", "inferenceTime": "2024-05-01T10:00:00Z"},
    ...     "eventVersion": "0"}
    >>> _ = (folder / "capture.jsonl").write_text(json.dumps(record) + "\\n")
    >>> read_capture(folder, feature_names=["a", "b", "score"]).to_dict("records")
    [{'a': '5.1', 'b': '3.5', 'score': '0.9'}]
    """
    batches = list(
        capture_batches(
            [source],
            boto3_session=boto3_session,
            capture_index_names=capture_index_names,
            feature_names=feature_names,
            start_time=start_time,
            end_time=end_time,
            include_metadata=include_metadata,
            preprocess=preprocess,
        )
    )
    return _frame(batches)


def _frame(batches: list[pa.RecordBatch]) -> Any:
    import pandas as pd

    if not batches:
        return pd.DataFrame()
    table = pa.Table.from_batches(unify_batches(batches))
    return table.to_pandas(types_mapper=None)


def unify_batches(batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """The batches with the union of their columns, in first-seen order (missing: null text)."""
    names: list[str] = []
    for batch in batches:
        names += [name for name in batch.schema.names if name not in names]
    unified = []
    for batch in batches:
        arrays = [
            batch.column(name)
            if name in batch.schema.names
            else pa.nulls(batch.num_rows, pa.string())
            for name in names
        ]
        unified.append(pa.RecordBatch.from_arrays(arrays, names=names))
    return unified


def capture_batches(
    sources: Iterable[str | Path],
    *,
    boto3_session: Any | None = None,
    capture_index_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    start_time: str | datetime | None = None,
    end_time: str | datetime | None = None,
    include_metadata: bool = False,
    preprocess: Preprocessor | None = None,
) -> Iterator[pa.RecordBatch]:
    """Capture records as Arrow batches of text columns (one file, or part of one, per batch)."""
    sides = tuple(capture_index_names or (INPUT, OUTPUT))
    start = _time(start_time, "start_time")
    end = _time(end_time, "end_time")
    names = list(feature_names or [])
    for source in sources:
        for file in list_files(source, boto3_session=boto3_session):
            rows: list[dict[str, Any]] = []
            for number, line in enumerate(read_lines(file.address, boto3_session), start=1):
                if not line.strip():
                    continue
                record = _parse_record(line, f"{file.address} line {number}")
                if not _in_window(record, start, end, f"{file.address} line {number}"):
                    continue
                rows.extend(_record_rows(record, sides, names, include_metadata, preprocess))
                if len(rows) >= _RECORDS_PER_BATCH:
                    yield _batch(rows)
                    rows = []
            if rows:
                yield _batch(rows)


def _parse_record(line: str, where: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise MLAccelInputError(
            f"{where} is not a JSON object ({error}); capture files hold one record per line"
        ) from None
    if not isinstance(record, dict) or not (
        isinstance(record.get("captureData"), dict) or "groundTruthData" in record
    ):
        raise MLAccelInputError(
            f"{where} has no captureData object; it is not an endpoint data-capture record"
        )
    return record


def _time(value: str | datetime | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).replace(" ", "")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise MLAccelInputError(
                f"{name}={value!r} is not an ISO 8601 time like 2024-05-01T10:00:00Z"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_window(
    record: dict[str, Any], start: datetime | None, end: datetime | None, where: str
) -> bool:
    if start is None and end is None:
        return True
    stamp = (record.get("eventMetadata") or {}).get("inferenceTime")
    if not stamp:
        return True
    moment = _time(stamp, f"{where} inferenceTime")
    assert moment is not None
    return (start is None or moment >= start) and (end is None or moment < end)


def _payload(part: Any) -> CapturedPayload | None:
    if not isinstance(part, dict) or part.get("data") is None:
        return None
    return CapturedPayload(
        data=str(part["data"]),
        encoding=str(part.get("encoding", "CSV")),
        observed_content_type=str(part.get("observedContentType", "")),
        mode=str(part.get("mode", "")),
    )


def _inference_record(record: dict[str, Any]) -> InferenceRecord:
    capture = record.get("captureData") or {}
    metadata = record.get("eventMetadata") or {}
    return InferenceRecord(
        endpoint_input=_payload(capture.get(INPUT)),
        endpoint_output=_payload(capture.get(OUTPUT)),
        event_metadata=EventMetadata(
            metadata.get("eventId"), metadata.get("inferenceTime"), metadata.get("inferenceId")
        ),
        event_version=record.get("eventVersion"),
        ground_truth=_payload(record.get("groundTruthData")),
    )


def _record_rows(
    record: dict[str, Any],
    sides: tuple[str, ...],
    names: list[str],
    include_metadata: bool,
    preprocess: Preprocessor | None,
) -> list[dict[str, Any]]:
    inference = _inference_record(record)
    if preprocess is not None:
        rows = _preprocessed(preprocess, inference, names)
    else:
        rows = _endpoint_rows(inference, sides, names)
    truth = parse_payload(inference.ground_truth) if inference.ground_truth is not None else []
    if truth and not rows:
        # Ground truth merged on its own: a row of labels only.
        rows = [{}]
    for index, row in enumerate(rows):
        if truth:
            _place_truth(row, truth[index] if index < len(truth) else truth[0])
        if include_metadata:
            row["eventId"] = inference.event_metadata.event_id
            row["inferenceId"] = inference.event_metadata.inference_id
            row["inferenceTime"] = inference.event_metadata.inference_time
    return rows


def _endpoint_rows(
    inference: InferenceRecord, sides: tuple[str, ...], names: list[str]
) -> list[dict[str, Any]]:
    parts = [inference.endpoint_input if s == INPUT else inference.endpoint_output for s in sides]
    side_rows = [parse_payload(part) if part is not None else [] for part in parts]
    count = max((len(r) for r in side_rows), default=0)
    side_rows = [_one_value_per_row(side, count) for side in side_rows]
    rows = []
    for index in range(count):
        row: dict[str, Any] = {}
        position = 0
        for side in side_rows:
            if not side:
                continue
            values = side[index] if index < len(side) else (side[0] if len(side) == 1 else [])
            position = _place(row, values, names, position)
        rows.append(row)
    return rows


def _one_value_per_row(side: list[Any], count: int) -> list[Any]:
    # A batch request of k rows often gets its k predictions back on one line.
    if count > 1 and len(side) == 1 and isinstance(side[0], list) and len(side[0]) == count:
        return [[value] for value in side[0]]
    return side


def _place_truth(row: dict[str, Any], values: Any) -> None:
    if isinstance(values, dict):
        row.update({f"{GROUND_TRUTH}_{k}": v for k, v in values.items()})
    elif len(values) == 1:
        row[GROUND_TRUTH] = values[0]
    else:
        row.update({f"{GROUND_TRUTH}_{i}": v for i, v in enumerate(values)})


def _place(row: dict[str, Any], values: Any, names: list[str], position: int) -> int:
    if isinstance(values, dict):
        row.update(values)
        return position
    for value in values:
        row[names[position] if position < len(names) else f"_c{position}"] = value
        position += 1
    return position


def _preprocessed(
    preprocess: Preprocessor, record: InferenceRecord, names: list[str]
) -> list[dict[str, Any]]:
    takes_logger = len(inspect.signature(preprocess).parameters) >= 2
    result = preprocess(record, log) if takes_logger else preprocess(record)
    if result is None:
        return []
    if isinstance(result, dict):
        return [{str(k): as_text(v) for k, v in result.items()}]
    if isinstance(result, list) and result and all(isinstance(item, dict) for item in result):
        return [{str(k): as_text(v) for k, v in item.items()} for item in result]
    if isinstance(result, list | tuple):
        row: dict[str, Any] = {}
        _place(row, [as_text(v) for v in result], names, 0)
        return [row]
    raise MLAccelInputError(
        f"the record preprocessor returned {type(result).__name__}; it must return a dict, "
        "a list of dicts or a list of values"
    )


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    names: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for name in row:
            if name not in seen:
                seen.add(name)
                names.append(name)
    arrays = [pa.array([row.get(name) for row in rows], type=pa.string()) for name in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def read_transform_output(
    source: str | Path,
    *,
    feature_names: Sequence[str] | None = None,
    boto3_session: Any | None = None,
) -> Any:
    """Read batch-transform output files (``*.out``: CSV or JSON Lines) into a DataFrame.

    With ``JoinSource="Input"`` each line holds the input fields and then the prediction;
    name them with ``feature_names``. Other fields are ``_c<i>``; JSON objects keep their keys.

    Parameters
    ----------
    source
        An output file, or a local folder / ``s3://`` prefix of them.
    feature_names
        Names of the positional fields, in order.
    boto3_session
        Session for ``s3://`` sources.

    Returns
    -------
    pandas.DataFrame
        Values as text (the engine types them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "batch.csv.out").write_text("1.5,a,0.2\\n2.5,b,0.7\\n")
    >>> read_transform_output(folder, feature_names=["x", "kind", "score"])["score"].tolist()
    ['0.2', '0.7']
    """
    names = list(feature_names or [])
    batches = []
    for file in list_files(source, boto3_session=boto3_session):
        rows: list[dict[str, Any]] = []
        for line in read_lines(file.address, boto3_session):
            text = line.strip()
            if not text:
                continue
            kind = "application/json" if text[0] in "[{" else "text/csv"
            encoding = "JSON" if kind == "application/json" else "CSV"
            for values in parse_payload(CapturedPayload(text, encoding, kind)):
                row: dict[str, Any] = {}
                _place(row, values, names, 0)
                rows.append(row)
            if len(rows) >= _RECORDS_PER_BATCH:
                batches.append(_batch(rows))
                rows = []
        if rows:
            batches.append(_batch(rows))
    return _frame(batches)
