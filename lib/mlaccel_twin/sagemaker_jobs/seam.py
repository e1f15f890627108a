"""Seam: SageMaker training, processing and tuning jobs really run on the twin.

moto records these jobs as ``Completed`` at once and runs nothing (and replaces a training job's
metric definitions with a test value). Here the Create* API actions keep the request as sent,
leave the job ``InProgress`` and run it in the background with
:mod:`mlaccel_twin.sagemaker_jobs.engine`;
the job ends ``Completed`` or ``Failed`` with ``FailureReason``, its log lines in CloudWatch
Logs and its metrics in ``FinalMetricDataList``. ListTrainingJobsForHyperParameterTuningJob,
which moto lacks, is added. Written for moto 5.2.5; :func:`check_seams` fails loudly when the
internals used here change.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin.job_log import CloudWatchJobLog
from mlaccel_twin.sagemaker_jobs import engine as local_jobs
from mlaccel_twin.seams import fail_if_broken, missing_attributes

log = logging.getLogger(__name__)

TRAINING_LOGS = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOGS = "/aws/sagemaker/ProcessingJobs"
# Which tuning job each trial belongs to: (account, region, tuning job) -> trial names.
_trials: dict[tuple[str, str, str], list[str]] = {}
_trials_lock = threading.Lock()


def check_seams() -> None:
    """Raise when moto's SageMaker internals no longer have what this seam relies on."""
    from moto.sagemaker import models, responses

    needed = [
        (responses.SageMakerResponse, "create_training_job"),
        (responses.SageMakerResponse, "create_processing_job"),
        (responses.SageMakerResponse, "create_hyper_parameter_tuning_job"),
        (responses.SageMakerResponse, "sagemaker_backend"),
        (models.SageMakerModelBackend, "describe_training_job"),
        (models.FakeTrainingJob, "response_object"),
        (models.FakeProcessingJob, "response_object"),
    ]
    fail_if_broken("sagemaker_jobs", missing_attributes(needed))


def install(runtime: TwinRuntime) -> None:
    from moto.sagemaker.responses import SageMakerResponse

    if getattr(SageMakerResponse.create_training_job, "_mlaccel_seam", False):
        return
    check_seams()
    for action, launch in (
        ("create_training_job", _launch_training),
        ("create_processing_job", _launch_processing),
        ("create_hyper_parameter_tuning_job", _launch_tuning),
    ):
        wrapped = _wrap(getattr(SageMakerResponse, action), launch)
        wrapped._mlaccel_seam = True  # type: ignore[attr-defined]
        setattr(SageMakerResponse, action, wrapped)
    SageMakerResponse.list_training_jobs_for_hyper_parameter_tuning_job = _list_trials  # type: ignore[attr-defined]


def _wrap(original: Callable[..., Any], launch: Callable[..., None]) -> Callable[..., Any]:
    def action(self: Any) -> Any:
        request = json.loads(self.body or "{}")  # the request as the client sent it
        result = original(self)
        launch(self.sagemaker_backend, request)
        return result

    return action


def _launch_training(backend: Any, request: dict[str, Any], on_done: Any = None) -> None:
    job = backend.training_jobs[request["TrainingJobName"]]
    definitions = request.get("AlgorithmSpecification", {}).get("MetricDefinitions")
    job.algorithm_specification["MetricDefinitions"] = definitions or []
    if not definitions:
        del job.algorithm_specification["MetricDefinitions"]
    job.training_job_status = "InProgress"
    job.secondary_status = "Starting"
    job.final_metric_data_list = []
    job.training_end_time = None
    job.model_artifacts = None
    runtime = active_runtime()
    runtime.submit(_run_training, runtime, job, request, on_done)


def _run_training(runtime: TwinRuntime, job: Any, request: dict[str, Any], on_done: Any) -> None:
    from moto.core.utils import utcnow

    name = request["TrainingJobName"]
    try:
        job.secondary_status = "Training"
        stream = CloudWatchJobLog(
            runtime.client("logs"), TRAINING_LOGS, f"{name}/algo-1-{int(time.time())}"
        )
        outcome = local_jobs.run_training(runtime, request, stream)
    except Exception as exc:  # a job always ends with a status
        log.exception("training job %s crashed", name)
        outcome = local_jobs.TrainingOutcome("Failed", f"InternalServerError: {exc}", {})
    now = utcnow()
    job.final_metric_data_list = [
        {"MetricName": k, "Value": v, "Timestamp": now} for k, v in outcome.metrics.items()
    ]
    if outcome.status == "Completed":
        output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        job.model_artifacts = {"S3ModelArtifacts": f"{output}/{name}/output/model.tar.gz"}
    else:
        job.failure_reason = outcome.reason
    job.training_end_time = job.last_modified_time = now
    job.secondary_status = outcome.status
    job.training_job_status = outcome.status
    if on_done is not None:
        on_done()


def _launch_processing(backend: Any, request: dict[str, Any]) -> None:
    job = backend.processing_jobs[request["ProcessingJobName"]]
    job.processing_job_status = "InProgress"
    job.processing_end_time = None
    if request.get("Environment"):
        job.environment = request["Environment"]
    runtime = active_runtime()
    runtime.submit(_run_processing, runtime, job, request)


def _run_processing(runtime: TwinRuntime, job: Any, request: dict[str, Any]) -> None:
    from moto.core.utils import utcnow

    name = request["ProcessingJobName"]
    try:
        stream = CloudWatchJobLog(
            runtime.client("logs"), PROCESSING_LOGS, f"{name}/algo-1-{int(time.time())}"
        )
        status, reason = local_jobs.run_processing(runtime, request, stream)
    except Exception as exc:
        log.exception("processing job %s crashed", name)
        status, reason = "Failed", f"InternalServerError: {exc}"
    if reason:
        job.failure_reason = reason
        job.exit_message = reason
    job.processing_end_time = job.last_modified_time = utcnow()
    job.processing_job_status = status


