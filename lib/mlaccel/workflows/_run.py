"""Create or update a state machine, run it, wait for its end and read its history."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlaccel.cleanup import current_run_id
from mlaccel.errors import MLAccelError

if TYPE_CHECKING:
    from mlaccel._connect import Connection


def create_or_update(workflow: Any, *, connection: Connection) -> str:
    """Create the state machine, or update it in place when one has the name.

    Parameters
    ----------
    workflow
        A ``stepfunctions`` Workflow (:func:`mlaccel.workflows.training_workflow`...); it is
        given the connection's Step Functions client and its state machine's ARN.
    connection
        Where the state machine lives.

    Returns
    -------
    str
        The state machine's ARN.
    """
    sfn = connection.client("stepfunctions")
    workflow.client = sfn
    existing = [
        machine["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if machine["name"] == workflow.name
    ]
    if not existing:
        return str(workflow.create())
    workflow.state_machine_arn = existing[0]
    sfn.update_state_machine(
        stateMachineArn=existing[0],
        definition=workflow.definition.to_json(pretty=True),
        roleArn=workflow.role,
    )
    return str(existing[0])


def run_name(kind: str) -> str:
    """A unique, readable execution name such as ``train-20261130-184501-123``.

    Examples
    --------
    >>> run_name("train").startswith("train-")
    True
    """
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{kind}-{stamp}-{int(now * 1000) % 1000:03d}"


@dataclass(frozen=True)
class RunResult:
    """How an execution ended, its output and its step-by-step history."""

    arn: str
    status: str
    output: dict[str, Any] | None
    error: str
    cause: str
    events: list[dict[str, Any]]

    def steps(self) -> Any:
        """The history as a table: one row per state entered, with its outcome."""
        return history_table(self.events)

    def failure(self) -> str:
        """What went wrong first: the failed task's error and cause (a caught failure ends in
        a Fail state whose own cause is generic), or the execution's."""
        for event in self.events:
            if event["type"] in ("TaskFailed", "LambdaFunctionFailed"):
                details = _details(event)
                return f"{details.get('error', '')}: {details.get('cause', '')}"[:2000]
        return f"{self.error}: {self.cause}" if self.error else ""


def execute(
    workflow: Any,
    *,
    connection: Connection,
    inputs: Mapping[str, Any] | None = None,
    name: str | None = None,
    timeout_seconds: float = 1800,
) -> RunResult:
    """Start an execution and wait for its end.

    Parameters
    ----------
    workflow
        A ``stepfunctions`` Workflow; created (or updated) first if it has no state machine.
    connection
        Where it runs.
    inputs
        The execution input: settings that override the defaults baked in at build time. The
        current run id (:func:`mlaccel.cleanup.current_run_id`) is added as ``run_id`` unless
        given, so what the execution creates is tagged with the run that started it.
    name
        The execution's name (:func:`run_name` by default); its jobs are named after it.
    timeout_seconds
        How long to wait for the end.

    Returns
    -------
    RunResult
        Its status, output and history.

    Examples
    --------
    >>> run = execute(training, connection=conn, inputs={"metric_threshold": 900})  # doctest: +SKIP
    >>> run.status  # doctest: +SKIP
    'SUCCEEDED'
    """
    sfn = connection.client("stepfunctions")
    arn = workflow.state_machine_arn or create_or_update(workflow, connection=connection)
    execution_input = {"run_id": current_run_id(), **dict(inputs or {})}
    started = sfn.start_execution(
        stateMachineArn=arn, name=name or run_name("run"), input=json.dumps(execution_input)
    )
    return wait_for_execution(
        started["executionArn"], connection=connection, timeout=timeout_seconds
    )


