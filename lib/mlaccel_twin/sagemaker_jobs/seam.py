"""Seam: SageMaker training, processing and tuning jobs really run on the twin.

moto records these jobs as ``Completed`` at once and runs nothing (and replaces a training job's
metric definitions with a test value). Here the Create* API actions keep the request as sent,
leave the job ``InProgress`` and run it in the background: training and processing with
:mod:`mlaccel_twin.sagemaker_jobs.engine`, tuning with :mod:`mlaccel_twin.sagemaker_jobs.tuning`.
The job ends ``Completed`` or ``Failed`` with ``FailureReason``, its log lines in CloudWatch
Logs and its metrics in ``FinalMetricDataList``. ListTrainingJobsForHyperParameterTuningJob,
which moto lacks, is added.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes, replace
from mlaccel_twin.job_log import CloudWatchJobLog
from mlaccel_twin.lineage import automatic
from mlaccel_twin.s3_urls import with_s3_uris
from mlaccel_twin.sagemaker_jobs import engine, tuning

log = logging.getLogger(__name__)

TRAINING_LOGS = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOGS = "/aws/sagemaker/ProcessingJobs"
_TRAINING_COUNTERS = ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped")
# Which tuning job each trial belongs to: (account, region, tuning job) -> trial names.
_trials: dict[tuple[str, str, str], list[str]] = {}
_trials_lock = threading.Lock()
# While a restore re-creates finished jobs: job name -> the outcome to describe, not run.
_recreated: dict[str, Mapping[str, Any]] = {}


@contextmanager
def recreating(outcomes: Mapping[str, Mapping[str, Any]]) -> Iterator[None]:
    """Create* calls for the jobs named in ``outcomes`` record them as they ended (their
    saved status, metrics, artifacts and times) instead of running them: how a restarted
    twin gets its finished jobs back (:mod:`mlaccel_twin.state.jobs`)."""
    _recreated.update(outcomes)
    try:
        yield
    finally:
        for name in outcomes:
            _recreated.pop(name, None)


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
    """Make the Create* job actions run their jobs; add the tuning job's trial listing."""
    from moto.sagemaker.responses import SageMakerResponse

    check_seams()
    for action, launch in (
        ("create_training_job", _launch_training),
        ("create_processing_job", _launch_processing),
        ("create_hyper_parameter_tuning_job", _launch_tuning),
    ):
        replace(SageMakerResponse, action, _runs(launch))
    add(SageMakerResponse, "list_training_jobs_for_hyper_parameter_tuning_job", _list_trials)


