"""The twin answers as AWS does where public SageMaker examples rely on it.

Each test is written as those examples write their code (boto3 clients, the SageMaker SDK's
estimators, processors and predictors); only the session wiring points at the twin.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mlaccel_twin import Twin

ROLE = "arn:aws:iam::123456789012:role/service-role/StepFunctionsWorkflowExecutionRole"


@pytest.fixture(scope="module")
def session(twin: Twin) -> boto3.session.Session:
    """A plain boto3 session; clients get the twin's URL as their endpoint."""
    return boto3.session.Session(region_name="us-east-1")


def client(session: boto3.session.Session, twin: Twin, service: str, **kwargs: Any) -> Any:
    return session.client(service, endpoint_url=twin.url, **kwargs)


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


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sagemaker", lambda c: c.list_lineage_groups(), "UnknownOperationException"),
        (
            "iam",
            lambda c: c.create_service_specific_credential(UserName="u", ServiceName="s"),
            "InvalidAction",
        ),
    ],
)
def test_unimplemented_operations_answer_awss_error_at_once_naming_themselves(
    session: boto3.session.Session, twin: Twin, service: str, call: Any, code: str
) -> None:
    sdk = client(session, twin, service, config=Config(retries={"mode": "standard"}))
    started = time.monotonic()
    with pytest.raises(ClientError) as raised:
        call(sdk)
    error = raised.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["RetryAttempts"] == 0  # a client error: not retried
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    operation = raised.value.operation_name
    assert f"does not implement {service}'s {operation} operation" in error["Error"]["Message"]
    assert time.monotonic() - started < 5
