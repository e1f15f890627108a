"""Finished SageMaker jobs saved and described again after a restart, without running again.

AWS keeps a training or processing job's description for good: later code reads it (a
pipeline's Lambda looks up the training job of the best registered model, the SDK's
``Estimator.attach`` reads a finished job). Each finished job is saved as the request that
created it plus its outcome (status, metrics, artifacts, times); a restore creates it through
the API with its run suppressed (:func:`mlaccel_twin.sagemaker_jobs.seam.recreating`) and puts
the outcome back. Jobs still running when the twin stopped are not saved: AWS would finish
them, the twin cannot.
"""

from __future__ import annotations

from typing import Any

from mlaccel_twin.state.api import Clients, only, pages, restore_each, tag_arg, tags_of

FINISHED = ("Completed", "Failed", "Stopped")

_TRAINING_INPUT = (
    "TrainingJobName",
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "Environment",
)
_TRAINING_OUTCOME = (
    "TrainingJobStatus",
    "SecondaryStatus",
    "FailureReason",
    "FinalMetricDataList",
    "ModelArtifacts",
    "CreationTime",
    "TrainingEndTime",
    "LastModifiedTime",
)
_PROCESSING_INPUT = (
    "ProcessingJobName",
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "StoppingCondition",
    "AppSpecification",
    "Environment",
    "NetworkConfig",
    "RoleArn",
    "ExperimentConfig",
)
_PROCESSING_OUTCOME = (
    "ProcessingJobStatus",
    "FailureReason",
    "ExitMessage",
    "CreationTime",
    "ProcessingEndTime",
    "LastModifiedTime",
)


def snapshot_jobs(client: Clients) -> dict[str, list[dict[str, Any]]]:
    """Every finished training and processing job: its request, tags and outcome."""
    sm = client("sagemaker")
    training = []
    for summary in pages(sm, "list_training_jobs", "TrainingJobSummaries"):
        if summary["TrainingJobStatus"] not in FINISHED:
            continue
        described = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        training.append(_saved(sm, described, "TrainingJobArn", _TRAINING_INPUT, _TRAINING_OUTCOME))
    processing = []
    for summary in pages(sm, "list_processing_jobs", "ProcessingJobSummaries"):
        if summary["ProcessingJobStatus"] not in FINISHED:
            continue
        described = sm.describe_processing_job(ProcessingJobName=summary["ProcessingJobName"])
        processing.append(
            _saved(sm, described, "ProcessingJobArn", _PROCESSING_INPUT, _PROCESSING_OUTCOME)
        )
    return {"training": training, "processing": processing}


def restore_jobs(client: Clients, saved: dict[str, list[dict[str, Any]]]) -> None:
    """Describe the saved jobs again, as they ended; none of them runs."""
    from mlaccel_twin.sagemaker_jobs.seam import recreating

    sm = client("sagemaker")
    outcomes = {
        job["input"].get("TrainingJobName") or job["input"].get("ProcessingJobName"): job["outcome"]
        for job in [*saved.get("training", []), *saved.get("processing", [])]
    }
    with recreating(outcomes):
        restore_each(
            "training job",
            saved.get("training", []),
            lambda j: sm.create_training_job(**j["input"], **tag_arg(j["tags"])),
        )
        restore_each(
            "processing job",
            saved.get("processing", []),
            lambda j: sm.create_processing_job(**j["input"], **tag_arg(j["tags"])),
        )


def _saved(
    sm: Any,
    described: dict[str, Any],
    arn_key: str,
    inputs: tuple[str, ...],
    outcome: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "input": only(described, inputs),
        "tags": tags_of(sm, described[arn_key]),
        "outcome": only(described, outcome),
    }
