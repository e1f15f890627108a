"""EventBridge delivery on the twin: what a target receives, and the call that delivers it.

A matched event goes to a ``states`` target as a new execution of the state machine, and to a
``lambda`` target as an asynchronous invocation, with the target's ``Input``, ``InputPath`` or
``InputTransformer`` applied as EventBridge does (:func:`target_input`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

DELIVERED = frozenset({"states", "lambda"})  # the target services the twin delivers to


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """The JSON a target receives for ``event``: its Input, InputPath or InputTransformer."""
    from jsonpath_ng.ext import parse  # type: ignore[attr-defined]
    from moto.events.utils import EventTemplateParser

    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        matches = parse(target["InputPath"]).find(event)
        return json.dumps(matches[0].value if matches else None)
    transformer = target.get("InputTransformer")
    if transformer:
        stamped = {"ingestion-time": event.get("time", ""), **event}
        parsed = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=stamped,  # type: ignore[arg-type]
        )
        return json.dumps(parsed)
    return json.dumps(event, default=str)


def target_service(target: dict[str, Any]) -> str:
    """The service of a target's ARN: ``states`` for ``arn:aws:states:...``.

    Examples
    --------
    >>> target_service({"Arn": "arn:aws:lambda:us-east-1:000000000000:function:f"})
    'lambda'
    """
    arn = str(target.get("Arn", ""))
    return arn.split(":")[2] if arn.count(":") >= 5 else ""


def deliver(target: dict[str, Any], event: dict[str, Any], client: Callable[[str], Any]) -> None:
    """Start the target's execution, or invoke its function, with the event.

    ``client(service)`` makes a boto3 client of the twin.
    """
    arn = str(target["Arn"])
    service = target_service(target)
    payload = target_input(target, event)
    if service == "states":
        # EventBridge names executions itself; a uuid is what it uses too.
        client("stepfunctions").start_execution(
            stateMachineArn=arn, name=str(uuid.uuid4()), input=payload
        )
    elif service == "lambda":
        client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=payload)
