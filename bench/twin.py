"""What the twin costs: its start time, the overhead of a job, and restoring a suite's state.

- start: ``mlaccel twin start`` (a background service) until it answers, with an empty state.
- per-job overhead: a no-op training job (a script that does nothing), from the
  CreateTrainingJob request to ``Completed`` seen by DescribeTrainingJob (target: under 0.5 s).
- restore: a service started on the saved state of a suite run (S3 objects, catalog, registry,
  models, state machines, functions), until it answers with everything back. By default the
  state is written to stand for a suite's; ``--state HOME`` restores a real one instead: the
  twin home of a ``mlaccel notebooks run`` (``MLACCEL_HOME``), copied, so it stays as it was.

Each figure is the median of ``--runs`` runs, printed with the machine's load average, since
the machine may be shared. Run: ``.venv/bin/python bench/twin.py [--runs 5] [--state HOME]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3

from mlaccel_twin._service import start_service, stop_service

NOOP_SCRIPT = "print('nothing to train')\n"
SCRIPT_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
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


def clients(url: str) -> Any:
    session = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id="twin",
        aws_secret_access_key="twin",  # pragma: allowlist secret (placeholder)
    )
    return lambda service: session.client(service, endpoint_url=url)


def time_start(runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            started = time.perf_counter()
            info = start_service(Path(home))
            clients(info.url)("s3").list_buckets()
            samples.append(time.perf_counter() - started)
            stop_service(Path(home))
    return samples


def time_noop_jobs(runs: int) -> list[float]:
    """Seconds from CreateTrainingJob to Completed, for a job whose script does nothing."""
    with tempfile.TemporaryDirectory() as home:
        client = clients(start_service(Path(home)).url)
        s3, sm = client("s3"), client("sagemaker")
        s3.create_bucket(Bucket="bench")
        code = io.BytesIO()
        with tarfile.open(fileobj=code, mode="w:gz") as tar:
            info = tarfile.TarInfo("noop.py")
            info.size = len(NOOP_SCRIPT)
            tar.addfile(info, io.BytesIO(NOOP_SCRIPT.encode()))
        s3.put_object(Bucket="bench", Key="code/sourcedir.tar.gz", Body=code.getvalue())
        samples = []
        for run in range(runs + 1):  # the first one warms the service up: not counted
            name = f"noop-{run}-{int(time.time() * 1000)}"
            started = time.perf_counter()
            sm.create_training_job(
                TrainingJobName=name,
                AlgorithmSpecification={"TrainingImage": SCRIPT_IMAGE, "TrainingInputMode": "File"},
                RoleArn="arn:aws:iam::123456789012:role/bench",
                HyperParameters={
                    "sagemaker_program": json.dumps("noop.py"),
                    "sagemaker_submit_directory": json.dumps("s3://bench/code/sourcedir.tar.gz"),
                },
                OutputDataConfig={"S3OutputPath": "s3://bench/output"},
                ResourceConfig={
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 1,
                },
                StoppingCondition={"MaxRuntimeInSeconds": 60},
            )
            while True:
                status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
                if status != "InProgress":
                    break
                time.sleep(0.01)
            if status != "Completed":
                raise SystemExit(f"the no-op job ended {status}")
            if run:
                samples.append(time.perf_counter() - started)
        stop_service(Path(home))
    return samples


def write_suite_state(url: str) -> dict[str, int]:
    """A suite run's worth of state: what the notebooks leave in S3, the catalog, the registry."""
    client = clients(url)
    s3 = client("s3")
    s3.create_bucket(Bucket="suite")
    objects = 0
    for i in range(400):  # features, splits, models, captures, reports: 400 objects, ~40 MB
        s3.put_object(Bucket="suite", Key=f"run/{i // 50}/part-{i}.bin", Body=os.urandom(100_000))
        objects += 1
    glue = client("glue")
    glue.create_database(DatabaseInput={"Name": "lake"})
    for t in range(20):
        glue.create_table(
            DatabaseName="lake",
            TableInput={
                "Name": f"table_{t}",
                "StorageDescriptor": {
                    "Columns": [{"Name": f"c{c}", "Type": "double"} for c in range(30)],
                    "Location": f"s3://suite/run/{t}/",
                },
            },
        )
    role = client("iam").create_role(
        RoleName="suite", AssumeRolePolicyDocument=json.dumps(ROLE_TRUST)
    )["Role"]["Arn"]
    sm = client("sagemaker")
    spec = {
        "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://suite/run/0/part-0.bin"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    for g in range(2):
        sm.create_model_package_group(ModelPackageGroupName=f"product-{g}")
        for _ in range(10):
            sm.create_model_package(
                ModelPackageGroupName=f"product-{g}",
                InferenceSpecification=spec,
                ModelApprovalStatus="PendingManualApproval",
                CustomerMetadataProperties={"auc": "0.9"},
            )
    for m in range(20):
        sm.create_model(
            ModelName=f"model-{m}", ExecutionRoleArn=role, PrimaryContainer=spec["Containers"][0]
        )
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    for w in range(6):
        client("stepfunctions").create_state_machine(
            name=f"workflow-{w}", definition=definition, roleArn=role
        )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("app.py", "def handler(event, context):\n    return event\n")
    for f in range(5):
        client("lambda").create_function(
            FunctionName=f"function-{f}",
            Runtime="python3.11",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
        )
    return {"s3_objects": objects, "tables": 20, "model_packages": 20, "models": 20}


def time_restore(runs: int) -> tuple[list[float], dict[str, int]]:
    with tempfile.TemporaryDirectory() as home:
        sizes = write_suite_state(start_service(Path(home)).url)
        stop_service(Path(home))
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            info = start_service(Path(home))
            listed = clients(info.url)("s3").list_objects_v2(Bucket="suite", MaxKeys=1000)
            samples.append(time.perf_counter() - started)
            if listed["KeyCount"] != sizes["s3_objects"]:
                raise SystemExit(f"restored {listed['KeyCount']} of {sizes['s3_objects']} objects")
            stop_service(Path(home))
    return samples, sizes


def state_counts(url: str) -> dict[str, int]:
    """What a restored twin holds, counted through its API."""
    client = clients(url)
    s3, sm, glue = client("s3"), client("sagemaker"), client("glue")
    objects = sum(
        page.get("KeyCount", 0)
        for bucket in s3.list_buckets()["Buckets"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"])
    )
    tables = sum(
        len(page["TableList"])
        for database in glue.get_databases()["DatabaseList"]
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database["Name"])
    )
    packages = sum(
        len(
            sm.list_model_packages(ModelPackageGroupName=g["ModelPackageGroupName"])[
                "ModelPackageSummaryList"
            ]
        )
        for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    )
    return {
        "s3_objects": objects,
        "tables": tables,
        "model_packages": packages,
        "models": len(sm.list_models(MaxResults=100)["Models"]),
        "training_jobs": len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]),
        "state_machines": len(client("stepfunctions").list_state_machines()["stateMachines"]),
        "functions": len(client("lambda").list_functions()["Functions"]),
    }


