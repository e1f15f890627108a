"""Check a definition's task requests against botocore's service models, without AWS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: botocore's service name of each Step Functions integration prefix.
SERVICE_ACTIONS = {
    "sagemaker": "sagemaker",
    "lambda": "lambda",
    "sns": "sns",
    "aws-sdk:ssm": "ssm",
}
# A stand-in value of each scalar shape type; strings and numbers honour the shape's minimum.
_SCALARS: dict[str, Any] = {
    "float": 1.0,
    "double": 1.0,
    "boolean": True,
    "timestamp": 0,
    "blob": b"x",
}


def validate_definition(definition: Mapping[str, Any]) -> list[str]:
    """Problems botocore's own validation finds in each task's request; empty when none.

    Each Task's ``Parameters`` are checked against the real service model of its API call
    (``sagemaker:createTrainingJob`` → SageMaker ``CreateTrainingJob``), with values read from
    the state (``Key.$``) replaced by a value of the right type.

    Parameters
    ----------
    definition
        A state machine definition (``workflow.definition.to_dict()``); tasks inside Parallel
        branches are checked too.

    Returns
    -------
    list of str
        ``<state> (<service>:<action>): <botocore's message>`` per invalid request.

    Examples
    --------
    >>> validate_definition({"StartAt": "Publish", "States": {"Publish": {
    ...     "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
    ...     "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message.$": "$.m"},
    ...     "End": True}}})
    []
    """
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    session = botocore.session.get_session()
    problems = []
    for state, service, action, params in _task_requests(definition["States"]):
        model = session.get_service_model(SERVICE_ACTIONS.get(service, service))
        operation = (
            "Invoke"
            if (service, action) == ("lambda", "invoke")
            else action[0].upper() + action[1:]
        )
        shape = model.operation_model(operation).input_shape
        request = _resolved(params, shape)
        if service == "lambda":
            request["Payload"] = json.dumps(request.get("Payload", {}))
        try:
            validate_parameters(request, shape)
        except ParamValidationError as error:
            problems.append(f"{state} ({service}:{action}): {error}")
    return problems


def _task_requests(states: Mapping[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(state, service, action, parameters) of every Task, inside Parallel branches too."""
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    for name, state in states.items():
        if state.get("Type") == "Task":
            resource = state["Resource"].removeprefix("arn:aws:states:::").removesuffix(".sync")
            service, _, action = resource.rpartition(":")
            found.append((name, service, action, state.get("Parameters", {})))
        for branch in state.get("Branches", []):
            found += _task_requests(branch["States"])
    return found


def _resolved(params: Any, shape: Any) -> Any:
    """Parameters with every ``Key.$`` path replaced by a value of the member's type."""
    if isinstance(params, dict) and shape is not None and shape.type_name == "structure":
        out: dict[str, Any] = {}
        for key, value in params.items():
            name = key.removesuffix(".$")
            member = shape.members.get(name)
            out[name] = (
                _dummy(member) if key.endswith(".$") and member else _resolved(value, member)
            )
        return out
    if isinstance(params, list) and shape is not None and shape.type_name == "list":
        return [_resolved(v, shape.member) for v in params]
    return params


def _dummy(shape: Any) -> Any:
    """A valid value of ``shape``: its required members only, a one-item list, an empty map."""
    kind = shape.type_name
    minimum = max(1, int(shape.metadata.get("min", 1)))
    if kind == "structure":
        return {name: _dummy(member) for name, member in shape.members.items()
                if name in shape.required_members}  # fmt: skip
    if kind == "list":
        return [_dummy(shape.member)]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return minimum
    if kind in _SCALARS:
        return _SCALARS[kind]
    return shape.enum[0] if shape.enum else "x" * minimum
