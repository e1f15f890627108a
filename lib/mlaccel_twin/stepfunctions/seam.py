"""Seam: ``arn:aws:states:::sagemaker:*`` tasks in moto's state-machine interpreter.

moto 5.2.5 lists ``sagemaker`` among unsupported integrations. This seam routes ``sagemaker``
task resources to :class:`~mlaccel_twin.stepfunctions.sagemaker_task.StateTaskServiceSageMaker`,
which calls the twin's SageMaker API and, for ``.sync`` resources, waits for the job as Step
Functions does.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the interpreter no longer has what this seam extends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import fail_if_broken, import_problems, missing_attributes, replace

TASK_MODULE = "mlaccel_twin.stepfunctions.sagemaker_task"
# What the task service overrides or calls of moto's callback service.
_CALLBACK_METHODS = (
    "_build_sync_resolver",
    "_eval_service_task",
    "_from_error",
    "_get_boto_service_action",
    "_get_supported_parameters",
    "_get_sfn_resource",
    "_get_sfn_resource_type",
)


def install(runtime: TwinRuntime) -> None:
    """Route ``sagemaker`` task resources to the twin's SageMaker task service."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        state_task_factory,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory as factory,
    )

    check_seams()
    replace(factory, "state_task_service_for", _route_sagemaker)
    # The state factory imported the function by name: it needs the same hook.
    replace(state_task_factory, "state_task_service_for", _route_sagemaker)


def _route_sagemaker(original: Callable[[str], Any]) -> Callable[[str], Any]:
    from mlaccel_twin.stepfunctions.sagemaker_task import StateTaskServiceSageMaker

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "sagemaker":
            return StateTaskServiceSageMaker()
        return original(service_name)

    return state_task_service_for


def check_seams() -> None:
    """Fail loudly when moto's interpreter no longer has what this seam extends."""
    fail_if_broken("stepfunctions", import_problems(TASK_MODULE))
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        state_task_factory,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory as factory,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )

    needed: list[tuple[Any, str]] = [
        (factory, "state_task_service_for"),
        (state_task_factory, "state_task_service_for"),
        (ResourceCondition, "Sync"),
        (ResourceCondition, "WaitForTaskToken"),
    ]
    needed += [(StateTaskServiceCallback, name) for name in _CALLBACK_METHODS]
    fail_if_broken("stepfunctions", missing_attributes(needed))
