"""Step Functions on the twin: SageMaker .sync tasks, Lambda handlers, Choice, Parallel, SNS."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import mlaccel
from mlaccel import lambdas, notify
from mlaccel_twin.awslambda import seam as awslambda
from mlaccel_twin.sns import seam as sns
from mlaccel_twin.stepfunctions import seam as stepfunctions

HANDLER = """
import json, os

def score(event, context):
    print("scoring", event["value"])
    return {"score": event["value"] * int(os.environ["FACTOR"]), "fn": context.function_name}

def boom(event, context):
    raise ValueError("bad input: " + str(event))
"""


@pytest.fixture(scope="module")
def functions(conn: mlaccel.Connection, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("handler")
    (folder / "app.py").write_text(HANDLER)
    lambdas.deploy_function(
        "test-score", folder, "app.score", connection=conn, environment={"FACTOR": "3"}
    )
    return lambdas.deploy_function("test-boom", folder, "app.boom", connection=conn)


def run(conn: mlaccel.Connection, definition: dict[str, Any], payload: dict[str, Any]) -> dict:
    sfn = conn.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=conn.role_arn,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            described["history"] = sfn.get_execution_history(
                executionArn=execution["executionArn"]
            )["events"]
            return described
        time.sleep(0.2)
    raise AssertionError("execution did not end in 60 s")


def test_lambda_invoke_runs_the_handler(conn: mlaccel.Connection, functions: str) -> None:
    client = conn.client("lambda")
    out = client.invoke(FunctionName="test-score", Payload=json.dumps({"value": 7}))
    assert json.loads(out["Payload"].read()) == {"score": 21, "fn": "test-score"}
    failed = client.invoke(FunctionName="test-boom", Payload=b'{"x": 1}')
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError" and "bad input" in error["errorMessage"]


def test_redeploying_updates_instead_of_duplicating(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(HANDLER)
    lambdas.deploy_function(
        "test-redeploy", tmp_path, "app.score", connection=conn, environment={"FACTOR": "3"}
    )
    (tmp_path / "app.py").write_text(HANDLER.replace('int(os.environ["FACTOR"])', "10"))
    lambdas.deploy_function("test-redeploy", tmp_path, "app.score", connection=conn)
    out = conn.client("lambda").invoke(FunctionName="test-redeploy", Payload=b'{"value": 2}')
    assert json.loads(out["Payload"].read())["score"] == 20
    names = [f["FunctionName"] for f in conn.client("lambda").list_functions()["Functions"]]
    assert names.count("test-redeploy") == 1


def _training_job_params(conn: mlaccel.Connection, image: str) -> dict[str, Any]:
    return {
        "TrainingJobName.$": "$.job_name",
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": conn.role_arn,
        "OutputDataConfig": {"S3OutputPath": conn.s3_uri("sfn-test", "models")},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "HyperParameters": {"num_round": "5"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": conn.s3_uri("sfn-test", "train"),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
            }
        ],
    }


def test_sync_training_lambda_choice_parallel_succeed(
    conn: mlaccel.Connection, functions: str
) -> None:
    import sagemaker

    rows = "\n".join(f"{i % 7},{i % 3},{i % 5}" for i in range(60)) + "\n"
    conn.client("s3").put_object(Bucket=conn.bucket, Key="sfn-test/train/train.csv", Body=rows)
    image = sagemaker.image_uris.retrieve("xgboost", conn.region, "1.7-1")
    topic = notify.ensure_topic("sfn-test-topic", email="team@example.com", connection=conn)
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": _training_job_params(conn, image),
                "ResultSelector": {
                    "status.$": "$.TrainingJobStatus",
                    "model.$": "$.ModelArtifacts.S3ModelArtifacts",
                },
                "ResultPath": "$.training",
                "Next": "Score",
            },
            "Score": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "test-score", "Payload": {"value.$": "$.value"}},
                "ResultSelector": {"score.$": "$.Payload.score"},
                "ResultPath": "$.scored",
                "Next": "Good enough?",
            },
            "Good enough?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.scored.score", "NumericGreaterThan": 10, "Next": "Fan out"}
                ],
                "Default": "Too low",
            },
            "Too low": {"Type": "Fail", "Error": "ScoreTooLow"},
            "Fan out": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Notify",
                        "States": {
                            "Notify": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sns:publish",
                                "Parameters": {
                                    "TopicArn": topic,
                                    "Subject": "trained",
                                    "Message.$": "$.training.model",
                                },
                                "ResultSelector": {"sent": True},
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "Echo",
                        "States": {"Echo": {"Type": "Pass", "OutputPath": "$.scored", "End": True}},
                    },
                ],
                "ResultPath": "$.branches",
                "End": True,
            },
        },
    }
    job = f"sfn-train-{uuid.uuid4().hex[:6]}"
    result = run(conn, definition, {"value": 5, "job_name": job})
    assert result["status"] == "SUCCEEDED", result["history"][-3:]
    output = json.loads(result["output"])
    assert output["training"]["status"] == "Completed"
    assert output["training"]["model"].endswith(f"{job}/output/model.tar.gz")
    assert output["branches"] == [{"sent": True}, {"score": 15}]
    mails = notify.read_outbox(connection=conn, topic=topic)
    assert mails[-1]["subject"] == "trained" and mails[-1]["to"] == "team@example.com"


def test_failed_sync_job_is_caught(conn: mlaccel.Connection) -> None:
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": _training_job_params(conn, "example.com/unknown-image:1"),
                "Catch": [
                    {
                        "ErrorEquals": ["SageMaker.AmazonSageMakerException"],
                        "ResultPath": "$.error",
                        "Next": "Handled",
                    }
                ],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    result = run(conn, definition, {"job_name": f"sfn-bad-{uuid.uuid4().hex[:6]}"})
    assert result["status"] == "SUCCEEDED"
    error = json.loads(result["output"])["error"]
    assert error["Error"] == "SageMaker.AmazonSageMakerException"
    assert "unknown-image" in error["Cause"]


def test_seams_match_the_pinned_moto() -> None:
    stepfunctions.check_seams()
    awslambda.check_seams()
    sns.check_seams()
