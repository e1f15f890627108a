"""Actions the twin does not implement answer AWS's own error at once, naming themselves."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mlaccel_twin import Twin
from tests.mlaccel_twin.conformance.aws import client


@pytest.mark.parametrize(
    ("service", "call", "code", "status"),
    [
        ("sagemaker", lambda c: c.list_lineage_groups(), "UnknownOperationException", 400),
        (
            "iam",
            lambda c: c.create_service_specific_credential(UserName="u", ServiceName="s"),
            "InvalidAction",
            400,
        ),
        # a REST path no route knows (Flask's HTML 404 otherwise)
        (
            "lambda",
            lambda c: c.get_function_recursion_config(FunctionName="f"),
            "NotImplemented",
            501,
        ),
    ],
)
def test_unimplemented_operations_answer_awss_error_at_once_naming_themselves(
    session: boto3.session.Session, twin: Twin, service: str, call: Any, code: str, status: int
) -> None:
    sdk = client(session, twin, service, config=Config(retries={"mode": "standard"}))
    started = time.monotonic()
    with pytest.raises(ClientError) as raised:
        call(sdk)
    error = raised.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["RetryAttempts"] == 0  # a client error: not retried
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    operation = raised.value.operation_name
    assert f"does not implement {service}'s {operation} operation" in error["Error"]["Message"]
    assert time.monotonic() - started < 5
