"""Seam: Model Monitor schedules, which moto lacks, fire on the twin's clock.

CreateMonitoringSchedule, Describe, List, Update, Start, Stop and Delete keep schedules per
account and region; ListMonitoringExecutions lists what each firing started. The twin's clock
(:mod:`mlaccel_twin.clock`) reads :func:`scheduled` beside the EventBridge rules, and each time a
schedule falls due it calls :func:`fire`: a processing job of the schedule's job definition
over the endpoint's capture of the analysis window
(:func:`mlaccel_twin.monitoring.schedules.processing_request`), run like any other processing
job (the Model Monitor analyzer image runs the kit's analyzer). Advancing the clock
(``mlaccel twin advance 1h``) makes an hourly schedule run now.

Schedules and their past executions are saved with the twin's state
(:mod:`mlaccel_twin.state.control`; after each request that changes them and each firing) and
come back after a restart.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's SageMaker responses no longer have what this seam uses.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes
from mlaccel_twin.monitoring.schedules import (
    MonitoringSchedule,
    analysis_window,
    endpoint_of,
    inline_definition,
    processing_request,
)

log = logging.getLogger(__name__)

# (account, region) -> schedule name -> schedule
_schedules: dict[tuple[str, str], dict[str, MonitoringSchedule]] = {}
_lock = threading.Lock()
_DESCRIBE_DEFINITION = {
    "DataQuality": ("describe_data_quality_job_definition", "DataQuality"),
    "ModelQuality": ("describe_model_quality_job_definition", "ModelQuality"),
}


def check_seams() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    needed = [(SageMakerResponse, "sagemaker_backend"), (SageMakerResponse, "_get_param")]
    fail_if_broken("monitoring", missing_attributes(needed))


def install(runtime: TwinRuntime) -> None:
    """Add the monitoring-schedule actions to moto's SageMaker responses."""
    from moto.sagemaker.responses import SageMakerResponse

    check_seams()
    for name, action in _ACTIONS.items():
        add(SageMakerResponse, name, action)


def scheduled() -> Iterator[MonitoringSchedule]:
    """Every schedule that runs, for the twin's clock."""
    with _lock:
        schedules = [s for by_name in _schedules.values() for s in by_name.values()]
    for schedule in schedules:
        if schedule.scheduled_expression:
            yield schedule


def fire(
    runtime: TwinRuntime,
    schedule: MonitoringSchedule,
    when: datetime,
    capture_offset_seconds: float = 0.0,
) -> None:
    """Start the processing job of one firing and record it as the schedule's execution.

    ``when`` is on the twin's clock; endpoints stamp capture with the machine's time, which
    ran ``capture_offset_seconds`` behind the twin's while the requests were made (the clock's
    ``lived_offset_seconds`` when it fired): the window moves back by it, so it holds the
    requests made during that hour of the twin (the hours an advance jumps over saw none).
    """
    sm = runtime.client("sagemaker")
    summary: dict[str, Any] = {
        "MonitoringScheduleName": schedule.name,
        "ScheduledTime": when,
        "CreationTime": when,
        "LastModifiedTime": when,
        "MonitoringType": schedule.monitoring_type,
    }
    if schedule.config.get("MonitoringJobDefinitionName"):
        summary["MonitoringJobDefinitionName"] = schedule.config["MonitoringJobDefinitionName"]
    try:
        definition = _definition(sm, schedule)
        endpoint = endpoint_of({}, definition)
        if endpoint is None:
            raise ValueError("only schedules over an endpoint's capture run on the twin")
        summary["EndpointName"] = endpoint
        described = sm.describe_endpoint(EndpointName=endpoint)
        destination = described.get("DataCaptureConfig", {}).get("DestinationS3Uri")
        if not destination:
            raise ValueError(f"endpoint {endpoint} captures no data: enable data capture")
        job_name = f"model-monitoring-{when:%Y%m%d%H%M}-{uuid.uuid4().hex[:8]}"
        request = processing_request(
            schedule,
            definition,
            job_name=job_name,
            capture_uri=f"{destination.rstrip('/')}/{endpoint}",
            window=_shifted(analysis_window(schedule.config, when), capture_offset_seconds),
        )
        arn = sm.create_processing_job(**request)["ProcessingJobArn"]
        summary.update(ProcessingJobArn=arn, MonitoringExecutionStatus="Pending")
    except Exception as exc:  # the execution fails, the schedule goes on
        log.exception("monitoring schedule %s could not start its job", schedule.name)
        summary.update(MonitoringExecutionStatus="Failed", FailureReason=str(exc))
    with _lock:
        schedule.executions.append(summary)
    _save_state(runtime)


