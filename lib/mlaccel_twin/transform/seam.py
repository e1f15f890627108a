"""Seam: SageMaker batch transform jobs really run on the twin.

moto records a transform job as ``Completed`` at once and runs nothing. Here
``CreateTransformJob`` checks the request (the model must exist, the name must be new,
:meth:`~mlaccel_twin.transform.spec.TransformJobSpec.from_request`), leaves the job
``InProgress`` and runs :func:`mlaccel_twin.transform.engine.run_transform_job` in the background
(``runtime.submit``); the job ends ``Completed``, ``Stopped``, or ``Failed`` with
``FailureReason``. Log lines go to CloudWatch Logs ``/aws/sagemaker/TransformJobs``, stream
``<job>/twin-0``, where the SDK's ``transformer.wait(logs=True)`` reads them.
``StopTransformJob``, which moto lacks, is added.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from mlaccel.errors import MLAccelError, TransformStopped
from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import add, fail_if_broken, replace, signature_problems, unwrapped
from mlaccel_twin.job_log import CloudWatchJobLog
from mlaccel_twin.s3_urls import with_s3_uris
from mlaccel_twin.sagemaker_models import model_container
from mlaccel_twin.transform.engine import LOG_GROUP, run_transform_job
from mlaccel_twin.transform.spec import TransformJobSpec

log = logging.getLogger(__name__)

# moto functions this seam replaces, with the parameters it relies on.
_EXPECTED_SIGNATURES = {
    "SageMakerModelBackend.create_transform_job": [
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
    ],
}
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

    owners = {"SageMakerModelBackend": models.SageMakerModelBackend}
    problems = signature_problems(owners, _EXPECTED_SIGNATURES)
    create = unwrapped(getattr(models.SageMakerModelBackend, "create_transform_job", None))
    if create is not None and create.__module__ != "moto.sagemaker.models":
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

    check_seams()
    replace(models.SageMakerModelBackend, "create_transform_job", _create_transform_job)
    add(models.SageMakerModelBackend, "stop_transform_job", _stop_job)
    add(responses.SageMakerResponse, "stop_transform_job", _stop_job_action)


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _create_transform_job(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_transform_job(
        self: Any, transform_job_name: str, model_name: str, **kwargs: Any
    ) -> Any:
        _refuse_existing_job(self, transform_job_name)
        spec = _job_spec(self, transform_job_name, model_name, kwargs)
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


def _refuse_existing_job(backend: Any, name: str) -> None:
    from moto.sagemaker.models import FakeTransformJob

    if name in backend.transform_jobs:
        arn = FakeTransformJob.arn_formatter(name, backend.account_id, backend.region_name)
        raise _validation_error(
            f"Job name must be unique within an AWS account and region, and a job with "
            f"this name already exists ({arn})"
        )


def _job_spec(
    backend: Any, name: str, model_name: str, request: dict[str, Any]
) -> TransformJobSpec:
    model = backend.describe_model(model_name)  # ValidationError when it does not exist
    try:
        return TransformJobSpec.from_request(
            name=name,
            model_name=model_name,
            container=model_container(backend, model),  # a model package: its own container
            transform_input=with_s3_uris(request.get("transform_input") or {}),
            transform_output=with_s3_uris(request.get("transform_output") or {}),
            batch_strategy=request.get("batch_strategy"),
            max_payload_in_mb=request.get("max_payload_in_mb"),
            environment=request.get("environment"),
            data_processing=request.get("data_processing"),
        )
    except ValueError as exc:
        raise _validation_error(str(exc)) from exc


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