def time_restore_of(state_home: Path, runs: int) -> tuple[list[float], dict[str, int]]:
    """Seconds to start on a copy of a real suite's saved state until it answers."""
    import shutil

    if not (state_home / "state" / "control").is_dir():
        raise SystemExit(f"{state_home} holds no saved twin state (no state/control folder)")
    samples, sizes = [], {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            shutil.copytree(state_home / "state", Path(home) / "state")
            started = time.perf_counter()
            info = start_service(Path(home))
            clients(info.url)("s3").list_buckets()
            samples.append(time.perf_counter() - started)
            sizes = state_counts(info.url)
            stop_service(Path(home))
    return samples, sizes


def _line(label: str, samples: list[float]) -> str:
    return (
        f"{label:<34} median {statistics.median(samples):6.3f} s  "
        f"(min {min(samples):.3f}, max {max(samples):.3f}, n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--state", type=Path, help="restore this twin home's saved state")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(_line("twin start (service, empty)", time_start(args.runs)))
    jobs = time_noop_jobs(args.runs)
    print(_line("no-op training job overhead", jobs) + "  target < 0.5 s")
    if args.state:
        restore, sizes = time_restore_of(args.state, args.runs)
    else:
        restore, sizes = time_restore(args.runs)
    print(_line("start with a suite's state", restore))
    print(f"  state restored: {', '.join(f'{v} {k}' for k, v in sizes.items())}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