def _save_state(runtime: TwinRuntime) -> None:
    """Save the schedules with their new execution, when the twin keeps its state."""
    from mlaccel_twin.state.store import active_store

    store = active_store()
    if store is not None:
        try:
            store.save(runtime.client, ["monitoring"])
        except Exception:  # the firing itself happened
            log.exception("saving the twin's monitoring state failed")


def executions_by_schedule() -> dict[str, list[dict[str, Any]]]:
    """Each schedule's executions by its ARN, for the twin's saved state."""
    with _lock:
        return {
            s.arn: [dict(e) for e in s.executions]
            for by_name in _schedules.values()
            for s in by_name.values()
        }


def restore_executions(saved: dict[str, list[dict[str, Any]]]) -> None:
    """Give restored schedules back the executions they had (times as datetimes again)."""
    with _lock:
        for by_name in _schedules.values():
            for schedule in by_name.values():
                schedule.executions = [
                    {k: _as_time(k, v) for k, v in e.items()} for e in saved.get(schedule.arn, [])
                ]


def _as_time(key: str, value: Any) -> Any:
    if key.endswith("Time") and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _shifted(window: tuple[datetime, datetime], seconds: float) -> tuple[datetime, datetime]:
    shift = timedelta(seconds=seconds)
    return window[0] - shift, window[1] - shift


def _definition(sm: Any, schedule: MonitoringSchedule) -> dict[str, Any]:
    inline = schedule.config.get("MonitoringJobDefinition")
    if inline:
        return dict(inline)
    name = schedule.config["MonitoringJobDefinitionName"]
    operation, kind = _DESCRIBE_DEFINITION[schedule.monitoring_type]
    return inline_definition(getattr(sm, operation)(JobDefinitionName=name), kind)


# -- the API actions ------------------------------------------------------------------------


def _backend_key(response: Any) -> tuple[str, str]:
    backend = response.sagemaker_backend
    return backend.account_id, backend.region_name


def _params(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.body or "{}"))


def _error(code: str, message: str) -> Any:
    from moto.sagemaker.exceptions import ValidationError

    if code == "ResourceNotFound":
        from moto.sagemaker.exceptions import ResourceNotFound

        return ResourceNotFound(message)
    return ValidationError(message)


def _find(response: Any, name: str) -> MonitoringSchedule:
    with _lock:
        found = _schedules.get(_backend_key(response), {}).get(name)
    if found is None:
        raise _error("ResourceNotFound", f"Monitoring schedule {name} does not exist")
    return found


