"""Batch transform jobs on the twin: every input object through the model, output to S3.

:func:`run_transform_job` does what a SageMaker transform job does with a
:class:`TransformJobSpec`: it loads the model's predictor
(:func:`mlaccel_twin.serving.load_predictor`, with ``SAGEMAKER_BATCH=true`` as the platform sets
it), reads every object under ``TransformInput.DataSource`` (``S3Prefix`` or ``ManifestFile``),
splits it into records (``SplitType`` ``Line`` or ``None``), applies ``DataProcessing``
(``InputFilter``, ``JoinSource``, ``OutputFilter``) with SageMaker's JSONPath subset
(:func:`select_json_path`), sends mini-batches bounded by ``MaxPayloadInMB`` (``MultiRecord``) or
one record per request (``SingleRecord``), and writes ``<input-object-name>.out`` under
``TransformOutput.S3OutputPath``, one record per line with ``AssembleWith`` ``Line``.

``mlaccel_twin.transform.seam`` runs it when moto receives ``CreateTransformJob``.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel._codecs import CSV, JSON, csv_line, media_type, parse_csv_line
from mlaccel._s3 import parse_path
from mlaccel.errors import (
    InferenceError,
    JobFailed,
    MLAccelError,
    MLAccelInputError,
    TransformStopped,
)
from mlaccel_twin.serving import (
    Predictor,
    fetch_model,
    load_predictor,
)
from mlaccel_twin.transform.json_path import parse_json_path, select_json_path

log = logging.getLogger(__name__)


LOG_GROUP = "/aws/sagemaker/TransformJobs"


JOIN_KEY = "SageMakerOutput"  # where SageMaker puts the prediction of a joined JSON record


_JSON_TYPES = {JSON, "application/jsonlines", "application/json-lines", "application/x-jsonlines"}


@dataclass(frozen=True)
class TransformJobSpec:
    """A ``CreateTransformJob`` request, checked and with defaults filled in.

    Build it with :meth:`from_request`; field names follow the API's.
    """

    name: str
    model_name: str
    container: Mapping[str, Any]
    input_uri: str
    data_type: str = "S3Prefix"
    content_type: str | None = None
    compression: str = "None"
    split_type: str = "None"
    batch_strategy: str = "MultiRecord"
    max_payload_mb: int = 6
    output_path: str = ""
    accept: str | None = None
    assemble_with: str = "None"
    input_filter: str | None = None
    output_filter: str | None = None
    join_source: str = "None"
    environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(
        cls,
        *,
        name: str,
        model_name: str,
        container: Mapping[str, Any],
        transform_input: Mapping[str, Any],
        transform_output: Mapping[str, Any],
        batch_strategy: str | None = None,
        max_payload_in_mb: int | None = None,
        environment: Mapping[str, str] | None = None,
        data_processing: Mapping[str, Any] | None = None,
    ) -> TransformJobSpec:
        """Check a CreateTransformJob request and fill SageMaker's defaults.

        Examples
        --------
        >>> spec = TransformJobSpec.from_request(
        ...     name="score", model_name="model", container={"Image": "xgboost"},
        ...     transform_input={"DataSource": {"S3DataSource": {
        ...         "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in/"}},
        ...         "ContentType": "text/csv", "SplitType": "Line"},
        ...     transform_output={"S3OutputPath": "s3://bucket/out", "AssembleWith": "Line"},
        ...     data_processing={"InputFilter": "$[1:]", "JoinSource": "Input"},
        ... )
        >>> spec.batch_strategy, spec.max_payload_mb, spec.join_source
        ('MultiRecord', 6, 'Input')
        """
        source = ((transform_input or {}).get("DataSource") or {}).get("S3DataSource") or {}
        input_uri = str(source.get("S3Uri") or "")
        parse_path(input_uri)
        data_type = str(source.get("S3DataType") or "S3Prefix")
        if data_type not in {"S3Prefix", "ManifestFile"}:
            raise MLAccelInputError(
                f"S3DataType {data_type!r} is not supported on the twin; use S3Prefix or "
                "ManifestFile"
            )
        output_path = str((transform_output or {}).get("S3OutputPath") or "")
        parse_path(output_path)
        split_type = str(transform_input.get("SplitType") or "None")
        if split_type not in {"None", "Line"}:
            raise MLAccelInputError(
                f"SplitType {split_type!r} is not supported on the twin; use Line or None"
            )
        compression = str(transform_input.get("CompressionType") or "None")
        if compression not in {"None", "Gzip"}:
            raise MLAccelInputError(f"CompressionType {compression!r} must be None or Gzip")
        strategy = str(batch_strategy or "MultiRecord")
        if strategy not in {"MultiRecord", "SingleRecord"}:
            raise MLAccelInputError(
                f"BatchStrategy {strategy!r} must be MultiRecord or SingleRecord"
            )
        payload = int(max_payload_in_mb if max_payload_in_mb is not None else 6)
        if not 0 <= payload <= 100:
            raise MLAccelInputError(f"MaxPayloadInMB={payload} must be between 0 and 100")
        processing = data_processing or {}
        input_filter = processing.get("InputFilter") or None
        output_filter = processing.get("OutputFilter") or None
        for label, path in (("InputFilter", input_filter), ("OutputFilter", output_filter)):
            if path is not None:
                parse_json_path(str(path), label)
        join_source = str(processing.get("JoinSource") or "None")
        if join_source not in {"None", "Input"}:
            raise MLAccelInputError(f"JoinSource {join_source!r} must be Input or None")
        assemble = str((transform_output or {}).get("AssembleWith") or "None")
        if assemble not in {"None", "Line"}:
            raise MLAccelInputError(f"AssembleWith {assemble!r} must be Line or None")
        return cls(
            name=name,
            model_name=model_name,
            container=dict(container),
            input_uri=input_uri,
            data_type=data_type,
            content_type=transform_input.get("ContentType") or None,
            compression=compression,
            split_type=split_type,
            batch_strategy=strategy,
            max_payload_mb=payload,
            output_path=output_path,
            accept=(transform_output or {}).get("Accept") or None,
            assemble_with=assemble,
            input_filter=str(input_filter) if input_filter else None,
            output_filter=str(output_filter) if output_filter else None,
            join_source=join_source,
            environment=dict(environment or {}),
        )

    @property
    def per_record(self) -> bool:
        """Whether outputs must be matched to input records (filters or join)."""
        return bool(self.input_filter or self.output_filter or self.join_source == "Input")


@dataclass
class TransformReport:
    """What a transform job did."""

    objects: int = 0
    records: int = 0
    requests: int = 0
    outputs: list[str] = field(default_factory=list)


def _records_of(data: bytes, spec: TransformJobSpec, source: str) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if spec.per_record or spec.split_type == "Line":
            raise JobFailed(f"{source} is not UTF-8 text ({exc})") from exc
        return []
    if spec.split_type == "Line":
        return [line for line in text.splitlines() if line.strip()]
    if spec.per_record and _is_csv(spec) and len([ln for ln in text.splitlines() if ln]) > 1:
        raise JobFailed(
            f"{source}: InputFilter/OutputFilter/JoinSource on CSV need SplitType 'Line' "
            "(each line is a record)"
        )
    return [text.rstrip("\n")]


def _is_csv(spec: TransformJobSpec) -> bool:
    return media_type(spec.content_type) in {"", CSV}


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


def _batches(records: list[str], spec: TransformJobSpec) -> Iterator[list[str]]:
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


def run_transform_job(
    spec: TransformJobSpec,
    *,
    s3_client: Any,
    work_dir: Path,
    log_line: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    predictor: Predictor | None = None,
) -> TransformReport:
    """Run a batch transform job to completion.

    Parameters
    ----------
    spec
        The job.
    s3_client
        boto3 S3 client of the backend holding the model, the input and the output.
    work_dir
        Folder the model is extracted to.
    log_line
        Receives the job's log lines (the twin sends them to CloudWatch Logs).
    should_stop
        Polled between requests; True stops the job (:class:`TransformStopped`).
    predictor
        A predictor to use instead of loading the spec's model.

    Returns
    -------
    TransformReport

    Raises
    ------
    JobFailed
        With the job's ``FailureReason``.

    Examples
    --------
    >>> report = run_transform_job(spec, s3_client=conn.client("s3"), work_dir=tmp_path)
    ... # doctest: +SKIP
    >>> report.outputs  # doctest: +SKIP
    ['s3://bucket/out/test.csv.out']
    """
    say = log_line or (lambda message: log.info("%s", message))
    stop = should_stop or (lambda: False)
    report = TransformReport()
    if predictor is None:
        say(f"Loading model {spec.model_name} ({spec.container.get('Image', 'no image')})")
        try:
            model_dir, environment = fetch_model(
                spec.container, s3_client=s3_client, dest=Path(work_dir)
            )
            environment.update(spec.environment)
            environment.setdefault("SAGEMAKER_BATCH", "true")
            predictor = load_predictor(
                model_dir, image_uri=str(spec.container.get("Image", "")), environment=environment
            )
        except MLAccelError as exc:
            raise JobFailed(f"ClientError: cannot load model {spec.model_name}: {exc}") from exc
    objects = list(_input_objects(spec, s3_client))
    if not objects:
        raise JobFailed(
            f"ClientError: no input objects under {spec.input_uri}; check TransformInput.DataSource"
        )
    say(f"{len(objects)} input object(s) under {spec.input_uri}")
    out_bucket, out_prefix = parse_path(spec.output_path)
    for bucket, key, relative in objects:
        if stop():
            raise TransformStopped(f"transform job {spec.name} was stopped")
        source = f"s3://{bucket}/{key}"
        data = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        if spec.compression == "Gzip":
            try:
                data = gzip.decompress(data)
            except OSError as exc:
                raise JobFailed(f"ClientError: {source} is not gzip data ({exc})") from exc
        output, records, requests = _transform_object(data, spec, predictor, source, stop)
        out_key = "/".join(p for p in (out_prefix.strip("/"), relative + ".out") if p)
        s3_client.put_object(Bucket=out_bucket, Key=out_key, Body=output)
        report.objects += 1
        report.records += records
        report.requests += requests
        report.outputs.append(f"s3://{out_bucket}/{out_key}")
        say(
            f"{source}: {records} record(s) in {requests} request(s) -> s3://{out_bucket}/{out_key}"
        )
    say(f"Completed: {report.objects} object(s), {report.records} record(s)")
    return report


def _transform_object(
    data: bytes,
    spec: TransformJobSpec,
    predictor: Predictor,
    source: str,
    stop: Callable[[], bool],
) -> tuple[bytes, int, int]:
    as_csv = _is_csv(spec)
    content_type = spec.content_type or CSV
    records = _records_of(data, spec, source)
    if not records and spec.split_type == "None":
        answer = _predict(predictor, data, content_type, spec, source)
        return answer, 1, 1
    inputs = records
    if spec.input_filter:
        inputs = [
            _format_record(
                select_json_path(_parse_record(r, as_csv), spec.input_filter, label="InputFilter"),
                as_csv,
            )
            for r in records
        ]
    out_parts: list[str] = []
    raw_parts: list[bytes] = []
    requests = 0
    position = 0
    for batch in _batches(inputs, spec):
        if stop():
            raise TransformStopped(f"transform job {spec.name} was stopped")
        body = ("\n".join(batch) + ("\n" if spec.split_type == "Line" else "")).encode()
        answer = _predict(predictor, body, content_type, spec, source)
        requests += 1
        if not spec.per_record:
            raw_parts.append(answer)
            position += len(batch)
            continue
        predictions = [ln for ln in answer.decode("utf-8", "replace").splitlines() if ln.strip()]
        if len(predictions) != len(batch):
            raise JobFailed(
                f"ClientError: {source}: the model answered {len(predictions)} line(s) for "
                f"{len(batch)} record(s), so outputs cannot be joined to records; have the model "
                "return one line per record"
            )
        for offset, prediction in enumerate(predictions):
            original = records[position + offset]
            parsed_prediction = _parse_prediction(prediction, _output_is_csv(spec, as_csv))
            if spec.join_source == "Input":
                result = _join(_parse_record(original, as_csv), parsed_prediction, as_csv)
            else:
                result = parsed_prediction
            if spec.output_filter:
                result = select_json_path(result, spec.output_filter, label="OutputFilter")
            out_parts.append(_format_record(result, as_csv or _output_is_csv(spec, as_csv)))
        position += len(batch)
    if spec.per_record:
        separator = "\n" if spec.assemble_with == "Line" else ""
        text = separator.join(out_parts) + (separator if out_parts else "")
        return text.encode(), len(records), requests
    if spec.assemble_with == "Line":
        parts = [p if p.endswith(b"\n") else p + b"\n" for p in raw_parts if p]
        return b"".join(parts), len(records), requests
    return b"".join(raw_parts), len(records), requests


def _output_is_csv(spec: TransformJobSpec, input_is_csv: bool) -> bool:
    accept = media_type(spec.accept)
    if accept in _JSON_TYPES:
        return False
    return accept == CSV or input_is_csv


def _predict(
    predictor: Predictor, body: bytes, content_type: str, spec: TransformJobSpec, source: str
) -> bytes:
    try:
        answer, _ = predictor.predict(body, content_type, spec.accept)
    except InferenceError as exc:
        raise JobFailed(f"ClientError: {source}: the model answered {exc.status}: {exc}") from exc
    except Exception as exc:
        raise JobFailed(
            f"AlgorithmError: {source}: the model failed: {type(exc).__name__}: {exc}"
        ) from exc
    return answer


def _input_objects(spec: TransformJobSpec, s3_client: Any) -> Iterator[tuple[str, str, str]]:
    bucket, prefix = parse_path(spec.input_uri)
    if spec.data_type == "ManifestFile":
        yield from _manifest_objects(s3_client, bucket, prefix)
        return
    # Output names are relative to the prefix's folder, as SageMaker names them.
    if not prefix or prefix.endswith("/"):
        base = prefix
    elif "/" in prefix:
        base = prefix.rsplit("/", 1)[0] + "/"
    else:
        base = ""
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key.endswith("/"):
                continue
            yield bucket, key, key[len(base) :]


def _manifest_objects(s3_client: Any, bucket: str, key: str) -> Iterator[tuple[str, str, str]]:
    raw = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise JobFailed(f"ClientError: manifest s3://{bucket}/{key} is not JSON") from exc
    if not (
        isinstance(entries, list)
        and entries
        and isinstance(entries[0], dict)
        and "prefix" in entries[0]
    ):
        raise JobFailed(
            f'ClientError: manifest s3://{bucket}/{key} must be [{{"prefix": "s3://..."}}, '
            '"relative/key", ...]'
        )
    base_bucket, base_prefix = parse_path(str(entries[0]["prefix"]))
    for relative in entries[1:]:
        yield base_bucket, base_prefix + str(relative), str(relative)
