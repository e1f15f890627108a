"""Score models: real-time endpoints, invocations, latency, autoscaling and batch transform.

The same calls run on the local twin and on an AWS account; every function that reaches AWS
takes a required keyword-only ``connection`` (``mlaccel.connect(...)``) and waits as that
connection's :class:`~mlaccel.config.WaitPolicy` says.

- :func:`latest_model_package` picks the model to serve from a model package group (the latest
  approved version, else the latest registered one, saying so).
- :func:`deploy_model` creates an endpoint with data capture on, or updates it when it exists, so
  a notebook can be run again and again; :func:`delete_endpoint` removes the endpoint, its config,
  its model and its autoscaling registration, and skips what is already gone.
- :func:`predict` sends records as CSV (split into payloads SageMaker accepts) and returns one
  prediction per record; :func:`predict_each` sends one request per record with its inference
  id; :func:`invoke_endpoint` sends any payload.
- :func:`read_captured_requests` reads what data capture recorded.
- :func:`measure_latency` times requests: p50 / p99 latency and throughput
  (:func:`plot_latency` draws them).
- :func:`register_autoscaling` registers a variant with Application Auto Scaling, target
  tracking on ``SageMakerVariantInvocationsPerInstance``.
- :func:`run_batch_transform` scores S3 files with a transform job that drops the record id
  before the model (``InputFilter="$[1:]"``), joins each prediction to its input line and keeps
  the id and the prediction (``OutputFilter="$[0,-1]"``); it returns the scores by record id.
- :func:`read_labeled_rows` reads model-ready labelled rows (label first) that the processing
  step writes; :func:`upload_xgboost_model` packages a booster as ``model.tar.gz``.

The SageMaker SDK is imported only to look up the built-in XGBoost image.
"""

from __future__ import annotations

from mlaccel._codecs import parse_csv_predictions, records_to_csv
from mlaccel.errors import EndpointFailed, ModelPackageNotFound, TransformJobFailed
from mlaccel.inference._autoscaling import AutoscalingPolicy, register_autoscaling
from mlaccel.inference._batch_transform import (
    BatchTransformResult,
    answers_filter,
    parse_joined_output,
    run_batch_transform,
    sdk_transformer,
    write_transform_input,
)
from mlaccel.inference._capture import (
    default_capture_uri,
    read_captured_requests,
    read_ground_truth,
)
from mlaccel.inference._endpoints import (
    Deployment,
    delete_endpoint,
    deploy_model,
    wait_for_endpoint,
)
from mlaccel.inference._invoke import (
    InvocationResponse,
    answers_frame,
    csv_payloads,
    invoke_endpoint,
    predict,
    predict_each,
)
from mlaccel.inference._labeled_rows import LabeledRows, read_labeled_rows
from mlaccel.inference._latency import (
    LatencyReport,
    measure_latency,
    plot_latency,
    summarize_latencies,
)
from mlaccel.inference._models import (
    create_model,
    sdk_model,
    upload_xgboost_model,
    xgboost_image_uri,
)
from mlaccel.inference._readings import (
    CHECK_MEANINGS,
    drift_figure,
    drift_reading,
    latency_reading,
    quality_reading,
    quality_violations_reading,
    violations_table,
)
from mlaccel.inference._registry import (
    ModelPackageInfo,
    describe_model_package,
    latest_model_package,
)

__all__ = [
    "CHECK_MEANINGS",
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
    "answers_filter",
    "answers_frame",
    "create_model",
    "csv_payloads",
    "default_capture_uri",
    "delete_endpoint",
    "deploy_model",
    "describe_model_package",
    "drift_figure",
    "drift_reading",
    "invoke_endpoint",
    "latency_reading",
    "latest_model_package",
    "measure_latency",
    "parse_csv_predictions",
    "parse_joined_output",
    "plot_latency",
    "predict",
    "predict_each",
    "quality_reading",
    "quality_violations_reading",
    "read_captured_requests",
    "read_ground_truth",
    "read_labeled_rows",
    "records_to_csv",
    "register_autoscaling",
    "run_batch_transform",
    "sdk_model",
    "sdk_transformer",
    "summarize_latencies",
    "upload_xgboost_model",
    "violations_table",
    "wait_for_endpoint",
    "write_transform_input",
    "xgboost_image_uri",
]
