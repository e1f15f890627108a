"""Score models: real-time endpoints, invocations, latency, autoscaling and batch transform.

The same calls run on the local twin and on an AWS account (``connection=mlaccel.connect(...)``):

- :func:`latest_model_package` picks the model to serve from a model package group (the latest
  approved version, else the latest registered one, saying so).
- :func:`deploy_model` creates an endpoint with data capture on, or updates it when it exists, so
  a notebook can be run again and again; :func:`delete_endpoint` removes the endpoint, its config,
  its model and its autoscaling registration, and skips what is already gone.
- :func:`predict` sends records as CSV (split into payloads SageMaker accepts) and returns one
  prediction per record; :func:`invoke_endpoint` sends any payload.
- :func:`read_captured_requests` reads what data capture recorded.
- :func:`measure_latency` times requests: p50 / p99 latency and throughput
  (:func:`plot_latency` draws them).
- :func:`register_autoscaling` registers a variant with Application Auto Scaling, target
  tracking on ``SageMakerVariantInvocationsPerInstance``.
- :func:`run_batch_transform` scores S3 files with a transform job that drops the record id
  before the model (``InputFilter="$[1:]"``), joins each prediction to its input line and keeps
  the id and the prediction (``OutputFilter="$[0,-1]"``); it returns the scores by record id.
- :func:`read_split` reads the splits the processing step writes; :func:`upload_xgboost_model`
  packages a booster as ``model.tar.gz``.

Every AWS-touching function takes a keyword-only ``connection`` (default: ``mlaccel.connect()``).
The SageMaker SDK is imported only to look up the built-in XGBoost image.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mlaccel._codecs import parse_csv_predictions, records_as_rows, records_to_csv
from mlaccel.errors import MLAccelError, MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

log = logging.getLogger(__name__)

__all__ = [
    "AutoscalingPolicy",
    "BatchTransformResult",
    "Deployment",
    "EndpointFailed",
    "InvocationResponse",
    "LabeledRows",
    "LatencyReport",
    "ModelPackageInfo",
    "ModelPackageNotFound",
    "TransformJobFailed",
    "create_model",
    "csv_payloads",
    "default_capture_uri",
    "delete_endpoint",
    "deploy_model",
    "describe_model_package",
    "invoke_endpoint",
    "latest_model_package",
    "measure_latency",
    "parse_csv_predictions",
    "parse_joined_output",
    "plot_latency",
    "predict",
    "read_captured_requests",
    "read_split",
    "records_to_csv",
    "register_autoscaling",
    "run_batch_transform",
    "summarize_latencies",
    "upload_xgboost_model",
    "wait_for_endpoint",
    "write_transform_input",
    "xgboost_image_uri",
]

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_VARIANT = "AllTraffic"
# The XGBoost built-in algorithm version the kit trains and serves.
XGBOOST_VERSION = "1.7-1"
# Where endpoints write data capture unless told otherwise: <bucket>/<prefix>/<endpoint>/...
CAPTURE_PREFIX = "data-capture"
# InvokeEndpoint accepts 6 MB; stay under it with room for the request's own overhead.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
INVOCATIONS_PER_INSTANCE = "SageMakerVariantInvocationsPerInstance"
# Tag on every model and endpoint config this module creates: an update deletes only its own.
OWNER_TAG = "mlaccel:endpoint"

_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_STAMP_SUFFIX = re.compile(r"-\d{14}-[0-9a-f]{4}$")
_SETTLING = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
_APPROVED = "Approved"


class ModelPackageNotFound(MLAccelInputError):
    """The model package group does not exist or holds no model package."""


class EndpointFailed(MLAccelError):
    """An endpoint could not be created or updated; the message holds SageMaker's reason."""


