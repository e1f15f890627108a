"""Seam: ``arn:aws:states:::sagemaker:*`` and ``glue:startJobRun`` tasks in moto's
state-machine interpreter.

moto 5.2.5 lists ``sagemaker`` among unsupported integrations and answers Glue's ``.sync`` with
an error. This seam routes ``sagemaker`` task resources to
:class:`~mlaccel_twin.stepfunctions.sagemaker_task.StateTaskServiceSageMaker` and ``glue`` ones to
:class:`~mlaccel_twin.stepfunctions.glue_task.StateTaskServiceGlue`, which call the twin's API
and, for ``.sync`` resources, wait for the job or run as Step Functions does. It also names
executions started without a name and reads definite JSONPaths as one value, and pages
GetExecutionHistory with ``reverseOrder``, ``maxResults`` and ``nextToken``
(:mod:`mlaccel_twin.stepfunctions.executions`).

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the interpreter no longer has what this seam extends.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import fail_if_broken, import_problems, missing_attributes, replace
from mlaccel_twin.stepfunctions import executions

TASK_MODULES = (
    "mlaccel_twin.stepfunctions.task_service",
    "mlaccel_twin.stepfunctions.sagemaker_task",
    "mlaccel_twin.stepfunctions.glue_task",
)
# moto's interpreter modules that imported ``extract_json`` by name: each needs the hook.
JSON_PATH_USERS = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations."
    "timestamp_operators",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations."
    "boolean_equals",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations."
    "numeric",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations."
    "string_operators",
    "moto.stepfunctions.parser.asl.eval.states",
)
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
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    check_seams()
    replace(factory, "state_task_service_for", _route_sagemaker)
    # The state factory imported the function by name: it needs the same hook.
    replace(state_task_factory, "state_task_service_for", _route_sagemaker)
    replace(StepFunctionsParserBackend, "start_execution", _named_execution)
    replace(StepFunctionResponse, "describe_execution", _output_as_json)
    replace(StepFunctionResponse, "get_execution_history", _paged_history)
    for module in JSON_PATH_USERS:
        replace(importlib.import_module(module), "extract_json", executions.definite_extract)


def _output_as_json(original: Callable[..., Any]) -> Callable[..., Any]:
    # The interpreter keeps an execution's output as a Python value, and moto's response sends
    # a string output as it is: a state ending in "deployed" answered deployed, not JSON text.
    def describe_execution(self: Any) -> Any:
        result = original(self)
        if "output" in result.result:
            execution = self.stepfunction_backend.describe_execution(
                self._get_param("executionArn")
            )
            result.result["output"] = executions.output_json(execution.output)
        return result

    return describe_execution


def _paged_history(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto answers every event, oldest first, whatever the request asks.
    def get_execution_history(self: Any) -> Any:
        result = original(self)
        return type(result)(
            executions.history_page(
                list(result.result.get("events", [])),
                reverse_order=bool(self._get_param("reverseOrder")),
                max_results=self._get_param("maxResults"),
                next_token=self._get_param("nextToken"),
            )
        )

    return get_execution_history


def _named_execution(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_execution(
        self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, executions.execution_name(name), *args, **kwargs)

    return start_execution


def _route_sagemaker(original: Callable[[str], Any]) -> Callable[[str], Any]:
    from mlaccel_twin.stepfunctions.glue_task import StateTaskServiceGlue
    from mlaccel_twin.stepfunctions.sagemaker_task import StateTaskServiceSageMaker

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "sagemaker":
            return StateTaskServiceSageMaker()
        if service_name == "glue":
            return StateTaskServiceGlue()
        return original(service_name)

    return state_task_service_for


def check_seams() -> None:
    """Fail loudly when moto's interpreter no longer has what this seam extends."""
    fail_if_broken("stepfunctions", import_problems(*TASK_MODULES, *JSON_PATH_USERS))
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
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    needed: list[tuple[Any, str]] = [
        (factory, "state_task_service_for"),
        (state_task_factory, "state_task_service_for"),
        (ResourceCondition, "Sync"),
        (ResourceCondition, "WaitForTaskToken"),
        (StepFunctionsParserBackend, "start_execution"),
        (StepFunctionResponse, "describe_execution"),
        (StepFunctionResponse, "get_execution_history"),
    ]
    needed += [(importlib.import_module(m), "extract_json") for m in JSON_PATH_USERS]
    needed += [(StateTaskServiceCallback, name) for name in _CALLBACK_METHODS]
    fail_if_broken("stepfunctions", missing_attributes(needed))
