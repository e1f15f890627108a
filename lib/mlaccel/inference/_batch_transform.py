"""Batch transform: write keyed input, score it with a transform job, read the scores by id."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from mlaccel import config
from mlaccel._aws import check_connection
from mlaccel._codecs import CSV, parse_csv_predictions, records_to_csv
from mlaccel._connect import Connection
from mlaccel._s3 import join_uri, parse_path
from mlaccel.errors import MLAccelError, MLAccelInputError, TransformJobFailed
from mlaccel.inference._names import check_name, new_stamp, stamped, unstamped

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.literals import BatchStrategyType, TransformInstanceTypeType
    from mypy_boto3_sagemaker.type_defs import DataProcessingTypeDef


log = logging.getLogger(__name__)

_RUNNING = {"InProgress", "Stopping"}


@dataclass(frozen=True)
class BatchTransformResult:
    """A finished batch transform job and its scores.

    Attributes
    ----------
    job_name, status, output_uri
        The job, its final status and where its ``.out`` files are.
    scores
        Prediction by record id (the first field of each joined output line): a number, or
        the list of class probabilities of a multiclass model.
    output_files
        The S3 URIs of the ``.out`` files read.
    """

    job_name: str
    status: str
    output_uri: str
    scores: dict[str, Any]
    output_files: list[str] = field(default_factory=list)


def write_transform_input(
    frame: Any,
    destination_uri: str,
    *,
    id_column: str,
    feature_columns: Sequence[str],
    connection: Connection,
) -> str:
    """Write ``id, features...`` rows (CSV, no header) for :func:`run_batch_transform`.

    Parameters
    ----------
    frame
        A pandas DataFrame holding the id and feature columns.
    destination_uri
        ``s3://.../file.csv`` to write.
    id_column
        The record id, kept out of the model by ``InputFilter="$[1:]"``.
    feature_columns
        The model's features, in training order.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    str
        ``destination_uri``.

    Examples
    --------
    >>> write_transform_input(
    ...     cars, "s3://bucket/scoring/in/cars.csv", id_column="car_id",
    ...     feature_columns=["age", "mileage"], connection=conn,
    ... )  # doctest: +SKIP
    's3://bucket/scoring/in/cars.csv'
    """
    columns = [id_column, *feature_columns]
    have = list(getattr(frame, "columns", []))
    missing = [c for c in columns if c not in have]
    if missing:
        raise MLAccelInputError(f"frame has no column(s) {missing}; it has {have}")
    if len(frame) == 0:
        raise MLAccelInputError("frame has no rows; there is nothing to score")
    ids = frame[id_column].astype(str)
    if ids.str.contains(",").any():
        raise MLAccelInputError(
            f"{id_column} values must not contain commas (CSV records); replace them first"
        )
    if ids.duplicated().any():
        raise MLAccelInputError(
            f"{id_column} has duplicate values; scores are keyed by id, so ids must be unique"
        )
    bucket, key = parse_path(destination_uri, name="destination_uri")
    conn = check_connection(connection)
    body = records_to_csv(frame[columns].to_numpy(dtype=object))
    conn.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
    return destination_uri


def answers_filter(answers: int) -> str:
    """The output filter keeping a joined line's id and the model's last ``answers`` fields.

    Examples
    --------
    >>> answers_filter(1), answers_filter(3)
    ('$[0,-1]', '$[0,-3,-2,-1]')
    """
    if isinstance(answers, bool) or not isinstance(answers, int) or answers < 1:
        raise MLAccelInputError(f"answers={answers!r} must be the number of values per record")
    return "$[" + ",".join(["0", *(str(-k) for k in range(answers, 0, -1))]) + "]"


def parse_joined_output(text: str, *, id_field: int = 0, answers: int = 1) -> dict[str, Any]:
    """Scores by record id from a joined transform output (CSV lines ``id, ..., score``): the
    last field, or the list of the last ``answers`` fields (a multiclass model's
    probabilities).

    Examples
    --------
    >>> parse_joined_output("car-1,12873.5\\ncar-2,6120.25\\n")
    {'car-1': 12873.5, 'car-2': 6120.25}
    >>> parse_joined_output("w-1,0.1,0.9\\n", answers=2)
    {'w-1': [0.1, 0.9]}
    """
    scores: dict[str, Any] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row:
            continue
        try:
            values = [float(v) for v in row[len(row) - answers :]]
            if len(values) != answers or len(row) <= answers:
                raise IndexError(f"{len(row)} fields for an id and {answers} answers")
            scores[row[id_field]] = values[0] if answers == 1 else values
        except (IndexError, ValueError) as exc:
            raise MLAccelError(
                f"transform output line {number} {','.join(row)[:80]!r} is not 'id,...,score' "
                f"({exc}); join the input with join_source='Input' and keep the id and the "
                "score with output_filter='$[0,-1]'"
            ) from exc
    return scores


def run_batch_transform(
    model_name: str,
    input_uri: str,
    output_uri: str,
    *,
    job_name: str | None = None,
    content_type: str = CSV,
    input_filter: str | None = "$[1:]",
    join_source: str = "Input",
    output_filter: str | None = "",
    answers: int = 1,
    batch_strategy: str = "MultiRecord",
    max_payload_mb: int = 6,
    instance_type: str | None = None,
    instance_count: int = 1,
    wait: bool = True,
    timeout_seconds: float = 3600.0,
    connection: Connection,
) -> BatchTransformResult:
    """Score every CSV record under ``input_uri`` with a batch transform job.

    The records are ``id, features...`` lines (see :func:`write_transform_input`). The job
    drops the id before the model (``input_filter="$[1:]"``), joins each prediction to its input
    line (``join_source="Input"``) and keeps the id and the prediction
    (``output_filter="$[0,-1]"``); records travel in mini-batches of up to ``max_payload_mb``
    (``batch_strategy="MultiRecord"``), one record per line (``SplitType="Line"``).

    Parameters
    ----------
    model_name
        A SageMaker model (e.g. ``Deployment.model_name`` or :func:`create_model`'s result).
    input_uri
        ``s3://`` prefix (or file) of the input CSV files.
    output_uri
        ``s3://`` prefix for the ``<input-file>.out`` files.
    job_name
        Transform job name; ``<model_name>-<timestamp>`` when omitted.
    content_type, input_filter, join_source, output_filter, batch_strategy, max_payload_mb
        The job's data processing and batching; ``output_filter`` defaults to the id and the
        model's ``answers`` values per record (:func:`answers_filter`; None keeps every field).
    answers
        Values the model answers per record: 1, or a multiclass model's number of classes.
    instance_type, instance_count
        Transform resources; ``instance_type`` defaults to
        :func:`mlaccel.config.default_instance_type`.
    wait
        Wait for the job and read the scores (else ``scores`` is empty and ``status`` is the
        status at submission).
    timeout_seconds
        How long to wait.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    BatchTransformResult
        ``scores`` maps each record id to its prediction.

    Raises
    ------
    TransformJobFailed
        The job failed; the message holds SageMaker's reason.

    Examples
    --------
    >>> result = run_batch_transform(
    ...     deployment.model_name, "s3://bucket/scoring/in/", "s3://bucket/scoring/out/",
    ...     connection=conn,
    ... )  # doctest: +SKIP
    >>> result.scores["car-17"]  # doctest: +SKIP
    12873.5
    """
    _check_transform_args(input_uri, output_uri, join_source, batch_strategy, max_payload_mb)
    conn = check_connection(connection)
    client = conn.client("sagemaker")
    # A model made by deploy_model is stamped already: stamp its base name, not the stamp.
    name = check_name(job_name or stamped(unstamped(model_name), new_stamp()), "job_name")
    data_processing = cast("DataProcessingTypeDef", {"JoinSource": join_source})
    data_processing.update({"InputFilter": input_filter} if input_filter else {})
    if output_filter == "":
        output_filter = answers_filter(answers)
    data_processing.update({"OutputFilter": output_filter} if output_filter else {})
    client.create_transform_job(
        TransformJobName=name,
        ModelName=model_name,
        BatchStrategy=cast("BatchStrategyType", batch_strategy),  # checked above
        MaxPayloadInMB=max_payload_mb,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": output_uri, "Accept": CSV, "AssembleWith": "Line"},
        TransformResources={
            "InstanceType": cast(
                "TransformInstanceTypeType", instance_type or config.default_instance_type()
            ),
            "InstanceCount": instance_count,
        },
        DataProcessing=data_processing,
    )
    log.info("transform job %s started on %s", name, model_name)
    if not wait:
        started = client.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
        return BatchTransformResult(name, str(started), output_uri, {})
    status = _wait_for_transform(conn, name, timeout_seconds)
    files = _output_files(conn, output_uri)
    scores = _read_scores(conn, files, joined=join_source == "Input", answers=answers)
    return BatchTransformResult(name, status, output_uri, scores, files)


def _check_transform_args(
    input_uri: str, output_uri: str, join_source: str, batch_strategy: str, max_payload_mb: int
) -> None:
    parse_path(input_uri, name="input_uri")
    parse_path(output_uri, name="output_uri")
    if join_source not in {"Input", "None"}:
        raise MLAccelInputError(f"join_source={join_source!r} must be 'Input' or 'None'")
    if batch_strategy not in {"MultiRecord", "SingleRecord"}:
        raise MLAccelInputError(
            f"batch_strategy={batch_strategy!r} must be 'MultiRecord' or 'SingleRecord'"
        )
    if not isinstance(max_payload_mb, int) or not 1 <= max_payload_mb <= 100:
        raise MLAccelInputError(f"max_payload_mb={max_payload_mb!r} must be 1-100 (MB)")


def _wait_for_transform(conn: Connection, name: str, timeout_seconds: float) -> str:
    """The job's final status, ``Completed``; else :class:`TransformJobFailed` saying why."""
    from botocore.exceptions import WaiterError

    client = conn.client("sagemaker")
    delay = conn.wait.poll_seconds
    waiter = client.get_waiter("transform_job_completed_or_stopped")
    # Failed, or still running at the deadline, ends the wait: the description below says which.
    with contextlib.suppress(WaiterError):
        waiter.wait(
            TransformJobName=name,
            WaiterConfig={
                # botocore sleeps any number of seconds; the stubs ask for an int.
                "Delay": delay,  # type: ignore[typeddict-item]
                "MaxAttempts": max(1, math.ceil(timeout_seconds / delay)),
            },
        )
    described = client.describe_transform_job(TransformJobName=name)
    status = str(described["TransformJobStatus"])
    if status in _RUNNING:
        raise TransformJobFailed(
            f"transform job {name} is still {status} after {timeout_seconds:.0f} s; "
            "raise timeout_seconds or check the job in the console"
        )
    if status != "Completed":
        reason = described.get("FailureReason", "no reason given")
        raise TransformJobFailed(f"transform job {name} ended {status}: {reason}")
    return status


def _output_files(conn: Connection, output_uri: str) -> list[str]:
    """The S3 URIs of the job's ``.out`` files, in key order."""
    bucket, prefix = parse_path(output_uri, name="output_uri")
    folder = prefix.rstrip("/") + "/" if prefix else ""
    pages = (
        conn.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
    )
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return [join_uri(bucket, key) for key in sorted(k for k in keys if k.endswith(".out"))]


def _read_scores(
    conn: Connection, files: list[str], *, joined: bool, answers: int
) -> dict[str, Any]:
    """Scores by record id (joined output), else by position across the files."""
    s3 = conn.client("s3")
    scores: dict[str, Any] = {}
    for uri in files:
        bucket, key = parse_path(uri)
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        if joined:
            scores.update(parse_joined_output(text, answers=answers))
            continue
        start = len(scores)
        predictions = parse_csv_predictions(text)
        rows = predictions.reshape(-1) if answers == 1 else predictions.reshape(-1, answers)
        for offset, value in enumerate(rows.tolist()):
            scores[str(start + offset)] = value
    return scores


def sdk_transformer(
    model_name: str,
    output_uri: str,
    *,
    batch_strategy: str = "MultiRecord",
    max_payload_mb: int = 6,
    instance_type: str | None = None,
    instance_count: int = 1,
    connection: Connection,
) -> Any:
    """The SageMaker SDK's ``Transformer`` for the batch transform :func:`run_batch_transform`
    runs, with the same model, resources, batching and output settings.

    A notebook shows it (``report.show_summary``) before the job runs; a reader can run it
    themselves with ``transformer.transform(input_uri, content_type="text/csv",
    split_type="Line", input_filter="$[1:]", join_source="Input", output_filter=...)``.

    Examples
    --------
    >>> transformer = sdk_transformer(deployment.model_name, "s3://b/out/", connection=conn)
    ... # doctest: +SKIP
    """
    from sagemaker.transformer import Transformer

    _check_transform_args("s3://checked/", output_uri, "Input", batch_strategy, max_payload_mb)
    conn = check_connection(connection)
    return Transformer(
        model_name=check_name(model_name, "model_name"),
        instance_count=instance_count,
        instance_type=instance_type or config.default_instance_type(),
        strategy=batch_strategy,
        assemble_with="Line",
        output_path=output_uri,
        accept=CSV,
        max_payload=max_payload_mb,
        sagemaker_session=conn.sagemaker_session,
    )