class TransformJobFailed(MLAccelError):
    """A batch transform job ended ``Failed`` or ``Stopped``; the message holds the reason."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ModelPackageInfo:
    """One registered model version, and what it serves.

    Attributes
    ----------
    arn
        ``ModelPackageArn``; pass it to :func:`deploy_model` as ``model_package``.
    group
        The model package group.
    version
        ``ModelPackageVersion`` in the group.
    approval_status
        ``Approved``, ``PendingManualApproval`` or ``Rejected``.
    image_uri, model_data_url, environment
        The package's first inference container.
    selection
        Why this version was chosen (``latest approved`` or ``latest registered...``).
    """

    arn: str
    group: str
    version: int | None
    approval_status: str
    image_uri: str
    model_data_url: str
    environment: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None
    selection: str = "latest approved"

    @property
    def approved(self) -> bool:
        return self.approval_status == _APPROVED


@dataclass(frozen=True)
class Deployment:
    """An endpoint serving a model, as :func:`deploy_model` left it.

    Attributes
    ----------
    endpoint_name, config_name, model_name, variant_name
        The SageMaker resources behind it.
    action
        ``created``, ``updated`` (an existing endpoint now serves the new config) or
        ``recreated`` (a failed endpoint was replaced).
    status
        ``EndpointStatus`` when the call returned (``InService`` after a wait).
    capture_uri
        Where data capture is written (``<capture_uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``),
        or None when capture is off.
    model_source
        The model package ARN or model artifact URL served.
    """

    endpoint_name: str
    config_name: str
    model_name: str
    variant_name: str
    action: str
    status: str
    capture_uri: str | None
    model_source: str


@dataclass(frozen=True)
class InvocationResponse:
    """What ``InvokeEndpoint`` answered."""

    body: bytes
    content_type: str
    variant: str | None = None


@dataclass(frozen=True)
class LatencyReport:
    """Latency and throughput of requests sent one after the other.

    Attributes
    ----------
    requests, rows_per_request
        How many requests were timed, and how many records each carried.
    p50_ms, p90_ms, p99_ms, mean_ms, max_ms
        Round-trip latency of one request, in milliseconds.
    requests_per_second, rows_per_second
        Throughput over the timed requests.
    samples_ms
        Every request's latency, in the order sent (for plots).
    """

    requests: int
    rows_per_request: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    requests_per_second: float
    rows_per_second: float
    samples_ms: tuple[float, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, float]:
        """The figures (not the samples) as a plain dict, for tables and ``notebooks.record``."""
        return {k: float(v) for k, v in asdict(self).items() if k != "samples_ms"}


@dataclass(frozen=True)
class AutoscalingPolicy:
    """A variant registered with Application Auto Scaling and its target-tracking policy."""

    resource_id: str
    policy_name: str
    policy_arn: str
    min_instances: int
    max_instances: int
    target_invocations_per_instance: float


@dataclass(frozen=True)
class BatchTransformResult:
    """A finished batch transform job and its scores.

    Attributes
    ----------
    job_name, status, output_uri
        The job, its final status and where its ``.out`` files are.
    scores
        Prediction by record id (the first field of each joined output line).
    output_files
        The S3 URIs of the ``.out`` files read.
    """

    job_name: str
    status: str
    output_uri: str
    scores: dict[str, float]
    output_files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- plumbing


def _connection(connection: Connection | None) -> Connection:
    if connection is not None:
        return connection
    from mlaccel._connect import connect

    return connect()


def _poll_seconds(conn: Connection) -> float:
    # The twin answers in milliseconds; a real endpoint takes minutes.
    return 0.1 if conn.is_local else 15.0


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message", exc))


def _is_missing(exc: BaseException) -> bool:
    """True for the error SageMaker / Auto Scaling give for a resource that does not exist."""
    if not hasattr(exc, "response"):
        return False
    code = _error_code(exc)
    message = _error_message(exc).lower()
    if code in {"ObjectNotFoundException", "ResourceNotFound", "ResourceNotFoundException"}:
        return True
    missing_words = ("could not find", "not found", "does not exist", "no scalable target")
    return code in {"ValidationException", "ValidationError"} and any(
        word in message for word in missing_words
    )


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise MLAccelInputError(
            f"{what}={value!r} is not a SageMaker name: use 1-63 letters, digits and hyphens, "
            "starting with a letter or digit (e.g. 'used-cars-xgboost')"
        )
    return value


def _stamped(base: str, stamp: str) -> str:
    # Names are at most 63 characters; keep the stamp whole, shorten the base.
    return f"{base[: 62 - len(stamp)].rstrip('-')}-{stamp}"


def _new_stamp() -> str:
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:4]}"


def _owner_tags(endpoint_name: str) -> list[dict[str, str]]:
    return [{"Key": OWNER_TAG, "Value": endpoint_name}]


# --------------------------------------------------------------------------- the registry


def latest_model_package(
    group: str, *, approved_only: bool = True, connection: Connection | None = None
) -> ModelPackageInfo:
    """The model package to serve from ``group``: the latest approved version.

    When no version is approved yet (the approval step has not happened), the latest
    registered version is returned instead, with a warning and ``selection`` saying so.

    Parameters
    ----------
    group
        Model package group name, e.g. ``"mlaccel-used-cars"``.
    approved_only
        Prefer approved versions (falling back as above); False takes the latest version
        whatever its status.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

    Returns
    -------
    ModelPackageInfo

    Raises
    ------
    ModelPackageNotFound
        The group does not exist or holds no model package.

    Examples
    --------
    >>> package = latest_model_package("mlaccel-used-cars", connection=conn)  # doctest: +SKIP
    >>> package.version, package.approval_status  # doctest: +SKIP
    (3, 'Approved')
    """
    if not isinstance(group, str) or not group.strip():
        raise MLAccelInputError(f"group={group!r} must name a model package group")
    conn = _connection(connection)
    client = conn.client("sagemaker")
    try:
        client.describe_model_package_group(ModelPackageGroupName=group)
    except Exception as exc:
        if _is_missing(exc):
            raise ModelPackageNotFound(
                f"model package group {group!r} does not exist; train and register a model "
                "first (notebooks/03_train_model.ipynb registers one per data product)"
            ) from exc
        raise
    summaries = _list_model_packages(client, group)
    if not summaries:
        raise ModelPackageNotFound(
            f"model package group {group!r} holds no model package; register one first "
            "(notebooks/03_train_model.ipynb)"
        )
    approved = [s for s in summaries if s.get("ModelApprovalStatus") == _APPROVED]
    if approved_only and approved:
        chosen, selection = _newest(approved), "latest approved"
    elif approved_only:
        chosen = _newest(summaries)
        selection = "latest registered (no version is approved)"
        log.warning(
            "model package group %s has no approved version; using the latest registered "
            "version %s (%s). Approve a version (update_model_package ModelApprovalStatus="
            "'Approved') to serve only approved models.",
            group,
            chosen.get("ModelPackageVersion"),
            chosen.get("ModelApprovalStatus"),
        )
    else:
        chosen, selection = _newest(summaries), "latest registered"
    return describe_model_package(
        str(chosen["ModelPackageArn"]), selection=selection, connection=conn
    )


def _list_model_packages(client: Any, group: str) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = client.list_model_packages(**kwargs)
        summaries.extend(page.get("ModelPackageSummaryList", []))
        token = page.get("NextToken")
        if not token:
            return summaries
        kwargs["NextToken"] = token


def _newest(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    def order(summary: dict[str, Any]) -> tuple[int, float]:
        created = summary.get("CreationTime")
        stamp = created.timestamp() if isinstance(created, datetime) else 0.0
        return int(summary.get("ModelPackageVersion") or 0), stamp

    return max(summaries, key=order)


def describe_model_package(
    arn: str, *, selection: str = "given", connection: Connection | None = None
) -> ModelPackageInfo:
    """What the model package ``arn`` serves (image, artifact, environment, approval).

    Examples
    --------
    >>> describe_model_package(package_arn, connection=conn).model_data_url  # doctest: +SKIP
    's3://mlaccel-local/models/used-cars/model.tar.gz'
    """
    conn = _connection(connection)
    try:
        described = conn.client("sagemaker").describe_model_package(ModelPackageName=arn)
    except Exception as exc:
        if _is_missing(exc):
            raise ModelPackageNotFound(f"model package {arn!r} does not exist") from exc
        raise
    containers = (described.get("InferenceSpecification") or {}).get("Containers") or []
    if not containers:
        raise MLAccelInputError(
            f"model package {arn} has no InferenceSpecification.Containers; register it with "
            "the image and model artifact to serve"
        )
    container = containers[0]
    return ModelPackageInfo(
        arn=str(described["ModelPackageArn"]),
        group=str(described.get("ModelPackageGroupName", "")),
        version=described.get("ModelPackageVersion"),
        approval_status=str(described.get("ModelApprovalStatus", "")),
        image_uri=str(container.get("Image", "")),
        model_data_url=str(container.get("ModelDataUrl", "")),
        environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
        created=described.get("CreationTime"),
        selection=selection,
    )


# --------------------------------------------------------------------------- models


def xgboost_image_uri(region: str, version: str = XGBOOST_VERSION) -> str:
    """The built-in XGBoost algorithm image of ``region`` (the twin serves it locally).

    Examples
    --------
    >>> xgboost_image_uri("us-east-1")  # doctest: +SKIP
    '<account>.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1'
    """
    from mlaccel._sagemaker import _import_sagemaker

    sagemaker = _import_sagemaker()
    return str(sagemaker.image_uris.retrieve("xgboost", region, version))


def create_model(
    *,
    model_package: str | ModelPackageInfo | None = None,
    model_data: str | None = None,
    image_uri: str | None = None,
    environment: Mapping[str, str] | None = None,
    name: str | None = None,
    tags: Sequence[Mapping[str, str]] | None = None,
    connection: Connection | None = None,
) -> str:
    """Create a SageMaker model from a registered model package or from a model artifact.

    Parameters
    ----------
    model_package
        A model package ARN (or :class:`ModelPackageInfo`): the model serves the package's
        container, as SageMaker resolves it.
    model_data
        Instead of a package: the ``s3://.../model.tar.gz`` to serve.
    image_uri
        Container image for ``model_data``; the built-in XGBoost image when omitted.
    environment
        Container environment (``SAGEMAKER_PROGRAM``, ...).
    name
        Model name; ``mlaccel-model-<timestamp>`` when omitted.
    tags
        Tags for the model.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

    Returns
    -------
    str
        The model name.

    Examples
    --------
    >>> create_model(model_data="s3://bucket/model.tar.gz", connection=conn)  # doctest: +SKIP
    'mlaccel-model-20240501120000-1a2b'
    """
    conn = _connection(connection)
    container = _container(conn, model_package, model_data, image_uri, environment)
    model_name = _check_name(name or _stamped("mlaccel-model", _new_stamp()), "name")
    conn.client("sagemaker").create_model(
        ModelName=model_name,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer=container,
        Tags=[dict(t) for t in tags or []],
    )
    return model_name


def _container(
    conn: Connection,
    model_package: str | ModelPackageInfo | None,
    model_data: str | None,
    image_uri: str | None,
    environment: Mapping[str, str] | None,
) -> dict[str, Any]:
    if (model_package is None) == (model_data is None):
        raise MLAccelInputError(
            "pass exactly one of model_package (a registered model package ARN) and "
            "model_data (an s3:// model.tar.gz)"
        )
    container: dict[str, Any] = {}
    if model_package is not None:
        arn = model_package.arn if isinstance(model_package, ModelPackageInfo) else model_package
        if not isinstance(arn, str) or ":model-package/" not in arn:
            raise MLAccelInputError(
                f"model_package={arn!r} is not a model package ARN "
                "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>); "
                "get one with latest_model_package(group)"
            )
        if image_uri is not None:
            raise MLAccelInputError(
                "image_uri is only for model_data; a model package names its own image"
            )
        container["ModelPackageName"] = arn
    else:
        if not isinstance(model_data, str) or not model_data.startswith("s3://"):
            raise MLAccelInputError(
                f"model_data={model_data!r} must be the s3:// URI of a model.tar.gz"
            )
        container["Image"] = image_uri or xgboost_image_uri(conn.region)
        container["ModelDataUrl"] = model_data
    if environment:
        container["Environment"] = {str(k): str(v) for k, v in environment.items()}
    return container


# --------------------------------------------------------------------------- artifacts and rows


@dataclass(frozen=True)
class LabeledRows:
    """Rows of a data split: record ids, labels and the model's features.

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


