"""Seam: SageMaker batch transform jobs really run on the twin.

moto records a transform job as ``Completed`` at once and runs nothing. Here
``CreateTransformJob`` checks the request (the model must exist, the name must be new), leaves the
job ``InProgress`` and runs :func:`mlaccel_twin.transform.engine.run_transform_job` in the
background
(``runtime.submit``); the job ends ``Completed``, or ``Failed`` with ``FailureReason``. Log lines
go to CloudWatch Logs ``/aws/sagemaker/TransformJobs``, stream ``<job>/twin-0``, where the SDK's
``transformer.wait(logs=True)`` reads them. ``StopTransformJob``, which moto lacks, is added.

Written for moto 5.2.5 (see ``PINNED_VERSIONS``); :func:`check_seams` fails loudly when the moto
internals used here change.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from mlaccel.errors import MLAccelError, TransformStopped
from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin.job_log import CloudWatchJobLog
from mlaccel_twin.sagemaker_models import model_container
from mlaccel_twin.seams import fail_if_broken
from mlaccel_twin.transform.engine import (
    LOG_GROUP,
    TransformJobSpec,
    run_transform_job,
)

log = logging.getLogger(__name__)

_CREATE_PARAMETERS = [
    "self",
    "transform_job_name",
    "model_name",
    "max_concurrent_transforms",
    "model_client_config",
    "max_payload_in_mb",
    "batch_strategy",
    "environment",
    "transform_input",
    "transform_output",
    "data_capture_config",
    "transform_resources",
    "data_processing",
    "tags",
    "experiment_config",
]
_JOB_ATTRIBUTES = (
    "transform_job_status",
    "failure_reason",
    "transform_start_time",
    "transform_end_time",
    "last_modified_time",
)

# Stop requests of running jobs, by (account, region, job name).
_stop_events: dict[tuple[str, str, str], threading.Event] = {}
_stop_lock = threading.Lock()


def check_seams() -> None:
    """Raise when the moto internals this seam patches are not what it was written for."""
    from moto.sagemaker import models, responses

    problems = []
    create = getattr(models.SageMakerModelBackend, "create_transform_job", None)
    create = getattr(create, "_mlaccel_original", create)
    if create is None:
        problems.append("SageMakerModelBackend.create_transform_job is gone")
    else:
        found = list(inspect.signature(create).parameters)
        if found != _CREATE_PARAMETERS:
            problems.append(f"create_transform_job{tuple(found)} changed its parameters")
        elif create.__module__ != "moto.sagemaker.models":
            problems.append(
                f"create_transform_job is already patched by {create.__module__}; transform "
                "jobs belong to mlaccel_twin.transform.seam"
            )
    init_source = inspect.getsource(models.FakeTransformJob.__init__)
    problems += [
        f"FakeTransformJob no longer sets self.{name}"
        for name in _JOB_ATTRIBUTES
        if f"self.{name}" not in init_source
    ]
    if "transform_jobs" not in inspect.getsource(models.SageMakerModelBackend.__init__):
        problems.append("SageMakerModelBackend no longer keeps self.transform_jobs")
    moto_stop = getattr(responses.SageMakerResponse, "stop_transform_job", None)
    if moto_stop is not None and not getattr(moto_stop, "_mlaccel_seam", False):
        problems.append("moto now implements StopTransformJob itself; review this seam")
    fail_if_broken("transform", problems)


def install(runtime: TwinRuntime) -> None:
    """Patch moto so CreateTransformJob runs the job and StopTransformJob stops it."""
    from moto.sagemaker import models, responses

    current = models.SageMakerModelBackend.create_transform_job
    if getattr(current, "_mlaccel_seam", False):
        return
    check_seams()
    replacement = _create_transform_job(current)
    for function in (replacement, _stop_job, _stop_job_action):
        setattr(function, "_mlaccel_seam", True)  # noqa: B010 - marks what this seam installed
    setattr(replacement, "_mlaccel_original", current)  # noqa: B010
    setattr(models.SageMakerModelBackend, "create_transform_job", replacement)  # noqa: B010
    setattr(models.SageMakerModelBackend, "stop_transform_job", _stop_job)  # noqa: B010
    setattr(responses.SageMakerResponse, "stop_transform_job", _stop_job_action)  # noqa: B010


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _create_transform_job(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_transform_job(
        self: Any, transform_job_name: str, model_name: str, **kwargs: Any
    ) -> Any:
        from moto.sagemaker.models import FakeTransformJob

        if transform_job_name in self.transform_jobs:
            arn = FakeTransformJob.arn_formatter(
                transform_job_name, self.account_id, self.region_name
            )
            raise _validation_error(
                f"Job name must be unique within an AWS account and region, and a job with "
                f"this name already exists ({arn})"
            )
        model = self.describe_model(model_name)  # ValidationError when it does not exist
        container = model_container(self, model)  # a model package resolved to its container
        try:
            spec = TransformJobSpec.from_request(
                name=transform_job_name,
                model_name=model_name,
                container=container,
                transform_input=kwargs.get("transform_input") or {},
                transform_output=kwargs.get("transform_output") or {},
                batch_strategy=kwargs.get("batch_strategy"),
                max_payload_in_mb=kwargs.get("max_payload_in_mb"),
                environment=kwargs.get("environment"),
                data_processing=kwargs.get("data_processing"),
            )
        except ValueError as exc:
            raise _validation_error(str(exc)) from exc
        job = original(self, transform_job_name=transform_job_name, model_name=model_name, **kwargs)
        job.transform_job_status = "InProgress"
        job.failure_reason = None
        job.transform_end_time = None
        key = (self.account_id, self.region_name, transform_job_name)
        stop_event = threading.Event()
        with _stop_lock:
            _stop_events[key] = stop_event
        runtime = active_runtime()
        runtime.submit(_run_job, runtime, job, spec, key, stop_event)
        return job

    return create_transform_job


def _run_job(
    runtime: TwinRuntime,
    job: Any,
    spec: TransformJobSpec,
    key: tuple[str, str, str],
    stop_event: threading.Event,
) -> None:
    from moto.core.utils import utcnow

    status, reason = "Completed", None
    try:
        job_log = CloudWatchJobLog(runtime.client("logs"), LOG_GROUP, f"{spec.name}/twin-0")
        try:
            run_transform_job(
                spec,
                s3_client=runtime.client("s3"),
                work_dir=runtime.work_dir / "transform" / spec.name,
                log_line=job_log,
                should_stop=stop_event.is_set,
            )
        except TransformStopped:
            status = "Stopped"
            job_log("Stopped by StopTransformJob")
        except MLAccelError as exc:
            status, reason = "Failed", str(exc)
            job_log(f"Failed: {reason}")
    except Exception as exc:  # the job must end with a status whatever went wrong
        log.exception("transform job %s crashed", spec.name)
        status, reason = "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"
    finally:
        with _stop_lock:
            _stop_events.pop(key, None)
    job.failure_reason = reason
    job.transform_end_time = job.last_modified_time = utcnow()
    job.transform_job_status = status


def _stop_job(self: Any, transform_job_name: str) -> None:
    job = self.transform_jobs.get(transform_job_name)
    if job is None:
        from moto.sagemaker.models import FakeTransformJob

        arn = FakeTransformJob.arn_formatter(transform_job_name, self.account_id, self.region_name)
        raise _validation_error(f"Could not find transform job '{arn}'.")
    with _stop_lock:
        event = _stop_events.get((self.account_id, self.region_name, transform_job_name))
    if event is not None and job.transform_job_status == "InProgress":
        job.transform_job_status = "Stopping"
        event.set()


def _stop_job_action(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    self.sagemaker_backend.stop_transform_job(self._get_param("TransformJobName"))
    return EmptyResult()
