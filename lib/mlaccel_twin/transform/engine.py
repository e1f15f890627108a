"""Batch transform jobs on the twin: every input object through the model, output to S3.

:func:`run_transform_job` does what a SageMaker transform job does with a
:class:`~mlaccel_twin.transform.spec.TransformJobSpec`: it loads the model's predictor
(:func:`mlaccel_twin.serving.load_predictor`, with ``SAGEMAKER_BATCH=true`` as the platform sets
it), reads every object under ``TransformInput.DataSource`` (``S3Prefix`` or ``ManifestFile``),
runs each through the model (:func:`mlaccel_twin.transform.records.transform_object`: records,
``DataProcessing`` with SageMaker's JSONPath subset, mini-batches) and writes
``<input-object-name>.out`` under ``TransformOutput.S3OutputPath``.

``mlaccel_twin.transform.seam`` runs it when moto receives ``CreateTransformJob``.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel._s3 import join_uri, parse_path
from mlaccel.errors import JobFailed, MLAccelError, TransformStopped
from mlaccel_twin.serving import Predictor, fetch_model, load_predictor
from mlaccel_twin.transform.records import transform_object
from mlaccel_twin.transform.spec import TransformJobSpec

__all__ = ["LOG_GROUP", "TransformJobSpec", "TransformReport", "run_transform_job"]

log = logging.getLogger(__name__)

LOG_GROUP = "/aws/sagemaker/TransformJobs"


@dataclass
class TransformReport:
    """What a transform job did."""

    objects: int = 0
    records: int = 0
    requests: int = 0
    outputs: list[str] = field(default_factory=list)


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
    if predictor is None:
        predictor = _load_model(spec, s3_client, Path(work_dir), say)
    objects = list(_input_objects(spec, s3_client))
    if not objects:
        raise JobFailed(
            f"ClientError: no input objects under {spec.input_uri}; check TransformInput.DataSource"
        )
    say(f"{len(objects)} input object(s) under {spec.input_uri}")
    report = TransformReport()
    for bucket, key, relative in objects:
        if stop():
            raise TransformStopped(f"transform job {spec.name} was stopped")
        source = join_uri(bucket, key)
        data = _read_object(s3_client, bucket, key, spec.compression)
        output, records, requests = transform_object(data, spec, predictor, source, stop)
        target = _write_output(s3_client, spec.output_path, relative, output)
        report.objects += 1
        report.records += records
        report.requests += requests
        report.outputs.append(target)
        say(f"{source}: {records} record(s) in {requests} request(s) -> {target}")
    say(f"Completed: {report.objects} object(s), {report.records} record(s)")
    return report


def _load_model(
    spec: TransformJobSpec, s3_client: Any, work_dir: Path, say: Callable[[str], None]
) -> Predictor:
    say(f"Loading model {spec.model_name} ({spec.container.get('Image', 'no image')})")
    try:
        model_dir, environment = fetch_model(spec.container, s3_client=s3_client, dest=work_dir)
        environment.update(spec.environment)
        environment.setdefault("SAGEMAKER_BATCH", "true")
        return load_predictor(
            model_dir, image_uri=str(spec.container.get("Image", "")), environment=environment
        )
    except MLAccelError as exc:
        raise JobFailed(f"ClientError: cannot load model {spec.model_name}: {exc}") from exc


def _read_object(s3_client: Any, bucket: str, key: str, compression: str) -> bytes:
    data: bytes = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    if compression != "Gzip":
        return data
    try:
        return gzip.decompress(data)
    except OSError as exc:
        raise JobFailed(f"ClientError: {join_uri(bucket, key)} is not gzip data ({exc})") from exc


def _write_output(s3_client: Any, output_path: str, relative: str, body: bytes) -> str:
    # SageMaker names each output after its input object: <name>.out.
    bucket, prefix = parse_path(output_path)
    key = "/".join(p for p in (prefix.strip("/"), relative + ".out") if p)
    s3_client.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


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
