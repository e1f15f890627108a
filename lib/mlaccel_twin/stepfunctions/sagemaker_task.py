"""The SageMaker integration of moto's state-machine interpreter, as the twin runs it.

:class:`StateTaskServiceSageMaker` runs ``arn:aws:states:::sagemaker:<action>`` tasks: it calls
the twin's SageMaker API with the task's parameters (request-response) and, for ``.sync``
resources, polls the job's ``Describe*`` until it ends, as Step Functions does: Completed gives
the description as the task's output, Failed or Stopped fails the task with
``SageMaker.AmazonSageMakerException`` and the FailureReason as cause, so ``Catch`` and
``Retry`` work. ``mlaccel_twin.stepfunctions.seam`` routes ``sagemaker`` resources here.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``): it builds on the interpreter's
``StateTaskServiceCallback`` (:class:`~mlaccel_twin.stepfunctions.task_service.TwinTaskService`),
which the seam's ``check_seams`` checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from mlaccel.errors import TwinError
from mlaccel_twin.stepfunctions.task_service import TwinTaskService, failure_event, jsonable

# API action (as the interpreter names it, snake case) -> (describe call, name key, status key)
SYNC_JOBS = {
    "create_training_job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "create_processing_job": (
        "describe_processing_job",
        "ProcessingJobName",
        "ProcessingJobStatus",
    ),
    "create_transform_job": ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
    "create_hyper_parameter_tuning_job": (
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
    ),
}
REQUEST_RESPONSE = {
    *SYNC_JOBS,
    "create_model",
    "create_endpoint_config",
    "create_endpoint",
    "update_endpoint",
}
FAILED = {"Failed", "Stopped"}
DONE = {"Completed"}
ERROR_NAME = "SageMaker.AmazonSageMakerException"


class StateTaskServiceSageMaker(TwinTaskService):
    """SageMaker request-response and ``.sync`` integrations, run on the twin."""

    error_name = ERROR_NAME

    def _get_supported_parameters(self) -> set[str] | None:
        # The request members SageMaker's own API model defines for this action.
        action = self._get_boto_service_action()
        if action not in REQUEST_RESPONSE:
            return None
        return set(_sagemaker_model().operation_model(_pascal(action)).input_shape.members)

    def _eval_service_task(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        action = self._get_boto_service_action()
        if action not in REQUEST_RESPONSE:
            raise TwinError(
                f"the twin does not run sagemaker:{action} in Step Functions; it runs "
                f"{', '.join(sorted(REQUEST_RESPONSE))}"
            )
        client = _client(resource_runtime_part, state_credentials)
        response = getattr(client, action)(**normalised_parameters)
        env.stack.append(jsonable(response))

    def _build_sync_resolver(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Callable[[], Any]:
        action = self._get_boto_service_action()
        if action not in SYNC_JOBS:
            raise TwinError(
                f"sagemaker:{action} has no .sync form; use it without .sync, or one of "
                f"{', '.join(sorted(SYNC_JOBS))}"
            )
        env.stack.pop()  # the Create* response; .sync outputs the final description
        client = _client(resource_runtime_part, state_credentials)
        return sync_resolver(self, env, client, action, normalised_parameters)


def _pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _sagemaker_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _client(runtime_part: Any, credentials: Any) -> Any:
    return boto_client_for(
        service="sagemaker", region=runtime_part.region, state_credentials=credentials
    )


def sync_resolver(
    task: Any, env: Any, client: Any, action: str, parameters: dict[str, Any]
) -> Callable[[], Any]:
    """What moto polls for a ``.sync`` task: the job's final description, or its failure."""
    describe, name_key, status_key = SYNC_JOBS[action]
    name = parameters[name_key]

    def resolve() -> Any:
        description = jsonable(getattr(client, describe)(**{name_key: name}))
        status = description.get(status_key)
        if status in DONE:
            return description
        if status in FAILED:
            cause = description.get("FailureReason") or to_json_str(description)
            raise FailureEventException(failure_event(task, env, cause, ERROR_NAME))
        return None

    return resolve
