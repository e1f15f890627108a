"""Glue jobs on the twin, written as boto3 users and Step Functions definitions write them: a
Python shell job really runs its script with its arguments, a failing script fails its run with
the error, Spark jobs are refused with the reason, a job runs at most its MaxConcurrentRuns at
once, and ``glue:startJobRun.sync`` waits for the run and passes it on (or fails into its
Catch, with Glue's error when StartJobRun itself is refused)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

import mlaccel
from tests.mlaccel_twin.conformance.aws import ROLE

COPY_SCRIPT = """
import argparse, os
import boto3

parser = argparse.ArgumentParser()
parser.add_argument("--source")
parser.add_argument("--target")
parser.add_argument("--JOB_NAME")
args, _ = parser.parse_known_args()
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
bucket, _, key = args.source.removeprefix("s3://").partition("/")
rows = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
bucket, _, key = args.target.removeprefix("s3://").partition("/")
s3.put_object(Bucket=bucket, Key=key, Body=f"{args.JOB_NAME} kept {len(rows)} rows")
print("done")
"""
FAILING_SCRIPT = "raise ValueError('the input has no id column')\n"
SLOW_SCRIPT = "import time\ntime.sleep(2)\n"


def _job(conn: mlaccel.Connection, script: str, command: str = "pythonshell", **job: Any) -> str:
    name = f"glue-{uuid.uuid4().hex[:8]}"
    key = f"glue/{name}/script.py"
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=script.encode())
    conn.client("glue").create_job(
        Name=name,
        Role=conn.role_arn,
        Command={
            "Name": command,
            "ScriptLocation": f"s3://{conn.bucket}/{key}",
            "PythonVersion": "3.9",
        },
        MaxCapacity=0.0625,
        **job,
    )
    return name


def _finished(conn: mlaccel.Connection, job: str, run_id: str) -> dict[str, Any]:
    glue = conn.client("glue")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        if run["JobRunState"] not in ("STARTING", "RUNNING", "STOPPING"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError(f"Glue run {run_id} of {job} did not end in 60 s")


def test_a_python_shell_job_runs_its_script_with_its_arguments(conn: mlaccel.Connection) -> None:
    source = f"s3://{conn.bucket}/glue/input.csv"
    conn.client("s3").put_object(Bucket=conn.bucket, Key="glue/input.csv", Body=b"a\nb\nc\n")
    job = _job(conn, COPY_SCRIPT, DefaultArguments={"--source": source, "--target": "unset"})
    target = f"s3://{conn.bucket}/glue/{job}/out.txt"
    run_id = conn.client("glue").start_job_run(JobName=job, Arguments={"--target": target})[
        "JobRunId"
    ]
    run = _finished(conn, job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["CompletedOn"] >= run["StartedOn"]
    body = conn.client("s3").get_object(Bucket=conn.bucket, Key=f"glue/{job}/out.txt")["Body"]
    assert body.read().decode() == f"{job} kept 3 rows"


def test_a_failing_script_fails_its_run_with_the_error(conn: mlaccel.Connection) -> None:
    job = _job(conn, FAILING_SCRIPT)
    run_id = conn.client("glue").start_job_run(JobName=job)["JobRunId"]
    run = _finished(conn, job, run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"].startswith("ValueError: the input has no id column")


def test_a_spark_job_is_refused_with_the_reason(conn: mlaccel.Connection) -> None:
    job = _job(conn, "print('spark')\n", command="glueetl")
    run_id = conn.client("glue").start_job_run(JobName=job)["JobRunId"]
    run = _finished(conn, job, run_id)
    assert run["JobRunState"] == "FAILED"
    assert "runs only Python shell jobs" in run["ErrorMessage"]
    assert "MLACCEL_BACKEND=aws" in run["ErrorMessage"]


def test_a_job_runs_at_most_its_max_concurrent_runs_at_once(conn: mlaccel.Connection) -> None:
    glue = conn.client("glue")
    single = _job(conn, SLOW_SCRIPT)  # MaxConcurrentRuns is 1 unless the job says otherwise
    first = glue.start_job_run(JobName=single)["JobRunId"]
    with pytest.raises(ClientError) as refused:
        glue.start_job_run(JobName=single)
    assert refused.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    assert _finished(conn, single, first)["JobRunState"] == "SUCCEEDED"
    again = glue.start_job_run(JobName=single)["JobRunId"]  # the slot is free once it ends

    double = _job(conn, SLOW_SCRIPT, ExecutionProperty={"MaxConcurrentRuns": 2})
    runs = [glue.start_job_run(JobName=double)["JobRunId"] for _ in range(2)]
    states = {run["Id"]: run["JobRunState"] for run in glue.get_job_runs(JobName=double)["JobRuns"]}
    assert [states[run] for run in runs] == ["RUNNING", "RUNNING"]
    assert _finished(conn, single, again)["JobRunState"] == "SUCCEEDED"
    assert [_finished(conn, double, run)["JobRunState"] for run in runs] == ["SUCCEEDED"] * 2


def _caught_run(job_name: str, on_failure: str) -> dict[str, Any]:
    """A task that runs a Glue job to its end, its failure caught into ``$.error``."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {"JobName": job_name},
        "Catch": [
            {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": on_failure}
        ],
        "End": True,
    }


