"""Lineage SageMaker records by itself for jobs and endpoints, as ML Lineage Tracking does.

- A training job: a trial component ``<job>-aws-training-job`` (type ``TrainingJob``, its
  source the job's ARN), to which each input channel's S3 data (a ``DataSet`` artifact) and the
  image (``Image``) contributed; when it completes, it produced its ``model.tar.gz`` (``Model``).
- A processing job: ``<job>-aws-processing-job`` (``ProcessingJob``); its S3 inputs
  contributed, and when it completes it produced its S3 outputs (``DataSet``).
- An endpoint: an ``Endpoint`` context (its source the endpoint's ARN) associated with a
  ``ModelDeployment`` action, to which each deployed model's artifact and image contributed.

One artifact stands for one source URI, so ``predictor.endpoint_context().dataset_artifacts()``
finds the data a deployed model was trained on, and ``LineageTableVisualizer`` lists a job's
inputs and outputs. Lineage is best effort: it never fails the job or the endpoint it follows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from mlaccel_twin.lineage.graph import LineageGraph
from mlaccel_twin.lineage.store import LOCK, graph_for
from mlaccel_twin.state.store import restoring

log = logging.getLogger(__name__)

# job kind -> (trial component suffix, vertex type, source type)
_JOB_KINDS = {
    "training": ("aws-training-job", "TrainingJob", "SageMakerTrainingJob"),
    "processing": ("aws-processing-job", "ProcessingJob", "SageMakerProcessingJob"),
}


def training_started(backend: Any, request: dict[str, Any]) -> None:
    """The trial component of a training job, with its data and image contributing."""
    name = request["TrainingJobName"]
    job = backend.training_jobs[name]
    inputs = [
        source
        for channel in request.get("InputDataConfig") or []
        if (source := channel.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri"))
    ]
    image = (request.get("AlgorithmSpecification") or {}).get("TrainingImage")
    _job_started(backend, "training", name, job.arn, inputs, image)


def training_ended(backend: Any, name: str, model_uri: str | None) -> None:
    """A completed training job produced its model."""
    if model_uri:
        _job_ended(backend, "training", name, [model_uri], "Model")


def processing_started(backend: Any, request: dict[str, Any]) -> None:
    """The trial component of a processing job, with its S3 inputs contributing."""
    name = request["ProcessingJobName"]
    inputs = [
        source
        for item in request.get("ProcessingInputs") or []
        if (source := (item.get("S3Input") or {}).get("S3Uri"))
    ]
    image = (request.get("AppSpecification") or {}).get("ImageUri")
    _job_started(backend, "processing", name, backend.processing_jobs[name].arn, inputs, image)


def processing_ended(backend: Any, request: dict[str, Any]) -> None:
    """A completed processing job produced its S3 outputs."""
    outputs = [
        uri
        for item in (request.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if (uri := (item.get("S3Output") or {}).get("S3Uri"))
    ]
    _job_ended(backend, "processing", request["ProcessingJobName"], outputs, "DataSet")


def endpoint_deployed(
    backend: Any, endpoint_name: str, endpoint_arn: str, containers: Iterable[Mapping[str, Any]]
) -> None:
    """The endpoint's context, its deployment action, and the models and images deployed."""
    if restoring():  # the saved lineage comes back as it was
        return
    try:
        with LOCK:
            graph = graph_for(backend)
            context = graph.context_for(f"{endpoint_name}-endpoint", endpoint_arn, "Endpoint")
            action = graph.action_for(
                f"{endpoint_name}-deployment", endpoint_arn, "ModelDeployment"
            )
            graph.link(action, context, "AssociatedWith")
            for container in containers:
                model = container.get("ModelDataUrl")
                if model:
                    graph.link(graph.artifact_for(model, "Model"), action, "ContributedTo")
                if container.get("Image"):
                    image = graph.artifact_for(container["Image"], "Image")
                    graph.link(image, action, "ContributedTo")
    except Exception:  # lineage never fails the endpoint
        log.exception("recording the lineage of endpoint %s failed", endpoint_name)


def _component_arn(backend: Any, name: str) -> str:
    return (
        f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:"
        f"experiment-trial-component/{name}"
    )


def _job_started(
    backend: Any, kind: str, job: str, job_arn: str, inputs: list[str], image: str | None
) -> None:
    suffix, vertex_type, source_type = _JOB_KINDS[kind]
    name = f"{job}-{suffix}"
    try:
        ensure_component(backend, name)
        now = datetime.now(UTC)
        with LOCK:
            graph = graph_for(backend)
            arn = _component_arn(backend, name)
            graph.job_components[arn] = {
                "Type": vertex_type,
                "Name": name,
                "SourceArn": job_arn,
                "SourceType": source_type,
                "Created": now,
                "Modified": now,
            }
            for uri in inputs:
                graph.link(graph.artifact_for(uri, "DataSet"), arn, "ContributedTo")
            if image:
                graph.link(graph.artifact_for(image, "Image"), arn, "ContributedTo")
    except Exception:  # lineage never fails the job
        log.exception("recording the lineage of %s job %s failed", kind, job)


def _job_ended(backend: Any, kind: str, job: str, outputs: list[str], artifact_type: str) -> None:
    suffix = _JOB_KINDS[kind][0]
    arn = _component_arn(backend, f"{job}-{suffix}")
    try:
        with LOCK:
            graph = graph_for(backend)
            if arn not in graph.job_components:
                return
            graph.job_components[arn]["Modified"] = datetime.now(UTC)
            for uri in outputs:
                graph.link(arn, graph.artifact_for(uri, artifact_type), "Produced")
    except Exception:
        log.exception("recording what %s job %s produced failed", kind, job)


def ensure_component(backend: Any, name: str) -> None:
    """The job's trial component in moto's Experiments API (DescribeTrialComponent finds it)."""
    if name in backend.trial_components:
        return
    backend.create_trial_component(
        trial_component_name=name,
        trial_name=None,
        status={"PrimaryStatus": "Completed"},
        start_time=None,
        end_time=None,
        display_name=name,
        parameters=None,
        input_artifacts=None,
        output_artifacts=None,
        metadata_properties=None,
    )


def component_source(graph: LineageGraph, arn: str) -> dict[str, str] | None:
    """``Source`` of a job's trial component, as DescribeTrialComponent answers it."""
    component = graph.job_components.get(arn)
    if component is None:
        return None
    return {"SourceArn": component["SourceArn"], "SourceType": component["SourceType"]}