def wait_for_execution(
    execution_arn: str, *, connection: Connection, timeout: float = 1800
) -> RunResult:
    """Poll an execution until it ends; return its status, output and history.

    Step Functions has no waiter for executions: the poll runs at the connection's pace
    (``connection.wait.poll_seconds``) up to ``timeout`` seconds.
    """
    from mlaccel.progress import progress_line

    sfn = connection.client("stepfunctions")
    deadline = time.monotonic() + timeout
    with progress_line(f"execution {execution_arn.rsplit(':', 1)[-1]}") as line:
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            line.update(f"RUNNING, in {_current_state(sfn, execution_arn)}")
            if time.monotonic() > deadline:
                raise MLAccelError(
                    f"execution {execution_arn} still running after {timeout:.0f} s; wait "
                    "longer (timeout=...) or look at its history (mlaccel.workflows.executions)"
                )
            time.sleep(connection.wait.poll_seconds)
        line.finish(described["status"])
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    output = described.get("output")
    return RunResult(
        arn=execution_arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error", ""),
        cause=described.get("cause", ""),
        events=[event for page in pages for event in page["events"]],
    )


def _current_state(sfn: Any, execution_arn: str) -> str:
    """The state the execution entered last, from the newest events of its history."""
    newest = sfn.get_execution_history(
        executionArn=execution_arn, reverseOrder=True, maxResults=100
    )["events"]
    entered = next(
        (e["stateEnteredEventDetails"]["name"] for e in newest if "stateEnteredEventDetails" in e),
        None,
    )
    return f"'{entered}'" if entered else "its first state"


def executions(state_machine_arn: str, *, connection: Connection) -> list[dict[str, Any]]:
    """The state machine's executions (``list_executions`` summaries), newest first."""
    sfn = connection.client("stepfunctions")
    found = [
        execution
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
        for execution in page["executions"]
    ]
    return sorted(found, key=lambda e: e["startDate"], reverse=True)


def wait_for_started_execution(
    state_machine_arn: str,
    after: datetime,
    *,
    connection: Connection,
    timeout: float = 60,
) -> str:
    """The ARN of the first execution started after ``after``, once it exists.

    For runs an event starts (:func:`mlaccel.workflows.start_on_new_data`): polls at the
    connection's pace up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = [
            e
            for e in executions(state_machine_arn, connection=connection)
            if e["startDate"] >= after
        ]
        if started:
            return str(started[-1]["executionArn"])
        time.sleep(connection.wait.poll_seconds)
    raise MLAccelError(
        f"no execution of {state_machine_arn} started within {timeout:.0f} s; check the rule's "
        "event pattern and that the bucket sends events to EventBridge"
    )


def history_table(events: list[dict[str, Any]]) -> Any:
    """One row per state: name, type, outcome and seconds from the execution's start.

    Parameters
    ----------
    events
        An execution's history events (``get_execution_history``), oldest first.

    Returns
    -------
    pandas.DataFrame
        Columns ``state``, ``type``, ``outcome``, ``started_s`` and ``seconds``.
    """
    import pandas as pd

    start = events[0]["timestamp"] if events else None
    rows: list[dict[str, Any]] = []
    open_states: dict[str, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            row = {"state": name, "type": kind.removesuffix("StateEntered"), "outcome": "entered"}
            row["started_s"] = (event["timestamp"] - start).total_seconds() if start else 0.0
            open_states[name] = row
            rows.append(row)
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if name in open_states:
                row = open_states.pop(name)
                row["outcome"] = "succeeded" if row["outcome"] == "entered" else row["outcome"]
                row["seconds"] = round(
                    (event["timestamp"] - start).total_seconds() - row["started_s"], 2
                )
        elif kind.endswith("Failed") and open_states:
            last = list(open_states.values())[-1]
            last["outcome"] = f"failed: {_details(event).get('error', '')}".strip()
    table = pd.DataFrame(rows, columns=["state", "type", "outcome", "started_s", "seconds"])
    table["started_s"] = table["started_s"].round(2)
    return table


def _details(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event's ``...EventDetails`` member (each event type names its own)."""
    return next((v for k, v in event.items() if k.endswith("EventDetails")), {})
