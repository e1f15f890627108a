"""What the twin's Step Functions service integrations share.

:class:`TwinTaskService` is moto's callback task service with the ``.sync`` pattern enabled
and service errors turned into the integration's ``TaskFailed`` event (:func:`failure_event`,
under the subclass's ``error_name``); :func:`jsonable` shapes a service's answer as Step
Functions passes it on.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``): it subclasses the interpreter's
``StateTaskServiceCallback``, which ``mlaccel_twin.stepfunctions.seam.check_seams`` checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails


class TwinTaskService(StateTaskServiceCallback):
    """A service integration the twin runs: request-response and ``.sync``."""

    error_name = "States.TaskFailed"  # what a failed call or job fails the task with

    def __init__(self) -> None:
        # moto 5.2.5 interrupts a callback endpoint after every .sync task and only makes
        # one when WaitForTaskToken is among the patterns, so both are declared.
        patterns = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
        super().__init__(supported_integration_patterns=patterns)  # type: ignore[arg-type]

    def _from_error(self, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            return failure_event(self, env, ex.response["Error"]["Message"], self.error_name)
        return super()._from_error(env=env, ex=ex)


def failure_event(task: Any, env: Any, cause: str, error: str) -> Any:
    """The TaskFailed event of ``task``: the service's error name and its reason."""
    return FailureEvent(
        env=env,
        error_name=(
            StatesErrorName.from_name(error)
            if error.startswith("States.")
            else CustomErrorName(error)
        ),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(  # type: ignore[typeddict-item]
            taskFailedEventDetails=TaskFailedEventDetails(
                error=error,
                cause=cause,
                resource=task._get_sfn_resource(),
                resourceType=task._get_sfn_resource_type(),
            )
        ),
    )


def jsonable(value: Any) -> Any:
    """A SageMaker response as Step Functions passes it on: datetimes as epoch milliseconds."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value
