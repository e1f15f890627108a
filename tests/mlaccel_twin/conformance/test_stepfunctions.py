"""Step Functions on the twin as AWS answers it: executions without a name, history pages,
Choice rules through array indexes, definite paths."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlaccel_twin import Twin
from tests.mlaccel_twin.conformance.aws import ROLE, client


def _wait(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            assert described["status"] == "SUCCEEDED", described
            return dict(described)
        time.sleep(0.1)
    raise AssertionError(f"execution {arn} did not end in 60 s")


def _state_machine(sfn: Any, definition: dict[str, Any]) -> str:
    return str(
        sfn.create_state_machine(
            name=f"fidelity-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn=ROLE,
        )["stateMachineArn"]
    )


def test_executions_started_without_a_name_get_their_own_and_are_listed(
    session: boto3.session.Session, twin: Twin
) -> None:
    sfn = client(session, twin, "stepfunctions")
    arn = _state_machine(
        sfn, {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    )
    first = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert first != second
    assert not first.endswith(":None")
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert {e["executionArn"] for e in listed} == {first, second}
    assert all(len(e["name"]) == 36 for e in listed)  # a UUID, as AWS names them


def test_execution_history_pages_and_reads_newest_first(
    session: boto3.session.Session, twin: Twin
) -> None:
    sfn = client(session, twin, "stepfunctions")
    states = {f"Step{i}": {"Type": "Pass", "Next": f"Step{i + 1}"} for i in range(4)}
    states["Step4"] = {"Type": "Pass", "End": True}
    arn = _state_machine(sfn, {"StartAt": "Step0", "States": states})
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    _wait(sfn, execution)
    everything = sfn.get_execution_history(executionArn=execution)["events"]
    assert everything[0]["type"] == "ExecutionStarted"
    assert everything[-1]["type"] == "ExecutionSucceeded"
    newest = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)
    assert [e["type"] for e in newest["events"]] == ["ExecutionSucceeded"]
    assert "nextToken" in newest
    paged = [
        e["id"]
        for page in sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution, PaginationConfig={"PageSize": 3}
        )
        for e in page["events"]
    ]
    assert paged == [e["id"] for e in everything]
    with pytest.raises(ClientError, match="InvalidToken"):
        sfn.get_execution_history(executionArn=execution, nextToken="not-a-token")


def test_choice_rules_read_a_value_through_an_array_index(
    session: boto3.session.Session, twin: Twin
) -> None:
    sfn = client(session, twin, "stepfunctions")
    arn = _state_machine(
        sfn,
        {
            "StartAt": "CheckAccuracy",
            "States": {
                "CheckAccuracy": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Variable": "$.metrics[0].value",
                            "NumericGreaterThan": 0.8,
                            "Next": "Deploy",
                        }
                    ],
                    "Default": "Reject",
                },
                "Deploy": {"Type": "Pass", "Result": "deployed", "End": True},
                "Reject": {"Type": "Pass", "Result": "rejected", "End": True},
            },
        },
    )
    outcomes = {}
    for accuracy in (0.9, 0.5):
        payload = {"metrics": [{"name": "accuracy", "value": accuracy}]}
        execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
        outcomes[accuracy] = json.loads(_wait(sfn, execution["executionArn"])["output"])
    assert outcomes == {0.9: "deployed", 0.5: "rejected"}


def test_a_definite_path_to_a_list_keeps_the_list(
    session: boto3.session.Session, twin: Twin
) -> None:
    sfn = client(session, twin, "stepfunctions")
    arn = _state_machine(
        sfn,
        {
            "StartAt": "Pick",
            "States": {"Pick": {"Type": "Pass", "InputPath": "$.batches[1].rows", "End": True}},
        },
    )
    payload = {"batches": [{"rows": [1]}, {"rows": [2, 3]}]}
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
    assert json.loads(_wait(sfn, execution["executionArn"])["output"]) == [2, 3]
