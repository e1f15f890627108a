"""Seam: AWS Glue job runs really run in the twin.

moto 5.2.5 records StartJobRun and moves the run to ``SUCCEEDED`` on its own, running
nothing. Here the run starts ``RUNNING`` and a background thread fetches the job's script from
``Command.ScriptLocation`` (through the twin's S3) and runs it as a Python shell job
(:mod:`mlaccel_twin.glue.runs`); GetJobRun and GetJobRuns answer the run's real state,
times and ``ErrorMessage``. A job's ``ExecutionProperty.MaxConcurrentRuns`` (1 by default)
counts the runs the twin is really running: one more is refused with
``ConcurrentRunsExceededException``, as Glue does (moto counts its own states, which are
``SUCCEEDED`` at once). Step Functions' ``glue:startJobRun(.sync)`` tasks go through the
same API (:mod:`mlaccel_twin.stepfunctions.glue_task`).

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's Glue models no longer have what this seam hooks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace
from mlaccel_twin.glue.runs import (
    DEFAULT_TIMEOUT_MINUTES,
    RunState,
    command_line,
    run_script,
    unsupported_reason,
)

log = logging.getLogger(__name__)
_starting = threading.Lock()


def check_seams() -> None:
    from moto.glue import exceptions
    from moto.glue.models import FakeJob, FakeJobRun, GlueBackend

    needed = [
        (exceptions, "ConcurrentRunsExceededException"),
        (GlueBackend, "start_job_run"),
        (GlueBackend, "get_job"),
        (FakeJob, "get_job_run"),
        (FakeJobRun, "advance"),
        (FakeJobRun, "as_dict"),
    ]
    fail_if_broken("glue", missing_attributes(needed))


def install(runtime: TwinRuntime) -> None:
    """Run the script of each job run; answer the run's real state."""
    from moto.glue.models import FakeJobRun, GlueBackend

    check_seams()
    replace(GlueBackend, "start_job_run", _running)
    replace(FakeJobRun, "advance", _advanced_by_the_twin)
    replace(FakeJobRun, "as_dict", _with_real_state)


def _running(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_job_run(self: Any, name: str, *args: Any, **kwargs: Any) -> str:
        job = self.get_job(name)
        with _starting:  # two requests for the last free slot: one of them is refused
            _refuse_beyond_max_concurrent_runs(job)
            run_id = str(original(self, name, *args, **kwargs))
            run = job.get_job_run(run_id)
            state = RunState()
            run.twin_run = state
        timeout_minutes = run.timeout or getattr(job, "timeout", None) or DEFAULT_TIMEOUT_MINUTES
        threading.Thread(
            target=_run,
            args=(active_runtime(), job, run, state, float(timeout_minutes) * 60),
            name=f"glue-{name}",
            daemon=True,
        ).start()
        return run_id

    return start_job_run


def _refuse_beyond_max_concurrent_runs(job: Any) -> None:
    from moto.glue.exceptions import ConcurrentRunsExceededException

    limit = int((getattr(job, "execution_property", None) or {}).get("MaxConcurrentRuns", 1))
    running = sum(
        1
        for run in getattr(job, "job_runs", [])
        if getattr(run, "twin_run", None) is not None and run.twin_run.state == "RUNNING"
    )
    if running >= limit:
        raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {job.name}")


def _run(runtime: TwinRuntime, job: Any, run: Any, state: RunState, timeout_s: float) -> None:
    command = getattr(job, "command", None) or {}
    reason = unsupported_reason(command.get("Name"))
    if reason is not None:
        state.finish("FAILED", reason)
        return
    try:
        script = _script(runtime, str(command.get("ScriptLocation") or ""))
        argv = command_line(
            getattr(job, "default_arguments", None), run.arguments, job.name, run.job_run_id
        )
        environment = {"AWS_ENDPOINT_URL": runtime.url, "AWS_DEFAULT_REGION": runtime.region}
        run_script(script, argv, timeout_s=timeout_s, environment=environment, run=state)
    except Exception as exc:  # a run always ends with a state
        log.exception("Glue job run %s crashed", run.job_run_id)
        state.finish("FAILED", str(exc))


def _script(runtime: TwinRuntime, location: str) -> bytes:
    if not location.startswith("s3://"):
        raise ValueError(f"Command.ScriptLocation {location!r} is not an s3:// URI")
    bucket, _, key = location.removeprefix("s3://").partition("/")
    try:
        return bytes(runtime.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:
        raise ValueError(f"the job's script {location} cannot be read: {exc}") from exc


def _advanced_by_the_twin(original: Callable[..., Any]) -> Callable[..., Any]:
    def advance(self: Any) -> None:
        if getattr(self, "twin_run", None) is None:
            original(self)

    return advance


def _with_real_state(original: Callable[..., Any]) -> Callable[..., Any]:
    def as_dict(self: Any) -> dict[str, Any]:
        answer = dict(original(self))
        state: RunState | None = getattr(self, "twin_run", None)
        if state is None:
            return answer
        answer.update(
            JobRunState=state.state,
            StartedOn=state.started,
            LastModifiedOn=state.completed or state.started,
            ExecutionTime=state.seconds,
        )
        if state.completed is not None:
            answer["CompletedOn"] = state.completed
        else:
            answer.pop("CompletedOn", None)
        if state.error:
            answer["ErrorMessage"] = state.error
        return answer

    return as_dict