def _runs(
    launch: Callable[[Any, dict[str, Any]], None],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What :func:`~mlaccel_twin.seams.replace` puts in place of a Create* action: moto's
    action, then ``launch`` with the backend and the request as the client sent it."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def action(self: Any) -> Any:
            # https:// S3 URLs read as the s3:// URIs they name, as AWS reads them.
            request = with_s3_uris(json.loads(self.body or "{}"))
            result = original(self)
            name = request.get("TrainingJobName") or request.get("ProcessingJobName")
            outcome = _recreated.pop(name, None) if name else None
            if outcome is not None:
                _describe_as_ended(self.sagemaker_backend, request, outcome)
            else:
                launch(self.sagemaker_backend, request)
            return result

        return action

    return make


def _describe_as_ended(backend: Any, request: dict[str, Any], outcome: Mapping[str, Any]) -> None:
    """Set a just-created job's fields to the saved ``outcome`` (DescribeXJob's own keys)."""
    if "TrainingJobName" in request:
        job = backend.training_jobs[request["TrainingJobName"]]
        fields = {
            "TrainingJobStatus": "training_job_status",
            "SecondaryStatus": "secondary_status",
            "FailureReason": "failure_reason",
            "FinalMetricDataList": "final_metric_data_list",
            "ModelArtifacts": "model_artifacts",
            "CreationTime": "creation_time",
            "TrainingEndTime": "training_end_time",
            "LastModifiedTime": "last_modified_time",
        }
        _launch_training_fields(job, request)
    else:
        job = backend.processing_jobs[request["ProcessingJobName"]]
        job.processing_resources = request.get("ProcessingResources")
        fields = {
            "ProcessingJobStatus": "processing_job_status",
            "FailureReason": "failure_reason",
            "ExitMessage": "exit_message",
            "CreationTime": "creation_time",
            "ProcessingEndTime": "processing_end_time",
            "LastModifiedTime": "last_modified_time",
        }
    for key, attribute in fields.items():
        if key in outcome:
            setattr(job, attribute, _time_or_value(key, outcome[key]))


def _time_or_value(key: str, value: Any) -> Any:
    """Saved times come back as datetimes (moto serializes them itself)."""
    if key.endswith("Time") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if key == "FinalMetricDataList":
        return [{**m, "Timestamp": _time_or_value("Time", m.get("Timestamp"))} for m in value]
    return value


def _launch_training_fields(job: Any, request: dict[str, Any]) -> None:
    """The request's metric definitions as sent (moto replaces them with a test value)."""
    definitions = request.get("AlgorithmSpecification", {}).get("MetricDefinitions")
    job.algorithm_specification["MetricDefinitions"] = definitions or []
    if not definitions:
        del job.algorithm_specification["MetricDefinitions"]


def _launch_training(backend: Any, request: dict[str, Any]) -> None:
    job = backend.training_jobs[request["TrainingJobName"]]
    _launch_training_fields(job, request)
    job.training_job_status = "InProgress"
    job.secondary_status = "Starting"
    job.final_metric_data_list = []
    job.training_end_time = None
    job.model_artifacts = None
    automatic.training_started(backend, request)
    runtime = active_runtime()
    runtime.submit(_run_training, runtime, job, request, backend)


def _run_training(runtime: TwinRuntime, job: Any, request: dict[str, Any], backend: Any) -> None:
    from moto.core.utils import utcnow

    name = request["TrainingJobName"]
    try:
        job.secondary_status = "Training"
        stream = CloudWatchJobLog(
            runtime.client("logs"), TRAINING_LOGS, f"{name}/algo-1-{int(time.time())}"
        )
        outcome = engine.run_training(runtime, request, stream)
    except Exception as exc:  # a job always ends with a status
        log.exception("training job %s crashed", name)
        outcome = engine.TrainingOutcome("Failed", f"InternalServerError: {exc}", {})
    now = utcnow()
    job.final_metric_data_list = [
        {"MetricName": k, "Value": v, "Timestamp": now} for k, v in outcome.metrics.items()
    ]
    if outcome.status == "Completed":
        output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        job.model_artifacts = {"S3ModelArtifacts": f"{output}/{name}/output/model.tar.gz"}
        automatic.training_ended(backend, name, job.model_artifacts["S3ModelArtifacts"])
    else:
        job.failure_reason = outcome.reason
    job.training_end_time = job.last_modified_time = now
    job.secondary_status = outcome.status
    job.training_job_status = outcome.status
    _save_finished_jobs(runtime)


def _launch_processing(backend: Any, request: dict[str, Any]) -> None:
    job = backend.processing_jobs[request["ProcessingJobName"]]
    job.processing_job_status = "InProgress"
    job.processing_end_time = None
    # moto drops it; the SDK's Processor.run(logs=True) reads the instance count from it.
    job.processing_resources = request.get("ProcessingResources")
    if request.get("Environment"):
        job.environment = request["Environment"]
    automatic.processing_started(backend, request)
    runtime = active_runtime()
    runtime.submit(_run_processing, runtime, job, request, backend)


def _run_processing(runtime: TwinRuntime, job: Any, request: dict[str, Any], backend: Any) -> None:
    from moto.core.utils import utcnow

    name = request["ProcessingJobName"]
    try:
        stream = CloudWatchJobLog(
            runtime.client("logs"), PROCESSING_LOGS, f"{name}/algo-1-{int(time.time())}"
        )
        status, reason = engine.run_processing(runtime, request, stream)
    except Exception as exc:
        log.exception("processing job %s crashed", name)
        status, reason = "Failed", f"InternalServerError: {exc}"
    if reason:
        job.failure_reason = reason
        job.exit_message = reason
    job.processing_end_time = job.last_modified_time = utcnow()
    if status == "Completed":
        automatic.processing_ended(backend, request)
    job.processing_job_status = status
    _save_finished_jobs(runtime)


def _save_finished_jobs(runtime: TwinRuntime) -> None:
    """Save the finished jobs with the twin's state, when it keeps one (a job ends long after
    the request that created it, so the request's own save cannot hold its outcome)."""
    from mlaccel_twin.state.store import active_store

    store = active_store()
    if store is None or store.restoring:
        return
    try:
        store.save(runtime.client, ["jobs", "lineage"])
    except Exception:  # the job's outcome stands; only its saved copy is late
        log.exception("saving the finished jobs failed")


def _launch_tuning(backend: Any, request: dict[str, Any]) -> None:
    name = request["HyperParameterTuningJobName"]
    job = backend.hyper_parameter_tuning_jobs[name]
    job.hyper_parameter_tuning_job_status = "InProgress"
    job.hyper_parameter_tuning_end_time = None
    job.best_training_job = None
    job.training_job_status_counters = dict.fromkeys(_TRAINING_COUNTERS, 0)
    job.objective_status_counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    key = (backend.account_id, backend.region_name, name)
    with _trials_lock:
        _trials[key] = []
    runtime = active_runtime()
    # Its own thread: its trials take the runtime's job workers while it waits for them.
    threading.Thread(
        target=_run_tuning,
        args=(runtime, job, request, key),
        name=f"tuning-{name}",
        daemon=True,
    ).start()


def _run_tuning(
    runtime: TwinRuntime, job: Any, request: dict[str, Any], key: tuple[str, str, str]
) -> None:
    from moto.core.utils import utcnow

    counters = job.training_job_status_counters

    def started(trial: str) -> None:
        with _trials_lock:
            _trials[key].append(trial)
        counters["InProgress"] += 1

    def finished(described: dict[str, Any], scored: bool) -> None:
        counters["InProgress"] -= 1
        completed = described["TrainingJobStatus"] == "Completed"
        counters["Completed" if completed else "NonRetryableError"] += 1
        job.objective_status_counters["Succeeded" if scored else "Failed"] += 1

    name = request["HyperParameterTuningJobName"]
    try:
        outcome = tuning.run_tuning(
            runtime.client("sagemaker"), request, on_started=started, on_finished=finished
        )
    except Exception as exc:  # a job always ends with a status
        log.exception("tuning job %s crashed", name)
        outcome = tuning.TuningOutcome("Failed", reason=f"InternalServerError: {exc}")
    job.best_training_job = outcome.best
    if outcome.reason:
        job.failure_reason = outcome.reason
    job.hyper_parameter_tuning_end_time = job.last_modified_time = utcnow()
    job.hyper_parameter_tuning_job_status = outcome.status


def _list_trials(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = json.loads(self.body or "{}")
    name = params["HyperParameterTuningJobName"]
    backend = self.sagemaker_backend
    config = backend.hyper_parameter_tuning_jobs[name].hyper_parameter_tuning_job_config
    objective = config["HyperParameterTuningJobObjective"]
    with _trials_lock:
        names = list(_trials.get((backend.account_id, backend.region_name, name), []))
    summaries = [
        tuning.trial_summary(backend.describe_training_job(trial), objective, name)
        for trial in names
    ]
    if params.get("StatusEquals"):
        summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
    summaries = tuning.sorted_summaries(
        summaries, params.get("SortBy", "Name"), params.get("SortOrder", "Ascending")
    )
    return ActionResult({"TrainingJobSummaries": summaries[: int(params.get("MaxResults", 100))]})
