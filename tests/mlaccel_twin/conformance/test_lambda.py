"""Lambda on the twin: a function's timeout is honoured and calls run side by side."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3

from mlaccel_twin import Twin
from tests.mlaccel_twin.conformance.aws import client, handler_zip

SLOW_HANDLER = """
import json
import os
import time


def lambda_handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {"statusCode": 200, "body": json.dumps({"slept": event.get("seconds", 0)}),
            "stage": os.environ["STAGE"], "left_ms": context.get_remaining_time_in_millis()}
"""


def test_lambda_honours_its_timeout_and_runs_calls_side_by_side(
    session: boto3.session.Session, twin: Twin
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    lambda_client = client(session, twin, "lambda")
    name = f"fidelity-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = client(session, twin, "iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": handler_zip(SLOW_HANDLER)},
        Timeout=3,
        Environment={"Variables": {"STAGE": "dev"}},
    )

    def invoke(seconds: float) -> dict[str, Any]:
        return dict(
            lambda_client.invoke(FunctionName=name, Payload=json.dumps({"seconds": seconds}))
        )

    started = time.monotonic()
    timed_out = invoke(20)
    assert time.monotonic() - started < 10  # stopped at its 3 s timeout, not after 20 s
    assert timed_out["FunctionError"] == "Unhandled"
    error = json.loads(timed_out["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in error["errorMessage"]

    invoke(0)  # a warm environment for the next call
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(invoke, [1.5, 1.5]))
    assert time.monotonic() - started < 2.9  # side by side, not one after the other
    for answer in answers:
        result = json.loads(answer["Payload"].read())
        assert result["stage"] == "dev"
        assert 0 < result["left_ms"] <= 3000