def _create(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    params = _params(self)
    name = params["MonitoringScheduleName"]
    account, region = _backend_key(self)
    config = params["MonitoringScheduleConfig"]
    if not (config.get("MonitoringJobDefinition") or config.get("MonitoringJobDefinitionName")):
        raise _error(
            "ValidationException",
            "MonitoringScheduleConfig needs MonitoringJobDefinition or MonitoringJobDefinitionName",
        )
    arn = f"arn:aws:sagemaker:{region}:{account}:monitoring-schedule/{name}"
    endpoint = _named_definition_endpoint(self.sagemaker_backend, config)
    with _lock:
        schedules = _schedules.setdefault((account, region), {})
        if name in schedules:
            raise _error("ValidationException", f"Monitoring schedule {name} already exists")
        schedules[name] = MonitoringSchedule(
            name, arn, config, utcnow(), tags=list(params.get("Tags", [])), endpoint=endpoint
        )
    return ActionResult({"MonitoringScheduleArn": arn})


def _named_definition_endpoint(backend: Any, config: dict[str, Any]) -> str | None:
    """The endpoint of the job definition a schedule names (which must exist, as on AWS)."""
    name = config.get("MonitoringJobDefinitionName")
    if not name:
        return None
    kind = str(config.get("MonitoringType", "DataQuality"))
    if kind not in _DESCRIBE_DEFINITION:
        raise _error(
            "ValidationException",
            f"MonitoringType {kind} is not run by the twin; use DataQuality or ModelQuality",
        )
    operation, _ = _DESCRIBE_DEFINITION[kind]
    return endpoint_of({}, inline_definition(getattr(backend, operation)(name), kind))


def _describe(self: Any) -> Any:
    from moto.core.responses import ActionResult

    schedule = _find(self, _params(self)["MonitoringScheduleName"])
    _refresh(self, schedule)
    return ActionResult(schedule.describe())


def _list(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _params(self)
    with _lock:
        schedules = list(_schedules.get(_backend_key(self), {}).values())
    endpoint = params.get("EndpointName")
    contains = params.get("NameContains", "")
    found = [
        s.summary()
        for s in sorted(schedules, key=lambda s: s.created, reverse=True)
        if contains in s.name and (endpoint is None or s.summary().get("EndpointName") == endpoint)
    ]
    return ActionResult({"MonitoringScheduleSummaries": found})


def _update(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    params = _params(self)
    schedule = _find(self, params["MonitoringScheduleName"])
    config = params["MonitoringScheduleConfig"]
    endpoint = _named_definition_endpoint(self.sagemaker_backend, config)
    with _lock:
        schedule.config = config
        schedule.endpoint = endpoint
        schedule.modified = utcnow()
    return ActionResult({"MonitoringScheduleArn": schedule.arn})


def _status_setter(status: str) -> Callable[[Any], Any]:
    def action(self: Any) -> Any:
        from moto.core.responses import EmptyResult

        schedule = _find(self, _params(self)["MonitoringScheduleName"])
        with _lock:
            schedule.status = status
        return EmptyResult()

    return action


def _delete(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    name = _params(self)["MonitoringScheduleName"]
    _find(self, name)
    with _lock:
        del _schedules[_backend_key(self)][name]
    return EmptyResult()


def _list_executions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _params(self)
    with _lock:
        schedules = list(_schedules.get(_backend_key(self), {}).values())
    wanted = params.get("MonitoringScheduleName")
    summaries: list[dict[str, Any]] = []
    for schedule in schedules:
        if wanted and schedule.name != wanted:
            continue
        _refresh(self, schedule)
        summaries.extend(dict(e) for e in schedule.executions)
    newest_first = params.get("SortOrder", "Descending") == "Descending"
    summaries.sort(key=lambda e: e["ScheduledTime"], reverse=newest_first)
    limit = int(params.get("MaxResults", 100))
    return ActionResult({"MonitoringExecutionSummaries": summaries[:limit]})


def _refresh(response: Any, schedule: MonitoringSchedule) -> None:
    """Each execution's status from its processing job: ``CompletedWithViolations`` when the
    analyzer found violations, as Model Monitor reports them."""
    backend = response.sagemaker_backend
    for execution in schedule.executions:
        arn = execution.get("ProcessingJobArn")
        if not arn or execution["MonitoringExecutionStatus"] not in ("Pending", "InProgress"):
            continue
        job = backend.processing_jobs.get(arn.rsplit("/", 1)[-1])
        if job is None:
            continue
        status = job.processing_job_status
        if status == "Completed" and _has_violations(job, backend.account_id):
            status = "CompletedWithViolations"
        execution["MonitoringExecutionStatus"] = status
        execution["LastModifiedTime"] = job.last_modified_time
        if getattr(job, "failure_reason", None):
            execution["FailureReason"] = job.failure_reason


def _has_violations(job: Any, account: str) -> bool:
    """Whether the analyzer wrote violations in the job's output."""
    from moto.s3.models import s3_backends

    for output in (job.processing_output_config or {}).get("Outputs", []):
        uri = output.get("S3Output", {}).get("S3Uri", "")
        if not uri.startswith("s3://"):
            continue
        bucket, _, prefix = uri[5:].partition("/")
        key = f"{prefix.rstrip('/')}/constraint_violations.json"
        try:
            stored = s3_backends[account]["global"].get_object(bucket, key)
        except Exception:
            continue
        if stored is not None and json.loads(stored.value or b"{}").get("violations"):
            return True
    return False


_ACTIONS: dict[str, Callable[[Any], Any]] = {
    "create_monitoring_schedule": _create,
    "describe_monitoring_schedule": _describe,
    "list_monitoring_schedules": _list,
    "update_monitoring_schedule": _update,
    "start_monitoring_schedule": _status_setter("Scheduled"),
    "stop_monitoring_schedule": _status_setter("Stopped"),
    "delete_monitoring_schedule": _delete,
    "list_monitoring_executions": _list_executions,
}
