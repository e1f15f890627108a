"""The Glue integration of moto's state-machine interpreter, as the twin runs it.

:class:`StateTaskServiceGlue` runs ``arn:aws:states:::glue:startJobRun`` (request-response:
the task's output is ``{"JobRunId": ..., "JobName": ...}``) and ``glue:startJobRun.sync``, which
polls GetJobRun until the run ends, as Step Functions does: ``SUCCEEDED`` gives the run
(GetJobRun's ``JobRun``) as the task's output; ``FAILED``, ``TIMEOUT``, ``STOPPED`` or ``ERROR``
fail the task with ``States.TaskFailed`` and the run as cause, so ``Catch`` and ``Retry`` work.
A refused StartJobRun fails the task with Glue's error code under the service's prefix
(``Glue.ConcurrentRunsExceededException``, ``Glue.EntityNotFoundException``), its message as
cause, which ``States.TaskFailed`` catches too. The twin runs the job itself
(:mod:`mlaccel_twin.glue.seam`).

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``): it builds on the interpreter's
``StateTaskServiceCallback`` (:class:`~mlaccel_twin.stepfunctions.task_service.TwinTaskService`),
which the seam's ``check_seams`` checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from mlaccel.errors import TwinError
from mlaccel_twin.stepfunctions.task_service import TwinTaskService, failure_event, jsonable

ACTION = "start_job_run"
ERROR_NAME = "States.TaskFailed"
ENDED_BADLY = {"FAILED", "TIMEOUT", "STOPPED", "ERROR"}


class StateTaskServiceGlue(TwinTaskService):
    """Glue ``startJobRun`` and ``startJobRun.sync``, run on the twin."""

    error_name = ERROR_NAME

    def _get_supported_parameters(self) -> set[str] | None:
        if self._get_boto_service_action() != ACTION:
            return None
        import botocore.session

        model = botocore.session.get_session().get_service_model("glue")
        return set(model.operation_model("StartJobRun").input_shape.members)

    def _eval_service_task(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        self._only_start_job_run()
        client = _client(resource_runtime_part, state_credentials)
        response = jsonable(client.start_job_run(**normalised_parameters))
        # Step Functions adds the job's name to StartJobRun's answer.
        env.stack.append({**response, "JobName": normalised_parameters.get("JobName")})

    def _build_sync_resolver(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Callable[[], Any]:
        self._only_start_job_run()
        started = env.stack.pop()  # {"JobRunId": ...}; .sync outputs the finished run
        client = _client(resource_runtime_part, state_credentials)
        job, run_id = normalised_parameters["JobName"], started["JobRunId"]

        def resolve() -> Any:
            run = jsonable(client.get_job_run(JobName=job, RunId=run_id)["JobRun"])
            state = run.get("JobRunState")
            if state == "SUCCEEDED":
                return run
            if state in ENDED_BADLY:
                raise FailureEventException(failure_event(self, env, to_json_str(run), ERROR_NAME))
            return None

        return resolve

    def _from_error(self, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            return failure_event(self, env, service_cause(ex), service_error_name(ex))
        return super()._from_error(env, ex)

    def _only_start_job_run(self) -> None:
        action = self._get_boto_service_action()
        if action != ACTION:
            raise TwinError(
                f"the twin runs glue:startJobRun (and .sync) in Step Functions, not glue:{action}"
            )


def service_error_name(error: ClientError) -> str:
    """The error a refused Glue call fails its task with: Glue's code under ``Glue.``.

    Examples
    --------
    >>> refused = ClientError({"Error": {"Code": "EntityNotFoundException"}}, "StartJobRun")
    >>> service_error_name(refused)
    'Glue.EntityNotFoundException'
    """
    return f"Glue.{error.response.get('Error', {}).get('Code') or 'AWSGlueException'}"


def service_cause(error: ClientError) -> str:
    """The cause a refused Glue call fails its task with: the message, then the call's details.

    Examples
    --------
    >>> refused = ClientError(
    ...     {
    ...         "Error": {"Code": "EntityNotFoundException", "Message": "Job x not found."},
    ...         "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "r-1"},
    ...     },
    ...     "StartJobRun",
    ... )
    >>> print(service_cause(refused))
    Job x not found. (Service: AWSGlue; Status Code: 400; Error Code: EntityNotFoundException;
    Request ID: r-1)
    """
    details = error.response.get("Error", {})
    metadata = error.response.get("ResponseMetadata", {})
    return (
        f"{details.get('Message') or details.get('Code')} (Service: AWSGlue; "
        f"Status Code: {metadata.get('HTTPStatusCode', 400)}; "
        f"Error Code: {details.get('Code')}; Request ID: {metadata.get('RequestId', '')})"
    )


def _client(runtime_part: Any, credentials: Any) -> Any:
    return boto_client_for(
        service="glue", region=runtime_part.region, state_credentials=credentials
    )