def read_split(
    uri: str,
    *,
    n_rows: int | None = None,
    connection: Connection | None = None,
) -> LabeledRows:
    """Read a data split written by the kit's processing step, from S3.

    Two layouts are read, as ``seedcode/processing/preprocess.py`` writes them:

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
        Backend to use; ``mlaccel.connect()`` when omitted.

    Examples
    --------
    >>> test = read_split("s3://bucket/features/used_cars/parquet/test.parquet", connection=conn)
    ... # doctest: +SKIP
    >>> test.features.shape, test.labels.name  # doctest: +SKIP
    ((1500, 41), 'price')
    """
    import pandas as pd

    from mlaccel._s3 import parse_path

    if n_rows is not None and (not isinstance(n_rows, int) or n_rows < 1):
        raise MLAccelInputError(f"n_rows={n_rows!r} must be a whole number >= 1 or None")
    conn = _connection(connection)
    bucket, key = parse_path(uri)
    s3 = conn.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    found = [
        item["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=key)
        for item in page.get("Contents", [])
    ]
    parquet = sorted(k for k in found if k.lower().endswith(".parquet"))
    csv_keys = sorted(k for k in found if k.lower().endswith((".csv", ".csv.gz")))
    keys = parquet or csv_keys
    if not keys:
        raise MLAccelInputError(
            f"no Parquet or CSV file at {uri}; write the splits first "
            "(notebooks/02_engineer_features.ipynb) or pass the URI of a split"
        )
    frames = []
    remaining = n_rows
    for object_key in keys:
        raw = s3.get_object(Bucket=bucket, Key=object_key)["Body"].read()
        if parquet:
            frame = pd.read_parquet(io.BytesIO(raw))
            frame = frame.head(remaining) if remaining is not None else frame
        else:
            head = raw[:4096].decode("utf-8", errors="replace").splitlines()
            frame = pd.read_csv(
                io.BytesIO(raw),
                header=0 if _looks_like_header(head) else None,
                nrows=remaining,
                compression="gzip" if object_key.endswith(".gz") else None,
            )
        frames.append(frame)
        if remaining is not None:
            remaining -= len(frame)
            if remaining <= 0:
                break
    rows = pd.concat(frames, ignore_index=True)
    if parquet:
        if rows.shape[1] < 3:
            raise MLAccelInputError(
                f"{uri} has columns {list(rows.columns)}; expected record id, label, features"
            )
        ids, rest = rows.iloc[:, 0].astype(str), rows.iloc[:, 1:]
    else:
        if rows.shape[1] < 2:
            raise MLAccelInputError(f"{uri} has one column; expected the label, then features")
        if all(isinstance(c, int) for c in rows.columns):
            rows.columns = ["label", *[f"f{i}" for i in range(rows.shape[1] - 1)]]
        ids = pd.Series([f"row-{i:06d}" for i in range(len(rows))], name="record_id")
        rest = rows
    return LabeledRows(ids=ids, labels=rest.iloc[:, 0], features=rest.iloc[:, 1:], source=uri)


def _looks_like_header(lines: list[str]) -> bool:
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


def upload_xgboost_model(
    booster: Any, destination_uri: str, *, connection: Connection | None = None
) -> str:
    """Package an XGBoost booster as SageMaker's ``model.tar.gz`` and upload it.

    The archive holds ``xgboost-model`` in XGBoost's JSON format, which the built-in XGBoost
    container (and the twin) serve.

    Returns
    -------
    str
        ``destination_uri``, to pass to :func:`deploy_model` as ``model_data``.

    Examples
    --------
    >>> upload_xgboost_model(
    ...     booster, "s3://bucket/models/used_cars/linear/model.tar.gz", connection=conn
    ... )  # doctest: +SKIP
    's3://bucket/models/used_cars/linear/model.tar.gz'
    """
    import tarfile

    from mlaccel._s3 import parse_path

    save_raw = getattr(booster, "save_raw", None)
    if not callable(save_raw):
        raise MLAccelInputError("booster must be an xgboost.Booster (use model.get_booster())")
    bucket, key = parse_path(destination_uri)
    data = bytes(save_raw("json"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _connection(connection).client("s3").put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return destination_uri


# --------------------------------------------------------------------------- endpoints


def default_capture_uri(*, connection: Connection | None = None) -> str:
    """``s3://<bucket>/data-capture``: where endpoints deployed here capture by default."""
    return _connection(connection).s3_uri(CAPTURE_PREFIX)


def deploy_model(
    endpoint_name: str,
    *,
    model_package: str | ModelPackageInfo | None = None,
    model_data: str | None = None,
    image_uri: str | None = None,
    environment: Mapping[str, str] | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    initial_instance_count: int = 1,
    variant_name: str = DEFAULT_VARIANT,
    data_capture: bool = True,
    capture_uri: str | None = None,
    sampling_percentage: int = 100,
    wait: bool = True,
    timeout_seconds: float = 3600.0,
    connection: Connection | None = None,
) -> Deployment:
    """Serve a model on a real-time endpoint: create it, or update it when it exists.

    Each call creates a new model and endpoint config (names stamped with the time); an
    existing endpoint is updated to the new config (no downtime), a ``Failed`` one is replaced.
    After an update (with ``wait``), the previous config and model are deleted when this
    function created them (tagged ``mlaccel:endpoint``); other resources are left alone.

    Parameters
    ----------
    endpoint_name
        The endpoint to create or update.
    model_package, model_data, image_uri, environment
        What to serve; see :func:`create_model`.
    instance_type, initial_instance_count, variant_name
        The production variant.
    data_capture
        Capture requests and responses (100 % by default) for monitoring.
    capture_uri
        Capture destination; ``s3://<bucket>/data-capture`` when omitted.
    sampling_percentage
        Share of requests captured, 0-100.
    wait
        Wait until the endpoint is ``InService`` (raise :class:`EndpointFailed` otherwise).
    timeout_seconds
        How long to wait.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

    Returns
    -------
    Deployment

    Examples
    --------
    >>> package = latest_model_package("mlaccel-used-cars", connection=conn)  # doctest: +SKIP
    >>> deployment = deploy_model(
    ...     "used-cars-xgboost", model_package=package, connection=conn
    ... )  # doctest: +SKIP
    >>> deployment.action, deployment.status  # doctest: +SKIP
    ('created', 'InService')
    """
    _check_name(endpoint_name, "endpoint_name")
    _check_name(variant_name, "variant_name")
    if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
        raise MLAccelInputError(
            f"initial_instance_count={initial_instance_count!r} must be a whole number >= 1"
        )
    if not 0 <= sampling_percentage <= 100:
        raise MLAccelInputError(
            f"sampling_percentage={sampling_percentage!r} must be between 0 and 100"
        )
    conn = _connection(connection)
    container = _container(conn, model_package, model_data, image_uri, environment)
    client = conn.client("sagemaker")
    destination = (capture_uri or default_capture_uri(connection=conn)).rstrip("/")
    if data_capture and not destination.startswith("s3://"):
        raise MLAccelInputError(f"capture_uri={capture_uri!r} must be an s3:// URI")

    stamp = _new_stamp()
    tags = _owner_tags(endpoint_name)
    model_name = _stamped(endpoint_name, stamp)
    config_name = _stamped(endpoint_name, stamp)
    client.create_model(
        ModelName=model_name,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer=container,
        Tags=tags,
    )
    config: dict[str, Any] = {
        "EndpointConfigName": config_name,
        "ProductionVariants": [
            {
                "VariantName": variant_name,
                "ModelName": model_name,
                "InstanceType": instance_type,
                "InitialInstanceCount": initial_instance_count,
                "InitialVariantWeight": 1.0,
            }
        ],
        "Tags": tags,
    }
    if data_capture:
        config["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": int(sampling_percentage),
            "DestinationS3Uri": destination,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {
                "CsvContentTypes": ["text/csv"],
                "JsonContentTypes": ["application/json"],
            },
        }
    client.create_endpoint_config(**config)

    current = _describe_endpoint(client, endpoint_name)
    if current is not None and current["EndpointStatus"] in _SETTLING:
        log.info("endpoint %s is %s; waiting before changing it", endpoint_name, current)
        current = _wait_until_settled(conn, endpoint_name, timeout_seconds)
    previous_config = current.get("EndpointConfigName") if current else None
    if current is None:
        action = "created"
        client.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    elif current["EndpointStatus"] == "Failed":
        # SageMaker cannot update a failed endpoint: replace it.
        action = "recreated"
        log.info("endpoint %s is Failed; deleting and creating it again", endpoint_name)
        client.delete_endpoint(EndpointName=endpoint_name)
        _wait_until_settled(conn, endpoint_name, timeout_seconds)
        client.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    else:
        action = "updated"
        client.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    log.info("endpoint %s %s with config %s", endpoint_name, action, config_name)

    status = "Creating" if action != "updated" else "Updating"
    if wait:
        described = _wait_until_settled(conn, endpoint_name, timeout_seconds)
        status = _check_deployed(endpoint_name, config_name, described)
        if previous_config and previous_config != config_name:
            _delete_owned_config(client, previous_config, endpoint_name)
    source = model_package if model_package is not None else model_data
    if isinstance(source, ModelPackageInfo):
        source = source.arn
    return Deployment(
        endpoint_name=endpoint_name,
        config_name=config_name,
        model_name=model_name,
        variant_name=variant_name,
        action=action,
        status=status,
        capture_uri=destination if data_capture else None,
        model_source=str(source),
    )


def _describe_endpoint(client: Any, endpoint_name: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_endpoint(EndpointName=endpoint_name))
    except Exception as exc:
        if _is_missing(exc):
            return None
        raise


def wait_for_endpoint(
    endpoint_name: str, *, timeout_seconds: float = 3600.0, connection: Connection | None = None
) -> str:
    """Wait until ``endpoint_name`` is ``InService``; return the status.

    Raises
    ------
    EndpointFailed
        The endpoint is ``Failed``, ``OutOfService``, or gone.

    Examples
    --------
    >>> wait_for_endpoint("used-cars-xgboost", connection=conn)  # doctest: +SKIP
    'InService'
    """
    conn = _connection(connection)
    described = _wait_until_settled(conn, endpoint_name, timeout_seconds)
    if described is None:
        raise EndpointFailed(f"endpoint {endpoint_name!r} does not exist; deploy it first")
    status = str(described["EndpointStatus"])
    if status != "InService":
        raise EndpointFailed(
            f"endpoint {endpoint_name!r} is {status}: {described.get('FailureReason', '')}"
        )
    return status


def _wait_until_settled(
    conn: Connection, endpoint_name: str, timeout_seconds: float
) -> dict[str, Any] | None:
    client = conn.client("sagemaker")
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = _describe_endpoint(client, endpoint_name)
        if described is None or described["EndpointStatus"] not in _SETTLING:
            return described
        if time.monotonic() > deadline:
            raise EndpointFailed(
                f"endpoint {endpoint_name!r} is still {described['EndpointStatus']} after "
                f"{timeout_seconds:.0f} s; check it in the console or raise timeout_seconds"
            )
        time.sleep(_poll_seconds(conn))


def _check_deployed(endpoint_name: str, config_name: str, described: dict[str, Any] | None) -> str:
    if described is None:
        raise EndpointFailed(f"endpoint {endpoint_name!r} disappeared while it was deployed")
    status = str(described["EndpointStatus"])
    reason = described.get("FailureReason") or "no reason given"
    if status != "InService":
        raise EndpointFailed(f"endpoint {endpoint_name!r} is {status}: {reason}")
    if described.get("EndpointConfigName") != config_name:
        # A failed update rolls back: the endpoint still serves the previous config.
        raise EndpointFailed(
            f"updating endpoint {endpoint_name!r} to {config_name} failed and was rolled "
            f"back to {described.get('EndpointConfigName')}: {reason}"
        )
    return status


def _delete_owned_config(client: Any, config_name: str, endpoint_name: str) -> None:
    """Delete an endpoint config and its models, if :func:`deploy_model` made them for us."""
    try:
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
        tags = client.list_tags(ResourceArn=config["EndpointConfigArn"]).get("Tags", [])
    except Exception as exc:
        if _is_missing(exc):
            return
        raise
    if {"Key": OWNER_TAG, "Value": endpoint_name} not in tags:
        return  # someone else's config: leave it
    for variant in config.get("ProductionVariants", []):
        _delete_quietly(client.delete_model, ModelName=variant["ModelName"])
    _delete_quietly(client.delete_endpoint_config, EndpointConfigName=config_name)


def _delete_quietly(delete: Any, **kwargs: str) -> bool:
    try:
        delete(**kwargs)
    except Exception as exc:
        if _is_missing(exc):
            return False
        raise
    return True


def delete_endpoint(
    endpoint_name: str,
    *,
    delete_config: bool = True,
    delete_models: bool = True,
    connection: Connection | None = None,
) -> list[str]:
    """Delete an endpoint, its endpoint config, its models and its autoscaling registration.

    Idempotent: what does not exist is skipped, so cleanup cells can always run.

    Returns
    -------
    list of str
        What was deleted, as ``kind:name``.

    Examples
    --------
    >>> delete_endpoint("used-cars-xgboost", connection=conn)  # doctest: +SKIP
    ['scalable-target:endpoint/used-cars-xgboost/variant/AllTraffic', 'endpoint:used-cars-xgboost',
     'endpoint-config:used-cars-xgboost-20240501120000-1a2b', 'model:used-cars-...']
    """
    _check_name(endpoint_name, "endpoint_name")
    conn = _connection(connection)
    client = conn.client("sagemaker")
    deleted: list[str] = []
    described = _describe_endpoint(client, endpoint_name)
    if described is None:
        return deleted
    config_name = described.get("EndpointConfigName")
    variants = [v["VariantName"] for v in described.get("ProductionVariants", [])]
    deleted += _deregister_autoscaling(conn, endpoint_name, variants)
    if _delete_quietly(client.delete_endpoint, EndpointName=endpoint_name):
        deleted.append(f"endpoint:{endpoint_name}")
    if not config_name or not delete_config:
        return deleted
    try:
        config = client.describe_endpoint_config(EndpointConfigName=config_name)
    except Exception as exc:
        if _is_missing(exc):
            return deleted
        raise
    if delete_models:
        for variant in config.get("ProductionVariants", []):
            if _delete_quietly(client.delete_model, ModelName=variant["ModelName"]):
                deleted.append(f"model:{variant['ModelName']}")
    if _delete_quietly(client.delete_endpoint_config, EndpointConfigName=config_name):
        deleted.append(f"endpoint-config:{config_name}")
    log.info("deleted %s", ", ".join(deleted))
    return deleted


# --------------------------------------------------------------------------- invoking


def invoke_endpoint(
    endpoint_name: str,
    body: bytes | str,
    *,
    content_type: str = "text/csv",
    accept: str = "text/csv",
    target_variant: str | None = None,
    inference_id: str | None = None,
    custom_attributes: str | None = None,
    connection: Connection | None = None,
) -> InvocationResponse:
    """Send one payload to an endpoint (``sagemaker-runtime InvokeEndpoint``).

    Examples
    --------
    >>> invoke_endpoint("used-cars-xgboost", "3,45000,1\\n", connection=conn).body  # doctest: +SKIP
    b'12873.5\\n'
    """
    conn = _connection(connection)
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "Body": body,
        "ContentType": content_type,
        "Accept": accept,
    }
    if target_variant:
        kwargs["TargetVariant"] = target_variant
    if inference_id:
        kwargs["InferenceId"] = inference_id
    if custom_attributes:
        kwargs["CustomAttributes"] = custom_attributes
    answer = conn.client("sagemaker-runtime").invoke_endpoint(**kwargs)
    return InvocationResponse(
        body=answer["Body"].read(),
        content_type=str(answer.get("ContentType", "")),
        variant=answer.get("InvokedProductionVariant"),
    )


def csv_payloads(records: Any, *, max_bytes: int = MAX_REQUEST_BYTES) -> Iterator[str]:
    """Split records into CSV payloads of at most ``max_bytes`` each, in order.

    Examples
    --------
    >>> list(csv_payloads([[1, 2], [3, 4]], max_bytes=4))
    ['1,2\\n', '3,4\\n']
    """
    payload: list[str] = []
    size = 0
    for line in records_to_csv(records).splitlines(keepends=True):
        line_size = len(line.encode())
        if line_size > max_bytes:
            raise MLAccelInputError(
                f"one record is {line_size} bytes, more than the {max_bytes} a request carries"
            )
        if payload and size + line_size > max_bytes:
            yield "".join(payload)
            payload, size = [], 0
        payload.append(line)
        size += line_size
    if payload:
        yield "".join(payload)


def predict(
    endpoint_name: str,
    records: Any,
    *,
    target_variant: str | None = None,
    inference_id: str | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    connection: Connection | None = None,
) -> np.ndarray:
    """Predictions of an endpoint for one record or a batch, sent as CSV.

    Large batches are split into requests under SageMaker's 6 MB limit.

    Parameters
    ----------
    endpoint_name
        The endpoint.
    records
        One record (a flat list of feature values) or many (2-D array, list of lists or a
        DataFrame of the feature columns, in training order, without label or id).
    target_variant, inference_id
        Passed to ``InvokeEndpoint`` (``inference_id`` shows in data capture).
    max_request_bytes
        Largest CSV payload per request.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

    Returns
    -------
    numpy.ndarray
        One prediction per record (2-D when the model answers several values per record).

    Examples
    --------
    >>> predict("used-cars-xgboost", [[3, 45000, 1], [7, 98000, 0]], connection=conn)
    ... # doctest: +SKIP
    array([12873.5,  6120.25])
    """
    conn = _connection(connection)
    parts = [
        parse_csv_predictions(
            invoke_endpoint(
                endpoint_name,
                payload,
                target_variant=target_variant,
                inference_id=inference_id,
                connection=conn,
            ).body,
            n_records=payload.count("\n"),
        )
        for payload in csv_payloads(records, max_bytes=max_request_bytes)
    ]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def predict_each(
    endpoint_name: str,
    records: Any,
    inference_ids: Sequence[str],
    *,
    connection: Connection | None = None,
) -> np.ndarray:
    """One request per record, each with its inference id, as applications whose labels arrive
    later call an endpoint: Model Monitor joins the ground truth to the capture by that id."""
    rows = records_as_rows(records)
    if len(rows) != len(inference_ids):
        raise MLAccelInputError(
            f"{len(rows)} records but {len(inference_ids)} inference_ids: pass one id per record"
        )
    conn = _connection(connection)
    return np.concatenate(
        [
            predict(endpoint_name, [row], inference_id=str(i), connection=conn)
            for row, i in zip(rows, inference_ids, strict=True)
        ]
    )


# --------------------------------------------------------------------------- latency


def summarize_latencies(durations_s: Sequence[float], rows_per_request: int) -> LatencyReport:
    """Percentiles and throughput of request durations (seconds), sent one after the other.

    Examples
    --------
    >>> report = summarize_latencies([0.01, 0.02, 0.03, 0.04], rows_per_request=10)
    >>> report.p50_ms, round(report.rows_per_second)
    (25.0, 400)
    """
    values = np.asarray(list(durations_s), dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise MLAccelInputError("durations_s must be a non-empty list of non-negative seconds")
    total = float(values.sum())
    milliseconds = values * 1000.0
    requests_per_second = values.size / total if total > 0 else math.inf
    return LatencyReport(
        requests=int(values.size),
        rows_per_request=int(rows_per_request),
        p50_ms=float(np.percentile(milliseconds, 50)),
        p90_ms=float(np.percentile(milliseconds, 90)),
        p99_ms=float(np.percentile(milliseconds, 99)),
        mean_ms=float(milliseconds.mean()),
        max_ms=float(milliseconds.max()),
        requests_per_second=float(requests_per_second),
        rows_per_second=float(requests_per_second * rows_per_request),
        samples_ms=tuple(float(v) for v in milliseconds),
    )


def measure_latency(
    endpoint_name: str,
    records: Any,
    *,
    n_requests: int = 100,
    rows_per_request: int = 1,
    warmup_requests: int = 3,
    progress: bool = True,
    connection: Connection | None = None,
) -> LatencyReport:
    """Time ``n_requests`` CSV requests of ``rows_per_request`` records each, one at a time.

    Payloads are cut from ``records`` in turn (cycling when there are fewer records than
    needed); ``warmup_requests`` untimed requests go first. Latency is the client's round trip
    through ``InvokeEndpoint``, as an application calling the endpoint sees it.

    Returns
    -------
    LatencyReport
        p50 / p90 / p99 latency and throughput (requests and rows per second).

    Examples
    --------
    >>> report = measure_latency("used-cars-xgboost", features, connection=conn)  # doctest: +SKIP
    >>> round(report.p50_ms, 1), round(report.p99_ms, 1)  # doctest: +SKIP
    (2.1, 4.8)
    """
    for name, value, low in (
        ("n_requests", n_requests, 1),
        ("rows_per_request", rows_per_request, 1),
        ("warmup_requests", warmup_requests, 0),
    ):
        if not isinstance(value, int) or value < low:
            raise MLAccelInputError(f"{name}={value!r} must be a whole number >= {low}")
    conn = _connection(connection)
    lines = records_to_csv(records).splitlines(keepends=True)
    # A few distinct payloads, cut from the records in turn, are enough to vary the requests.
    distinct = max(1, min(n_requests, 64, math.ceil(len(lines) / rows_per_request)))
    payloads = [
        "".join(lines[(start * rows_per_request + i) % len(lines)] for i in range(rows_per_request))
        for start in range(distinct)
    ]
    runtime = conn.client("sagemaker-runtime")

    def send(payload: str) -> None:
        runtime.invoke_endpoint(
            EndpointName=endpoint_name, Body=payload, ContentType="text/csv", Accept="text/csv"
        )["Body"].read()

    for i in range(warmup_requests):
        send(payloads[i % len(payloads)])
    durations = []
    for i in _progress(range(n_requests), progress, f"invoking {endpoint_name}"):
        payload = payloads[i % len(payloads)]
        started = time.perf_counter()
        send(payload)
        durations.append(time.perf_counter() - started)
    return summarize_latencies(durations, rows_per_request)


def _progress(items: range, enabled: bool, description: str) -> Iterable[int]:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    bar: Iterable[int] = tqdm(items, desc=description, unit="request", leave=False)
    return bar


def plot_latency(report: LatencyReport, *, title: str = "") -> Any:
    """A histogram of a report's request latencies, with its p50 and p99 marked.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure = plot_latency(summarize_latencies([0.002, 0.003, 0.004], 1), title="demo")
    >>> [text.get_text() for text in figure.axes[0].texts]
    ['p50 3.0 ms', 'p99 4.0 ms']
    """
    if not report.samples_ms:
        raise MLAccelInputError("report has no samples; build it with measure_latency")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3), layout="constrained")
    axes = figure.subplots()
    axes.hist(report.samples_ms, bins=30, color="#4C72B0")
    top = axes.get_ylim()[1]
    for label, value in (("p50", report.p50_ms), ("p99", report.p99_ms)):
        axes.axvline(value, color="#C44E52", linestyle="--")
        axes.text(
            value,
            top * 0.95,
            f"{label} {value:.1f} ms",
            rotation=90,
            va="top",
            ha="right",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    rows = "one record" if report.rows_per_request == 1 else f"{report.rows_per_request} rows"
    axes.set(xlabel=f"latency of one request of {rows} (ms)", ylabel="requests")
    axes.set_title(title or f"{report.requests} requests")
    return figure


# --------------------------------------------------------------------------- autoscaling


def register_autoscaling(
    endpoint_name: str,
    variant_name: str = DEFAULT_VARIANT,
    *,
    min_instances: int = 1,
    max_instances: int = 2,
    target_invocations_per_instance: float = 70.0,
    scale_in_cooldown_seconds: int = 300,
    scale_out_cooldown_seconds: int = 60,
    connection: Connection | None = None,
) -> AutoscalingPolicy:
    """Scale an endpoint variant with traffic: target tracking on invocations per instance.

    Registers the variant's ``DesiredInstanceCount`` as a scalable target and puts a
    target-tracking policy on ``SageMakerVariantInvocationsPerInstance`` (requests per minute
    per instance). Calling it again updates both.

    Parameters
    ----------
    endpoint_name, variant_name
        The variant to scale; the endpoint must exist.
    min_instances, max_instances
        Bounds of the instance count.
    target_invocations_per_instance
        Requests per minute one instance should serve; more scales out, fewer scales in.
    scale_in_cooldown_seconds, scale_out_cooldown_seconds
        Pauses between scaling actions.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

    Examples
    --------
    >>> register_autoscaling(
    ...     "used-cars-xgboost", "AllTraffic", min_instances=1, max_instances=4,
    ...     target_invocations_per_instance=100, connection=conn,
    ... ).resource_id  # doctest: +SKIP
    'endpoint/used-cars-xgboost/variant/AllTraffic'
    """
    if not isinstance(min_instances, int) or not isinstance(max_instances, int):
        raise MLAccelInputError("min_instances and max_instances must be whole numbers")
    if not 1 <= min_instances <= max_instances:
        raise MLAccelInputError(
            f"min_instances={min_instances} and max_instances={max_instances} must satisfy "
            "1 <= min_instances <= max_instances"
        )
    if not target_invocations_per_instance > 0:
        raise MLAccelInputError(
            f"target_invocations_per_instance={target_invocations_per_instance!r} must be > 0"
        )
    conn = _connection(connection)
    described = _describe_endpoint(conn.client("sagemaker"), endpoint_name)
    if described is None:
        raise MLAccelInputError(
            f"endpoint {endpoint_name!r} does not exist; deploy it before registering autoscaling"
        )
    variants = [v["VariantName"] for v in described.get("ProductionVariants", [])]
    if variants and variant_name not in variants:
        raise MLAccelInputError(
            f"variant_name={variant_name!r} is not a variant of {endpoint_name!r}; "
            f"use one of {variants}"
        )
    scaling = conn.client("application-autoscaling")
    resource_id = f"endpoint/{endpoint_name}/variant/{variant_name}"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=min_instances,
        MaxCapacity=max_instances,
    )
    policy_name = f"{endpoint_name}-{variant_name}-invocations"
    policy = scaling.put_scaling_policy(
        PolicyName=policy_name,
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(target_invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": INVOCATIONS_PER_INSTANCE},
            "ScaleInCooldown": int(scale_in_cooldown_seconds),
            "ScaleOutCooldown": int(scale_out_cooldown_seconds),
        },
    )
    return AutoscalingPolicy(
        resource_id=resource_id,
        policy_name=policy_name,
        policy_arn=str(policy.get("PolicyARN", "")),
        min_instances=min_instances,
        max_instances=max_instances,
        target_invocations_per_instance=float(target_invocations_per_instance),
    )


def _deregister_autoscaling(
    conn: Connection, endpoint_name: str, variants: Sequence[str]
) -> list[str]:
    # A scalable target must go before its endpoint; its policies go with it.
    scaling = conn.client("application-autoscaling")
    removed = []
    for variant in variants:
        resource_id = f"endpoint/{endpoint_name}/variant/{variant}"
        try:
            policies = scaling.describe_scaling_policies(
                ServiceNamespace="sagemaker", ResourceId=resource_id
            ).get("ScalingPolicies", [])
            for policy in policies:
                _delete_quietly(
                    scaling.delete_scaling_policy,
                    PolicyName=policy["PolicyName"],
                    ServiceNamespace="sagemaker",
                    ResourceId=resource_id,
                    ScalableDimension=SCALABLE_DIMENSION,
                )
            if _delete_quietly(
                scaling.deregister_scalable_target,
                ServiceNamespace="sagemaker",
                ResourceId=resource_id,
                ScalableDimension=SCALABLE_DIMENSION,
            ):
                removed.append(f"scalable-target:{resource_id}")
        except Exception as exc:
            if "AccessDenied" not in _error_code(exc):
                raise
            # A role without Auto Scaling rights can still delete the endpoint itself.
            log.warning("cannot check autoscaling of %s: %s", resource_id, _error_message(exc))
    return removed


# --------------------------------------------------------------------------- batch transform


def write_transform_input(
    frame: Any,
    destination_uri: str,
    *,
    id_column: str,
    feature_columns: Sequence[str],
    connection: Connection | None = None,
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
        Backend to use; ``mlaccel.connect()`` when omitted.

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
    from mlaccel._s3 import parse_path

    columns = [id_column, *feature_columns]
    missing = [c for c in columns if c not in getattr(frame, "columns", [])]
    if missing:
        raise MLAccelInputError(
            f"frame has no column(s) {missing}; it has {list(getattr(frame, 'columns', []))}"
        )
    ids = frame[id_column].astype(str)
    if ids.str.contains(",").any():
        raise MLAccelInputError(f"{id_column} values must not contain commas (CSV records)")
    if ids.duplicated().any():
        raise MLAccelInputError(
            f"{id_column} has duplicate values; scores are keyed by id, so ids must be unique"
        )
    if len(frame) == 0:
        raise MLAccelInputError("frame has no rows; there is nothing to score")
    bucket, key = parse_path(destination_uri)
    body = records_to_csv(frame[columns].to_numpy(dtype=object))
    conn = _connection(connection)
    conn.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
    return destination_uri


def parse_joined_output(text: str, *, id_field: int = 0, score_field: int = -1) -> dict[str, float]:
    """Scores by record id from a joined transform output (CSV lines ``id, ..., score``).

    Examples
    --------
    >>> parse_joined_output("car-1,12873.5\\ncar-2,6120.25\\n")
    {'car-1': 12873.5, 'car-2': 6120.25}
    """
    scores: dict[str, float] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row:
            continue
        try:
            scores[row[id_field]] = float(row[score_field])
        except (IndexError, ValueError) as exc:
            raise MLAccelError(
                f"transform output line {number} {','.join(row)[:80]!r} is not 'id,...,score': "
                f"{exc}"
            ) from exc
    return scores


def run_batch_transform(
    model_name: str,
    input_uri: str,
    output_uri: str,
    *,
    job_name: str | None = None,
    content_type: str = "text/csv",
    input_filter: str | None = "$[1:]",
    join_source: str = "Input",
    output_filter: str | None = "$[0,-1]",
    batch_strategy: str = "MultiRecord",
    max_payload_mb: int = 6,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    wait: bool = True,
    timeout_seconds: float = 3600.0,
    connection: Connection | None = None,
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
        The job's data processing and batching.
    instance_type, instance_count
        Transform resources.
    wait
        Wait for the job and read the scores (else ``scores`` is empty and ``status`` is the
        status at submission).
    timeout_seconds
        How long to wait.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

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
    from mlaccel._s3 import parse_path

    for name, uri in (("input_uri", input_uri), ("output_uri", output_uri)):
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise MLAccelInputError(f"{name}={uri!r} must be an s3:// URI")
    if join_source not in {"Input", "None"}:
        raise MLAccelInputError(f"join_source={join_source!r} must be 'Input' or 'None'")
    if batch_strategy not in {"MultiRecord", "SingleRecord"}:
        raise MLAccelInputError(
            f"batch_strategy={batch_strategy!r} must be 'MultiRecord' or 'SingleRecord'"
        )
    if not isinstance(max_payload_mb, int) or not 1 <= max_payload_mb <= 100:
        raise MLAccelInputError(f"max_payload_mb={max_payload_mb!r} must be 1-100 (MB)")
    conn = _connection(connection)
    client = conn.client("sagemaker")
    # A model made by deploy_model is stamped already: stamp its base name, not the stamp.
    base = _STAMP_SUFFIX.sub("", model_name) or model_name
    name = _check_name(job_name or _stamped(base, _new_stamp()), "job_name")
    data_processing: dict[str, str] = {"JoinSource": join_source}
    if input_filter:
        data_processing["InputFilter"] = input_filter
    if output_filter:
        data_processing["OutputFilter"] = output_filter
    client.create_transform_job(
        TransformJobName=name,
        ModelName=model_name,
        BatchStrategy=batch_strategy,
        MaxPayloadInMB=max_payload_mb,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": output_uri, "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": instance_type, "InstanceCount": instance_count},
        DataProcessing=data_processing,
    )
    log.info("transform job %s started on %s", name, model_name)
    if not wait:
        status = client.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
        return BatchTransformResult(name, str(status), output_uri, {})
    described = _wait_for_transform(conn, name, timeout_seconds)
    status = str(described["TransformJobStatus"])
    if status != "Completed":
        raise TransformJobFailed(
            f"transform job {name} ended {status}: {described.get('FailureReason', 'no reason')}"
        )
    bucket, prefix = parse_path(output_uri)
    files = _output_files(conn, bucket, prefix.rstrip("/") + "/" if prefix else "")
    scores: dict[str, float] = {}
    s3 = conn.client("s3")
    for key in files:
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        if join_source == "Input":
            scores.update(parse_joined_output(text))
        else:
            start = len(scores)
            for offset, value in enumerate(parse_csv_predictions(text).reshape(-1).tolist()):
                scores[str(start + offset)] = float(value)
    return BatchTransformResult(
        name, status, output_uri, scores, [f"s3://{bucket}/{key}" for key in files]
    )


def _wait_for_transform(conn: Connection, name: str, timeout_seconds: float) -> dict[str, Any]:
    client = conn.client("sagemaker")
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = dict(client.describe_transform_job(TransformJobName=name))
        if described["TransformJobStatus"] not in {"InProgress", "Stopping"}:
            return described
        if time.monotonic() > deadline:
            raise TransformJobFailed(
                f"transform job {name} is still {described['TransformJobStatus']} after "
                f"{timeout_seconds:.0f} s"
            )
        time.sleep(_poll_seconds(conn) if conn.is_local else 10.0)


def _output_files(conn: Connection, bucket: str, prefix: str) -> list[str]:
    paginator = conn.client("s3").get_paginator("list_objects_v2")
    keys = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".out")]
    return sorted(keys)


# --------------------------------------------------------------------------- data capture


def read_captured_requests(
    endpoint_name: str,
    *,
    capture_uri: str | None = None,
    feature_names: Sequence[str] | None = None,
    since: datetime | str | None = None,
    min_records: int = 1,
    timeout_seconds: float = 60.0,
    connection: Connection | None = None,
) -> Any:
    """The endpoint's captured requests and responses, as a DataFrame (one row per record).

    Endpoints write capture files a little after the requests (seconds on the twin, minutes on
    AWS), so this waits until ``min_records`` rows can be read or ``timeout_seconds`` pass.

    Parameters
    ----------
    endpoint_name
        The endpoint.
    capture_uri
        The capture destination (``Deployment.capture_uri``); the default one when omitted.
    feature_names
        Names of the positional fields: inputs first, then outputs.
    since
        Keep requests made at or after this time (capture files of earlier runs stay in S3);
        capture times have whole seconds, so it is rounded down to the second.
    min_records
        Rows to wait for.
    timeout_seconds
        How long to wait.
    connection
        Backend to use; ``mlaccel.connect()`` when omitted.

    Returns
    -------
    pandas.DataFrame
        Values as text, with ``eventId`` and ``inferenceTime``.

    Examples
    --------
    >>> read_captured_requests("used-cars-xgboost", connection=conn).shape  # doctest: +SKIP
    (12, 9)
    """
    from mlaccel.monitor import read_capture

    conn = _connection(connection)
    base = (capture_uri or default_capture_uri(connection=conn)).rstrip("/")
    source = f"{base}/{endpoint_name}/"
    if isinstance(since, datetime):
        since = (since if since.tzinfo else since.replace(tzinfo=UTC)).replace(microsecond=0)
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            frame = read_capture(
                source,
                feature_names=feature_names,
                start_time=since,
                include_metadata=True,
                boto3_session=conn.boto3_session,
            )
        except MLAccelInputError:
            frame = None  # no capture file yet
        if frame is not None and len(frame) >= min_records:
            return frame
        if time.monotonic() > deadline:
            found = 0 if frame is None else len(frame)
            raise MLAccelError(
                f"found {found} captured record(s) of {endpoint_name} under {source} after "
                f"{timeout_seconds:.0f} s, expected {min_records}; check that the endpoint "
                "config enables data capture and that requests were sent"
            )
        time.sleep(0.5 if conn.is_local else 30.0)
