"""Seam: ``arn:aws:states:::sagemaker:*`` tasks in moto's state-machine interpreter.

moto 5.2.5 lists ``sagemaker`` among unsupported integrations. This seam adds a service that
calls the twin's SageMaker API with the task's parameters and, for ``.sync`` resources, polls the
job's ``Describe*`` until it ends, as Step Functions does: Completed gives the description as
the task's output, Failed or Stopped fails the task with ``SageMaker.AmazonSageMakerException``
and the FailureReason as cause, so ``Catch`` and ``Retry`` work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin.seams import fail_if_broken, missing_attributes

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


def jsonable(value: Any) -> Any:
    """A SageMaker response as Step Functions passes it on: datetimes as epoch milliseconds."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value


def _pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _sagemaker_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _service_class() -> type:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    class StateTaskServiceSageMaker(StateTaskServiceCallback):
        """SageMaker request-response and ``.sync`` integrations, run on the twin."""

        def __init__(self) -> None:
            # moto 5.2.5 interrupts a callback endpoint after every .sync task and only makes
            # one when WaitForTaskToken is among the patterns, so both are declared.
            patterns = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
            super().__init__(supported_integration_patterns=patterns)  # type: ignore[arg-type]

        def _get_supported_parameters(self) -> set[str] | None:
            # The request members SageMaker's own API model defines for this action.
            action = self._get_boto_service_action()
            if action not in REQUEST_RESPONSE:
                return None
            return set(_sagemaker_model().operation_model(_pascal(action)).input_shape.members)

        def _failure(self, env: Any, cause: str) -> Any:
            return _failure_event(self, env, cause)

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ClientError):
                return self._failure(env, ex.response["Error"]["Message"])
            return super()._from_error(env=env, ex=ex)

        def _client(self, runtime_part: Any, credentials: Any) -> Any:
            return boto_client_for(
                service="sagemaker", region=runtime_part.region, state_credentials=credentials
            )

        def _eval_service_task(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            action = self._get_boto_service_action()
            if action not in REQUEST_RESPONSE:
                raise ValueError(f"the twin does not run sagemaker:{action} in Step Functions")
            client = self._client(resource_runtime_part, state_credentials)
            response = getattr(client, action)(**normalised_parameters)
            env.stack.append(jsonable(response))

        def _build_sync_resolver(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> Any:
            action = self._get_boto_service_action()
            if action not in SYNC_JOBS:
                raise ValueError(f"sagemaker:{action} has no .sync form")
            env.stack.pop()  # the Create* response; .sync outputs the final description
            client = self._client(resource_runtime_part, state_credentials)
            return _sync_resolver(self, env, client, action, normalised_parameters)

    return StateTaskServiceSageMaker


def _failure_event(task: Any, env: Any, cause: str) -> Any:
    """The TaskFailed event of ``task``, with the kit's error name and SageMaker's reason."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return FailureEvent(
        env=env,
        error_name=CustomErrorName(ERROR_NAME),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(  # type: ignore[typeddict-item]
            taskFailedEventDetails=TaskFailedEventDetails(
                error=ERROR_NAME,
                cause=cause,
                resource=task._get_sfn_resource(),
                resourceType=task._get_sfn_resource_type(),
            )
        ),
    )


def _sync_resolver(
    task: Any, env: Any, client: Any, action: str, parameters: dict[str, Any]
) -> Callable[[], Any]:
    """What moto polls for a ``.sync`` task: the job's final description, or its failure."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    describe, name_key, status_key = SYNC_JOBS[action]
    name = parameters[name_key]

    def resolve() -> Any:
        description = jsonable(getattr(client, describe)(**{name_key: name}))
        status = description.get(status_key)
        if status in DONE:
            return description
        if status in FAILED:
            cause = description.get("FailureReason") or to_json_str(description)
            raise FailureEventException(_failure_event(task, env, cause))
        return None

    return resolve


def install(runtime: TwinRuntime) -> None:
    """Route ``sagemaker`` task resources to the service above."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        state_task_factory,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory as factory,
    )

    check_seams()
    service = _service_class()
    original = factory.state_task_service_for

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "sagemaker":
            return service()
        return original(service_name)

    factory.state_task_service_for = state_task_service_for
    # the state factory imported the function by name
    state_task_factory.state_task_service_for = state_task_service_for  # type: ignore[attr-defined]


def check_seams() -> None:
    """Fail loudly when moto's interpreter no longer has what this seam extends."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        state_task_factory,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory as factory,
    )

    needed = [
        (factory, "state_task_service_for"),
        (state_task_factory, "state_task_service_for"),
        (callback.StateTaskServiceCallback, "_build_sync_resolver"),
        (callback.StateTaskServiceCallback, "_eval_service_task"),
    ]
    fail_if_broken("stepfunctions", missing_attributes(needed))
