"""One input object of a transform job through the model: records, requests and the output.

:func:`transform_object` splits an object into records (``SplitType``), applies the
``InputFilter``, sends mini-batches (:func:`batches`: ``MultiRecord`` bounded by
``MaxPayloadInMB``, or ``SingleRecord``), and assembles the answers: as they came, or, with
``JoinSource``/``OutputFilter``, one output line per input record, as SageMaker does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from mlaccel._codecs import CSV, JSON, JSONLINES_TYPES, csv_line, media_type, parse_csv_line
from mlaccel.errors import InferenceError, JobFailed, TransformStopped
from mlaccel_twin.serving import Predictor
from mlaccel_twin.transform.json_path import select_json_path
from mlaccel_twin.transform.spec import TransformJobSpec

JOIN_KEY = "SageMakerOutput"  # where SageMaker puts the prediction of a joined JSON record

_JSON_TYPES = {JSON} | JSONLINES_TYPES


def transform_object(
    data: bytes,
    spec: TransformJobSpec,
    predictor: Predictor,
    source: str,
    stop: Callable[[], bool],
) -> tuple[bytes, int, int]:
    """The output of one input object, with its number of records and of requests.

    Raises
    ------
    JobFailed
        With the job's ``FailureReason`` (records that do not parse, a failing model).
    TransformStopped
        ``stop()`` turned True between two requests.
    """
    records = split_records(data, spec, source)
    if not records and spec.split_type == "None":
        return _predict(predictor, data, spec, source), 1, 1  # one binary payload
    answers: list[tuple[int, bytes]] = []
    for batch in batches(_filtered(records, spec), spec):
        if stop():
            raise TransformStopped(f"transform job {spec.name} was stopped")
        body = ("\n".join(batch) + ("\n" if spec.split_type == "Line" else "")).encode()
        answers.append((len(batch), _predict(predictor, body, spec, source)))
    if spec.per_record:
        output = _per_record_output(records, answers, spec, source)
    else:
        output = _assembled_output([answer for _, answer in answers], spec)
    return output, len(records), len(answers)


def split_records(data: bytes, spec: TransformJobSpec, source: str) -> list[str]:
    """The records of an object: its lines (``SplitType`` ``Line``) or the whole text.

    An object that is not UTF-8 text gives no record: it is sent as it is.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if spec.per_record or spec.split_type == "Line":
            raise JobFailed(f"{source} is not UTF-8 text ({exc})") from exc
        return []
    if spec.split_type == "Line":
        return [line for line in text.splitlines() if line.strip()]
    if spec.per_record and input_is_csv(spec) and len([ln for ln in text.splitlines() if ln]) > 1:
        raise JobFailed(
            f"{source}: InputFilter/OutputFilter/JoinSource on CSV need SplitType 'Line' "
            "(each line is a record)"
        )
    return [text.rstrip("\n")]


def batches(records: list[str], spec: TransformJobSpec) -> Iterator[list[str]]:
    """The requests' records: one per request, or as many as fit ``MaxPayloadInMB``."""
    if spec.batch_strategy == "SingleRecord" or spec.split_type == "None":
        for record in records:
            yield [record]
        return
    limit = spec.max_payload_mb * 1024 * 1024 or float("inf")
    batch: list[str] = []
    size = 0
    for record in records:
        record_size = len(record.encode()) + 1
        if record_size > limit:
            raise JobFailed(
                f"a record of {record_size} bytes is larger than MaxPayloadInMB="
                f"{spec.max_payload_mb}; raise MaxPayloadInMB"
            )
        if batch and size + record_size > limit:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record_size
    if batch:
        yield batch


def input_is_csv(spec: TransformJobSpec) -> bool:
    """Whether the input is CSV (no ``ContentType`` means CSV, as for the XGBoost container)."""
    return media_type(spec.content_type) in {"", CSV}


def output_is_csv(spec: TransformJobSpec, input_csv: bool) -> bool:
    """Whether the model's answers are CSV: ``Accept`` says so, or the input was CSV."""
    accept = media_type(spec.accept)
    if accept in _JSON_TYPES:
        return False
    return accept == CSV or input_csv


def _filtered(records: list[str], spec: TransformJobSpec) -> list[str]:
    if not spec.input_filter:
        return records
    as_csv = input_is_csv(spec)
    return [
        _format_record(
            select_json_path(_parse_record(r, as_csv), spec.input_filter, label="InputFilter"),
            as_csv,
        )
        for r in records
    ]


def _assembled_output(answers: list[bytes], spec: TransformJobSpec) -> bytes:
    if spec.assemble_with == "Line":
        return b"".join(p if p.endswith(b"\n") else p + b"\n" for p in answers if p)
    return b"".join(answers)


def _per_record_output(
    records: list[str], answers: list[tuple[int, bytes]], spec: TransformJobSpec, source: str
) -> bytes:
    as_csv = input_is_csv(spec)
    answers_csv = output_is_csv(spec, as_csv)
    parts: list[str] = []
    position = 0
    for count, answer in answers:
        predictions = [ln for ln in answer.decode("utf-8", "replace").splitlines() if ln.strip()]
        if len(predictions) != count:
            raise JobFailed(
                f"ClientError: {source}: the model answered {len(predictions)} line(s) for "
                f"{count} record(s), so outputs cannot be joined to records; have the model "
                "return one line per record"
            )
        for offset, prediction in enumerate(predictions):
            result = _parse_prediction(prediction, answers_csv)
            if spec.join_source == "Input":
                result = _join(_parse_record(records[position + offset], as_csv), result, as_csv)
            if spec.output_filter:
                result = select_json_path(result, spec.output_filter, label="OutputFilter")
            parts.append(_format_record(result, as_csv or answers_csv))
        position += count
    separator = "\n" if spec.assemble_with == "Line" else ""
    return (separator.join(parts) + (separator if parts else "")).encode()


def _predict(predictor: Predictor, body: bytes, spec: TransformJobSpec, source: str) -> bytes:
    try:
        answer, _ = predictor.predict(body, spec.content_type or CSV, spec.accept)
    except InferenceError as exc:
        raise JobFailed(f"ClientError: {source}: the model answered {exc.status}: {exc}") from exc
    except Exception as exc:
        raise JobFailed(
            f"AlgorithmError: {source}: the model failed: {type(exc).__name__}: {exc}"
        ) from exc
    return answer


def _parse_record(text: str, as_csv: bool) -> Any:
    if as_csv:
        return parse_csv_line(text)
    try:
        return json.loads(text)
    except ValueError:
        raise JobFailed(
            f"the record {text[:80]!r} is not JSON; set ContentType text/csv for CSV data"
        ) from None


def _format_record(value: Any, as_csv: bool) -> str:
    if as_csv:
        if isinstance(value, list):
            return csv_line(value)
        if isinstance(value, dict):
            return json.dumps(value)
        return str(value)
    return json.dumps(value)


def _parse_prediction(text: str, as_csv: bool) -> Any:
    if as_csv:
        return parse_csv_line(text)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _join(record: Any, prediction: Any, as_csv: bool) -> Any:
    if as_csv:
        extra = prediction if isinstance(prediction, list) else [prediction]
        return list(record) + list(extra)
    if isinstance(record, dict):
        return {**record, JOIN_KEY: prediction}
    if isinstance(record, list):
        return [*record, prediction]
    return {JOIN_KEY: prediction, "input": record}
