"""The twin keeps its state: stop/start and kill -9 lose no S3 object, table, model package,
model, endpoint definition, state machine, function, Glue job, finished training job, monitoring
schedule (with its executions) or lineage; `mlaccel twin reset` forgets them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from mlaccel import cli
from mlaccel_twin import service_status, stop_service
from mlaccel_twin._service import start_service
from mlaccel_twin.clock import advance_clock
from tests.support import move_twin_clock_past_the_hour

ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "sagemaker.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
HANDLER = "def lambda_handler(event, context):\n    return {'doubled': event['x'] * 2}\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MLACCEL_HOME", str(tmp_path))
    yield tmp_path
    stop_service(tmp_path)


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id="twin",
        aws_secret_access_key="twin",  # pragma: allowlist secret (placeholder)
    )


def _write_a_suites_worth(url: str) -> dict[str, Any]:
    """What a notebook suite leaves behind, written as the SDK's users write it."""
    session = _session()
    s3 = session.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="durable")
    bodies = {f"data/part-{i:03d}.csv": os.urandom(2048 + i) for i in range(40)}
    bodies["models/folder/"] = b""
    for key, body in bodies.items():
        s3.put_object(Bucket="durable", Key=key, Body=body)
    s3.delete_object(Bucket="durable", Key="data/part-039.csv")
    del bodies["data/part-039.csv"]

    glue = session.client("glue", endpoint_url=url)
    glue.create_database(DatabaseInput={"Name": "lake"})
    glue.create_table(
        DatabaseName="lake",
        TableInput={
            "Name": "credit",
            "StorageDescriptor": {
                "Columns": [{"Name": "age", "Type": "int"}, {"Name": "score", "Type": "double"}],
                "Location": "s3://durable/data/",
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": "csv"},
        },
    )
    glue.batch_create_partition(
        DatabaseName="lake",
        TableName="credit",
        PartitionInputList=[
            {"Values": ["2026-12-01"], "StorageDescriptor": {"Location": "s3://durable/data/"}}
        ],
    )
    glue.create_job(
        Name="compact",
        Role="durable",
        Command={"Name": "pythonshell", "ScriptLocation": "s3://durable/code/compact.py"},
        DefaultArguments={"--day": "2026-12-01"},
        MaxCapacity=0.0625,
    )

    iam = session.client("iam", endpoint_url=url)
    role = iam.create_role(RoleName="durable", AssumeRolePolicyDocument=json.dumps(ROLE_TRUST))
    role_arn = role["Role"]["Arn"]

    sm = session.client("sagemaker", endpoint_url=url)
    sm.create_model_package_group(ModelPackageGroupName="credit-models")
    spec = {
        "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://durable/models/m.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    arns = [
        sm.create_model_package(
            ModelPackageGroupName="credit-models",
            InferenceSpecification=spec,
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties={"auc": f"0.8{i}"},
        )["ModelPackageArn"]
        for i in range(3)
    ]
    sm.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved")
    sm.create_model(
        ModelName="credit-model",
        ExecutionRoleArn=role_arn,
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": "s3://durable/models/m.tar.gz"},
        Tags=[{"Key": "product", "Value": "credit"}],
    )
    import numpy as np
    import xgboost as xgb

    rng = np.random.default_rng(0)
    booster = xgb.train({}, xgb.DMatrix(rng.random((30, 2)), rng.random(30)), 3)
    raw = bytes(booster.save_raw("ubj"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    s3.put_object(Bucket="durable", Key="models/m.tar.gz", Body=archive.getvalue())
    bodies["models/m.tar.gz"] = archive.getvalue()
    sm.create_endpoint_config(
        EndpointConfigName="credit-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "credit-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )

    sm.create_endpoint(EndpointName="credit-endpoint", EndpointConfigName="credit-config")
    move_twin_clock_past_the_hour(url)  # the one firing below is the schedule's only one
    sm.create_monitoring_schedule(
        MonitoringScheduleName="credit-drift",
        MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringJobDefinition": {
                "MonitoringInputs": [
                    {"EndpointInput": {"EndpointName": "credit-endpoint", "LocalPath": "/in"}}
                ],
                "MonitoringOutputConfig": {
                    "MonitoringOutputs": [
                        {"S3Output": {"S3Uri": "s3://durable/reports", "LocalPath": "/out"}}
                    ]
                },
                "MonitoringResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 1,
                    }
                },
                "MonitoringAppSpecification": {"ImageUri": "analyzer"},
                "RoleArn": role_arn,
            },
        },
    )
    advance_clock(url, "1h")  # one firing: the endpoint captures nothing, so it fails
    sm.stop_monitoring_schedule(MonitoringScheduleName="credit-drift")
    data = sm.create_artifact(
        Source={"SourceUri": "s3://durable/train/rows.csv"}, ArtifactType="DataSet"
    )["ArtifactArn"]
    deployed = sm.create_context(
        ContextName="credit-endpoint",
        ContextType="Endpoint",
        Source={"SourceUri": "credit-endpoint"},
    )["ContextArn"]
    sm.add_association(SourceArn=data, DestinationArn=deployed, AssociationType="ContributedTo")
    sfn = session.client("stepfunctions", endpoint_url=url)
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    sfn.create_state_machine(name="training", definition=json.dumps(definition), roleArn=role_arn)

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", HANDLER)
    session.client("lambda", endpoint_url=url).create_function(
        FunctionName="doubler",
        Runtime="python3.11",
        Role=role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=10,
    )
    training_rows = "\n".join(f"{i % 3},{i},{i * 2}" for i in range(60))
    s3.put_object(Bucket="durable", Key="train/rows.csv", Body=training_rows.encode())
    bodies["train/rows.csv"] = training_rows.encode()
    sm.create_training_job(
        TrainingJobName="credit-train",
        AlgorithmSpecification={"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        HyperParameters={"num_round": "3", "objective": "reg:squarederror"},
        RoleArn=role_arn,
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://durable/train/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://durable/jobs"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="credit-train", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    job = sm.describe_training_job(TrainingJobName="credit-train")
    for listed in s3.list_objects_v2(Bucket="durable", Prefix="jobs/")["Contents"]:
        body = s3.get_object(Bucket="durable", Key=listed["Key"])["Body"].read()
        bodies[listed["Key"]] = body
    return {
        "checksums": {k: hashlib.sha256(v).hexdigest() for k, v in bodies.items()},
        "training_job": _job_outcome(job),
        "packages": arns,
        "prediction": float(booster.predict(xgb.DMatrix(np.array([[0.5, 0.5]])))[0]),
        "lineage": _associations(sm),
        "manual_association": (data, "DataSet", deployed, "Endpoint"),
    }


def _associations(sm: Any) -> list[tuple[str, str, str, str]]:
    """Every lineage association: the ones written, and those the job and endpoint made."""
    return sorted(
        (a["SourceArn"], a["SourceType"], a["DestinationArn"], a["DestinationType"])
        for a in sm.list_associations()["AssociationSummaries"]
    )


def _job_outcome(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("TrainingJobStatus", "ModelArtifacts", "CreationTime", "TrainingEndTime")
    return {k: job.get(k) for k in keys} | {
        "metrics": sorted(m["MetricName"] for m in job.get("FinalMetricDataList", []))
    }


def _read_back(url: str) -> dict[str, Any]:
    session = _session()
    s3 = session.client("s3", endpoint_url=url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="durable").get("Contents", [])]
    checksums = {
        k: hashlib.sha256(s3.get_object(Bucket="durable", Key=k)["Body"].read()).hexdigest()
        for k in keys
    }
    glue = session.client("glue", endpoint_url=url)
    table = glue.get_table(DatabaseName="lake", Name="credit")["Table"]
    partitions = glue.get_partitions(DatabaseName="lake", TableName="credit")["Partitions"]
    glue_job = glue.get_job(JobName="compact")["Job"]
    sm = session.client("sagemaker", endpoint_url=url)
    packages = sm.list_model_packages(ModelPackageGroupName="credit-models")
    described = [
        sm.describe_model_package(ModelPackageName=p["ModelPackageArn"])
        for p in packages["ModelPackageSummaryList"]
    ]
    model = sm.describe_model(ModelName="credit-model")
    job = sm.describe_training_job(TrainingJobName="credit-train")
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="credit-drift")
    executions = sm.list_monitoring_executions(MonitoringScheduleName="credit-drift")
    listed_jobs = [j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"]]
    lam = session.client("lambda", endpoint_url=url)
    answer = lam.invoke(FunctionName="doubler", Payload=json.dumps({"x": 21}))
    sfn = session.client("stepfunctions", endpoint_url=url)
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="credit-endpoint", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    runtime = session.client("sagemaker-runtime", endpoint_url=url)
    answer_body = runtime.invoke_endpoint(
        EndpointName="credit-endpoint", ContentType="text/csv", Body=b"0.5,0.5"
    )["Body"].read()
    return {
        "prediction": round(float(answer_body), 5),
        "checksums": checksums,
        "training_job": _job_outcome(job),
        "training_jobs": listed_jobs,
        "schedule": (schedule["MonitoringScheduleStatus"], schedule["EndpointName"]),
        "schedule_executions": [
            e["MonitoringExecutionStatus"] for e in executions["MonitoringExecutionSummaries"]
        ],
        "lineage": _associations(sm),
        "columns": [c["Name"] for c in table["StorageDescriptor"]["Columns"]],
        "partitions": [p["Values"] for p in partitions],
        "glue_job": (glue_job["Command"]["ScriptLocation"], glue_job["DefaultArguments"]),
        "packages": {
            d["ModelPackageArn"]: (d["ModelApprovalStatus"], d["CustomerMetadataProperties"])
            for d in described
        },
        "model_tags": sm.list_tags(ResourceArn=model["ModelArn"])["Tags"],
        "endpoint_configs": [
            c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
        ],
        "state_machines": [m["name"] for m in sfn.list_state_machines()["stateMachines"]],
        "lambda_answer": json.loads(answer["Payload"].read()),
    }


def _expected(written: dict[str, Any]) -> dict[str, Any]:
    arns = written["packages"]
    return {
        "prediction": round(written["prediction"], 5),
        "checksums": written["checksums"],
        "training_job": written["training_job"],  # described as it ended, not run again
        "training_jobs": ["credit-train"],
        "schedule": ("Stopped", "credit-endpoint"),
        "schedule_executions": ["Failed"],
        "lineage": written["lineage"],
        "columns": ["age", "score"],
        "partitions": [["2026-12-01"]],
        "glue_job": ("s3://durable/code/compact.py", {"--day": "2026-12-01"}),
        "packages": {
            arns[0]: ("PendingManualApproval", {"auc": "0.80"}),
            arns[1]: ("Approved", {"auc": "0.81"}),
            arns[2]: ("PendingManualApproval", {"auc": "0.82"}),
        },
        "model_tags": [{"Key": "product", "Value": "credit"}],
        "endpoint_configs": ["credit-config"],
        "state_machines": ["training"],
        "lambda_answer": {"doubled": 42},
    }


@pytest.mark.slow
def test_kill_9_in_the_middle_loses_nothing_written_before(home: Path) -> None:
    first = start_service(home)
    written = _write_a_suites_worth(first.url)
    os.kill(first.pid, signal.SIGKILL)  # a crash: no chance to save anything more
    deadline = time.monotonic() + 30
    while service_status(home) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    second = start_service(home)
    assert second.pid != first.pid
    assert _read_back(second.url) == _expected(written)
    kinds = {(source, destination) for _, source, _, destination in written["lineage"]}
    assert written["manual_association"] in written["lineage"]
    assert {("DataSet", "TrainingJob"), ("TrainingJob", "Model")} <= kinds  # the job's own


@pytest.mark.slow
def test_stop_start_keeps_the_state_and_reset_forgets_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = _write_a_suites_worth(start_service(home).url)
    (home / "jobs" / "training" / "old-job").mkdir(parents=True)
    assert stop_service(home)
    restarted = start_service(home)
    assert _read_back(restarted.url) == _expected(written)
    assert not (home / "jobs" / "training" / "old-job").exists()  # cleaned with its state

    assert cli.main(["twin", "reset"]) == 0
    assert "twin reset: its state is empty (restarted)" in capsys.readouterr().out
    empty = service_status(home)
    assert empty is not None
    s3 = _session().client("s3", endpoint_url=empty.url)
    assert "durable" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    sm = _session().client("sagemaker", endpoint_url=empty.url)
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
