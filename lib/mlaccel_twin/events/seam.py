"""Seam: EventBridge rules deliver to Step Functions and Lambda targets on the twin.

moto 5.2.5 matches events against rules (events put with ``PutEvents`` and S3's EventBridge
notifications) but only delivers to log groups, queues and other buses. This seam delivers the
matched event to ``states`` targets (a new execution of the state machine) and ``lambda``
targets (an asynchronous invocation) through the twin's own API, applying the target's
``Input``, ``InputPath`` or ``InputTransformer`` as EventBridge does.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin.seams import fail_if_broken, missing_attributes

log = logging.getLogger(__name__)


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


DELIVERED = {"states", "lambda"}


def target_service(target: dict[str, Any]) -> str:
    """``states`` for ``arn:aws:states:...``."""
    arn = str(target.get("Arn", ""))
    return arn.split(":")[2] if arn.count(":") >= 5 else ""


def deliver(target: dict[str, Any], event: dict[str, Any]) -> None:
    """Start the target's execution, or invoke its function, with the event."""
    arn = str(target["Arn"])
    service = target_service(target)
    payload = target_input(target, event)
    runtime = active_runtime()
    if service == "states":
        # EventBridge names executions itself; a uuid is what it uses too.
        runtime.client("stepfunctions").start_execution(
            stateMachineArn=arn, name=str(uuid.uuid4()), input=payload
        )
    elif service == "lambda":
        runtime.client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=payload)


def install(runtime: TwinRuntime) -> None:
    import copy

    from moto.events.models import Rule

    check_seams()
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        ours = [t for t in self.targets if target_service(t) in DELIVERED]
        others = [t for t in self.targets if target_service(t) not in DELIVERED]
        if others:
            # moto raises on target types it does not know: give it only its own.
            theirs = copy.copy(self)
            theirs.targets = others
            original(theirs, original_event, transform_input)
        if self.state != "ENABLED" or self.scheduled_expression:
            return  # scheduled rules match no event (an empty pattern would match them all)
        if not self.event_pattern.matches_event(original_event):
            return
        for target in ours:
            try:
                deliver(target, dict(original_event))
            except Exception:  # delivery is asynchronous in AWS: never fail the sender
                log.exception("could not deliver an event of rule %s to %s", self.name, target)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def check_seams() -> None:
    """Fail loudly when moto's EventBridge rule no longer has what the seam extends."""
    from moto.events.models import Rule
    from moto.events.utils import EventTemplateParser

    needed = [(Rule, "send_to_targets"), (EventTemplateParser, "parse")]
    fail_if_broken("events", missing_attributes(needed))
