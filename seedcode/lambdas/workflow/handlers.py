"""Lambda handlers the Step Functions workflows call between SageMaker steps.

``training_results``   the finished training job's final metrics
``compare_with_best``  the candidate against the best model already registered in its group
``endpoint_status``    whether an endpoint exists, and its status
``latest_model``       a SageMaker model from the group's latest approved (else latest) version

Each handler is a thin shell over pure functions, so the logic is tested without AWS. Only the
standard library and boto3 are used: the folder deploys as is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger(__name__)
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

DIRECTIONS = ("Minimize", "Maximize")


class BadEvent(ValueError):
    """The event misses a field or has a wrong value; the message names it."""


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def require(event: Mapping[str, Any], *names: str) -> list[Any]:
    """The event's values for ``names``, or BadEvent naming the missing ones."""
    missing = [n for n in names if event.get(n) in (None, "")]
    if missing:
        raise BadEvent(f"the event needs {', '.join(missing)}; it has {sorted(event)}")
    return [event[n] for n in names]


# ------------------------------------------------------------------------------ pure functions


def final_metrics(description: Mapping[str, Any]) -> dict[str, float]:
    """``{"validation:rmse": 1234.5, ...}`` from a DescribeTrainingJob response."""
    return {m["MetricName"]: float(m["Value"]) for m in description.get("FinalMetricDataList", [])}


def pick_metric(metrics: Mapping[str, float], name: str, job: str) -> float:
    """One metric, or BadEvent listing those the job reported."""
    if name not in metrics:
        raise BadEvent(
            f"training job {job} reported no {name!r}; it reported {sorted(metrics)} "
            "(check the estimator's metric definitions and eval_metric)"
        )
    return metrics[name]


def is_better(candidate: float, incumbent: float, direction: str) -> bool:
    """True when ``candidate`` beats ``incumbent`` in ``direction``."""
    if direction not in DIRECTIONS:
        raise BadEvent(f"Direction={direction!r} must be Minimize or Maximize")
    return candidate < incumbent if direction == "Minimize" else candidate > incumbent


def best_of(scored: Iterable[tuple[str, float]], direction: str) -> tuple[str, float] | None:
    """The best ``(package_arn, metric)`` pair, or None when there is none."""
    best: tuple[str, float] | None = None
    for arn, value in scored:
        if best is None or is_better(value, best[1], direction):
            best = (arn, value)
    return best


def comparison_summary(
    metric: str, candidate: float, best: tuple[str, float] | None, threshold: Any
) -> str:
    """The sentence a notification carries."""
    text = f"candidate {metric} = {candidate:.6g}"
    if threshold is not None:
        text += f" (threshold {threshold})"
    if best is None:
        return text + "; no registered model to compare with"
    return text + f"; best registered model {best[0]} has {metric} = {best[1]:.6g}"


def newest_package(packages: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The latest approved package, else the latest of any status."""

    def order(p: Mapping[str, Any]) -> tuple[int, str]:
        return int(p.get("ModelPackageVersion") or 0), str(p.get("CreationTime", ""))

    approved = [p for p in packages if p.get("ModelApprovalStatus") == "Approved"]
    pool = approved or [p for p in packages if p.get("ModelApprovalStatus") != "Rejected"]
    return max(pool, key=order) if pool else None


def model_name_for(package_arn: str) -> str:
    """``mlaccel-used-cars-v3`` for ``.../model-package/mlaccel-used-cars/3``."""
    group, version = package_arn.split(":model-package/")[-1].rsplit("/", 1)
    return f"{group}-v{version}"[-63:].lstrip("-")


# ------------------------------------------------------------------------------------ handlers


def _list_packages(sagemaker: Any, group: str) -> list[dict[str, Any]]:
    packages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = sagemaker.list_model_packages(
            ModelPackageGroupName=group, **({"NextToken": token} if token else {})
        )
        packages += page.get("ModelPackageSummaryList", [])
        token = page.get("NextToken")
        if not token:
            return packages


def training_results(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"TrainingJobName", "MetricName"}`` → ``{"metric", "metrics", "job", "status"}``."""
    job, metric_name = require(event, "TrainingJobName", "MetricName")
    described = _client("sagemaker").describe_training_job(TrainingJobName=job)
    metrics = final_metrics(described)
    value = pick_metric(metrics, metric_name, job)
    log.info("training job %s: %s = %s", job, metric_name, value)
    return {
        "job": job,
        "status": described["TrainingJobStatus"],
        "metric_name": metric_name,
        "metric": value,
        "metrics": metrics,
    }


def compare_with_best(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Compare a candidate's metric with the best version registered in its group.

    Event: ``ModelPackageGroupName``, ``MetricName``, ``Direction``, ``Candidate`` (its value),
    optionally ``Threshold``. Versions are scored by their training job's final metric.
    """
    group, metric, direction, candidate = require(
        event, "ModelPackageGroupName", "MetricName", "Direction", "Candidate"
    )
    sagemaker = _client("sagemaker")
    try:
        packages = _list_packages(sagemaker, group)
    except sagemaker.exceptions.ClientError:
        packages = []
    scored = []
    for summary in packages:
        described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        job = (described.get("CustomerMetadataProperties") or {}).get("training_job")
        if not job:
            continue
        metrics = final_metrics(sagemaker.describe_training_job(TrainingJobName=job))
        if metric in metrics:
            scored.append((summary["ModelPackageArn"], metrics[metric]))
    best = best_of(scored, direction)
    candidate = float(candidate)
    summary_text = comparison_summary(metric, candidate, best, event.get("Threshold"))
    return {
        "candidate": candidate,
        "previous_best": None if best is None else {"model_package": best[0], "metric": best[1]},
        "candidate_is_better": best is None or is_better(candidate, best[1], direction),
        "summary": summary_text,
    }


def endpoint_status(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"EndpointName"}`` → ``{"exists": bool, "status": "InService" | ... | "Absent"}``."""
    (name,) = require(event, "EndpointName")
    sagemaker = _client("sagemaker")
    try:
        described = sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError as error:
        if "Could not find" in str(error) or "ValidationException" in str(error):
            return {"exists": False, "status": "Absent"}
        raise
    return {
        "exists": True,
        "status": described["EndpointStatus"],
        "failure_reason": described.get("FailureReason", ""),
    }


def latest_model(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Create (once) a SageMaker model from the group's latest approved or registered version.

    Event: ``ModelPackageGroupName``, ``ExecutionRoleArn``.
    """
    group, role = require(event, "ModelPackageGroupName", "ExecutionRoleArn")
    sagemaker = _client("sagemaker")
    package = newest_package(_list_packages(sagemaker, group))
    if package is None:
        raise BadEvent(
            f"model package group {group} has no approved or pending version; register one "
            "(notebook 03) before scoring"
        )
    arn = str(package["ModelPackageArn"])
    name = model_name_for(arn)
    try:
        sagemaker.describe_model(ModelName=name)
    except sagemaker.exceptions.ClientError:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=role,
            PrimaryContainer={"ModelPackageName": arn},
        )
    return {
        "ModelName": name,
        "ModelPackageArn": arn,
        "ApprovalStatus": package.get("ModelApprovalStatus"),
    }
