"""Seam: a SageMaker Pipeline execution runs its steps inside the twin, whatever session
started it.

moto records StartPipelineExecution as ``Succeeded`` at once, runs no step and has no
ListPipelineExecutionSteps. Here the execution starts ``Executing`` and a background thread
runs the definition the pipeline was created with
(:mod:`mlaccel_twin.pipelines.executor`), as SageMaker runs what it received: a plain
``PipelineSession`` pointed at the twin, boto3, or any other client. The execution ends
``Succeeded`` or ``Failed`` with its reason, and ListPipelineExecutionSteps lists each step
with its status, metadata and times, newest first.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's pipeline internals change.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes, replace
from mlaccel_twin.pipelines.executor import StepRecord, run_execution

log = logging.getLogger(__name__)

# execution ARN -> its steps so far
_steps: dict[str, list[StepRecord]] = {}
_lock = threading.Lock()


def check_seams() -> None:
    from moto.sagemaker import models, responses

    needed = [
        (responses.SageMakerResponse, "start_pipeline_execution"),
        (responses.SageMakerResponse, "describe_pipeline_execution"),
        (models.FakePipelineExecution, "__init__"),
        (models.SageMakerModelBackend, "start_pipeline_execution"),
    ]
    fail_if_broken("pipelines", missing_attributes(needed))


def install(runtime: TwinRuntime) -> None:
    """Run executions' steps; answer ListPipelineExecutionSteps."""
    from moto.sagemaker.responses import SageMakerResponse

    check_seams()
    replace(SageMakerResponse, "start_pipeline_execution", _running)
    replace(SageMakerResponse, "describe_pipeline_execution", _with_failure_reason)
    add(SageMakerResponse, "list_pipeline_execution_steps", _list_steps)


def _running(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_pipeline_execution(self: Any) -> Any:
        result = original(self)
        arn = result.result["PipelineExecutionArn"]
        name = self._get_param("PipelineName").rsplit("/", 1)[-1]
        backend = self.sagemaker_backend
        execution = backend.pipelines[name].pipeline_executions[arn]
        execution.pipeline_execution_status = "Executing"
        with _lock:
            _steps[arn] = []
        runtime = active_runtime()
        threading.Thread(
            target=_run,
            args=(runtime, name, execution, self._get_param("PipelineParameters") or []),
            name=f"pipeline-{name}",
            daemon=True,
        ).start()
        return result

    return start_pipeline_execution


def _with_failure_reason(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto answers FailureReason "" whatever happened.
    def describe_pipeline_execution(self: Any) -> Any:
        result = original(self)
        arn = self._get_param("PipelineExecutionArn")
        name = arn.split(":pipeline/", 1)[-1].split("/execution/", 1)[0]
        pipeline = self.sagemaker_backend.pipelines.get(name)
        execution = pipeline.pipeline_executions.get(arn) if pipeline else None
        reason = getattr(execution, "pipeline_execution_failure_reason", None)
        return type(result)({**result.result, "FailureReason": reason}) if reason else result

    return describe_pipeline_execution


def _run(runtime: TwinRuntime, pipeline: str, execution: Any, parameters: list[Any]) -> None:
    from moto.core.utils import utcnow

    try:
        definition = json.loads(execution.pipeline_definition_for_execution)
        status, reason = run_execution(
            runtime.client, pipeline, execution.arn, definition, parameters, _steps[execution.arn]
        )
    except Exception as exc:  # an execution always ends with a status
        log.exception("pipeline execution %s crashed", execution.arn)
        status, reason = "Failed", f"InternalServerError: {exc}"
    execution.pipeline_execution_failure_reason = reason or None
    execution.last_modified_time = utcnow()
    execution.pipeline_execution_status = status


def _list_steps(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self._get_param("PipelineExecutionArn")
    with _lock:
        records = list(_steps.get(arn, []))
    newest_first = self._get_param("SortOrder", "Descending") == "Descending"
    steps = [r.to_json() for r in (reversed(records) if newest_first else records)]
    return ActionResult({"PipelineExecutionSteps": steps})