def _execute(conn: mlaccel.Connection, definition: dict[str, Any]) -> dict[str, Any]:
    sfn = conn.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"glue-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.2)
    raise AssertionError(f"execution {arn} did not end in 90 s")


@pytest.mark.slow
def test_start_job_run_sync_waits_for_the_run_and_catches_its_failure(
    conn: mlaccel.Connection,
) -> None:
    conn.client("s3").put_object(Bucket=conn.bucket, Key="glue/input.csv", Body=b"a\nb\n")
    good = _job(conn, COPY_SCRIPT)
    bad = _job(conn, FAILING_SCRIPT)
    target = f"s3://{conn.bucket}/glue/{good}/out.txt"
    definition = {
        "StartAt": "Copy",
        "States": {
            "Copy": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {
                    "JobName": good,
                    "Arguments": {
                        "--source": f"s3://{conn.bucket}/glue/input.csv",
                        "--target": target,
                    },
                },
                "ResultPath": "$.copy",
                "Next": "Validate",
            },
            "Validate": _caught_run(bad, "Invalid"),
            "Invalid": {"Type": "Pass", "End": True},
        },
    }
    execution = _execute(conn, definition)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["copy"]["JobRunState"] == "SUCCEEDED"
    assert output["copy"]["JobName"] == good
    assert output["error"]["Error"] == "States.TaskFailed"
    cause = json.loads(output["error"]["Cause"])
    assert cause["JobRunState"] == "FAILED"
    assert "the input has no id column" in cause["ErrorMessage"]
    assert conn.client("s3").get_object(Bucket=conn.bucket, Key=f"glue/{good}/out.txt")


def test_start_job_run_without_sync_answers_the_run_id(conn: mlaccel.Connection) -> None:
    job = _job(conn, "print('ok')\n")
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun",
                "Parameters": {"JobName": job},
                "End": True,
            }
        },
    }
    execution = _execute(conn, definition)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["JobName"] == job
    assert _finished(conn, job, output["JobRunId"])["JobRunState"] == "SUCCEEDED"


def test_a_refused_start_job_run_fails_the_task_with_glues_error(
    conn: mlaccel.Connection,
) -> None:
    missing = f"glue-missing-{uuid.uuid4().hex[:8]}"
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": _caught_run(missing, "Refused"),
            "Refused": {"Type": "Pass", "End": True},
        },
    }
    execution = _execute(conn, definition)
    assert execution["status"] == "SUCCEEDED", execution
    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "Glue.EntityNotFoundException"
    assert missing in error["Cause"]
    assert "Service: AWSGlue" in error["Cause"]