def _launch_tuning(backend: Any, request: dict[str, Any]) -> None:
    name = request["HyperParameterTuningJobName"]
    job = backend.hyper_parameter_tuning_jobs[name]
    job.hyper_parameter_tuning_job_status = "InProgress"
    job.hyper_parameter_tuning_end_time = None
    job.best_training_job = None
    job.training_job_status_counters = dict.fromkeys(
        ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0
    )
    job.objective_status_counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    key = (backend.account_id, backend.region_name, name)
    with _trials_lock:
        _trials[key] = []
    runtime = active_runtime()
    threading.Thread(
        target=_run_tuning,
        args=(runtime, backend, job, request, key),
        name=f"tuning-{name}",
        daemon=True,
    ).start()


def _run_tuning(
    runtime: TwinRuntime, backend: Any, job: Any, request: dict[str, Any], key: tuple[str, str, str]
) -> None:
    from moto.core.utils import utcnow

    name = request["HyperParameterTuningJobName"]
    config = request["HyperParameterTuningJobConfig"]
    definition = request.get("TrainingJobDefinition") or request["TrainingJobDefinitions"][0]
    limits = config.get("ResourceLimits", {})
    total = int(limits.get("MaxNumberOfTrainingJobs", 1))
    parallel = max(1, min(int(limits.get("MaxParallelTrainingJobs", 1)), 2, total))
    objective = config["HyperParameterTuningJobObjective"]
    ranges = config.get("ParameterRanges", {})
    samples = (
        local_jobs.grid(ranges)[:total]
        if config.get("Strategy") == "Grid"
        else local_jobs.sample_hyperparameters(ranges, total, seed=name)
    )
    client = runtime.client("sagemaker")
    results: list[dict[str, Any]] = []
    try:
        for start in range(0, len(samples), parallel):
            names = []
            for index, sampled in enumerate(samples[start : start + parallel], start=start + 1):
                trial = f"{name[:22]}-{index:03d}-{abs(hash((name, index))) % 16**8:08x}"
                request_ = local_jobs.training_request_for(
                    definition, trial, sampled, objective["MetricName"]
                )
                client.create_training_job(**request_)
                with _trials_lock:
                    _trials[key].append(trial)
                names.append(trial)
                job.training_job_status_counters["InProgress"] += 1
            for trial in names:
                described = local_jobs.wait_for_training(client, trial)
                results.append(described)
                counters = job.training_job_status_counters
                counters["InProgress"] -= 1
                completed = described["TrainingJobStatus"] == "Completed"
                counters["Completed" if completed else "NonRetryableError"] += 1
                found = _objective_value(described, objective["MetricName"])
                job.objective_status_counters["Succeeded" if found is not None else "Failed"] += 1
        best = _best(results, objective)
        if best is not None:
            job.best_training_job = _summary(best, objective, name)
            job.hyper_parameter_tuning_job_status = "Completed"
        else:
            job.hyper_parameter_tuning_job_status = "Failed"
            job.failure_reason = (
                "No training job reported the objective metric " + objective["MetricName"]
            )
    except Exception as exc:
        log.exception("tuning job %s crashed", name)
        job.hyper_parameter_tuning_job_status = "Failed"
        job.failure_reason = f"InternalServerError: {exc}"
    job.hyper_parameter_tuning_end_time = job.last_modified_time = utcnow()


def _objective_value(described: dict[str, Any], metric: str) -> float | None:
    for item in described.get("FinalMetricDataList", []):
        if item["MetricName"] == metric:
            return float(item["Value"])
    return None


def _best(results: list[dict[str, Any]], objective: dict[str, str]) -> dict[str, Any] | None:
    scored = [
        (v, r)
        for r in results
        if r["TrainingJobStatus"] == "Completed"
        and (v := _objective_value(r, objective["MetricName"])) is not None
    ]
    if not scored:
        return None
    pick = min if objective["Type"] == "Minimize" else max
    return pick(scored, key=lambda item: item[0])[1]


def _summary(described: dict[str, Any], objective: dict[str, str], tuning: str) -> dict[str, Any]:
    value = _objective_value(described, objective["MetricName"])
    summary = {
        "TrainingJobName": described["TrainingJobName"],
        "TrainingJobArn": described["TrainingJobArn"],
        "TuningJobName": tuning,
        "CreationTime": described["CreationTime"],
        "TrainingStartTime": described.get("TrainingStartTime", described["CreationTime"]),
        "TrainingEndTime": described.get("TrainingEndTime", described["CreationTime"]),
        "TrainingJobStatus": described["TrainingJobStatus"],
        "TunedHyperParameters": {
            k: v
            for k, v in described.get("HyperParameters", {}).items()
            if not k.startswith("_") and not k.startswith("sagemaker_")
        },
        "ObjectiveStatus": "Succeeded" if value is not None else "Failed",
    }
    if value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": value,
        }
    return summary


def _list_trials(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = json.loads(self.body or "{}")
    name = params["HyperParameterTuningJobName"]
    backend = self.sagemaker_backend
    tuning = backend.hyper_parameter_tuning_jobs[name]
    objective = tuning.hyper_parameter_tuning_job_config["HyperParameterTuningJobObjective"]
    with _trials_lock:
        names = list(_trials.get((backend.account_id, backend.region_name, name), []))
    summaries = [_summary(backend.describe_training_job(trial), objective, name) for trial in names]
    return ActionResult({"TrainingJobSummaries": summaries})
