"""The twin answers as AWS does where public SageMaker examples rely on it.

Each test is written as those examples write their code (boto3 clients, the SageMaker SDK's
estimators, processors and predictors); only the session wiring points at the twin.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import mlaccel
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


# -- SageMaker jobs ------------------------------------------------------------------------

HARD_CODED_PREPROCESS = """
import glob
import os

import pandas as pd

if __name__ == "__main__":
    frames = [pd.read_csv(f) for f in glob.glob("/opt/ml/processing/input/*.csv")]
    df = pd.concat(frames)
    os.makedirs("/opt/ml/processing/train", exist_ok=True)
    df[df["x"] > 1].to_csv("/opt/ml/processing/train/train.csv", index=False)
    print("rows kept:", int((df["x"] > 1).sum()))
"""


def test_processing_scripts_with_container_paths_run_and_log(
    conn: mlaccel.Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    script = tmp_path / "preprocessing.py"
    script.write_text(HARD_CODED_PREPROCESS)
    s3 = conn.client("s3")
    prefix = f"fidelity/{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/raw/data.csv", Body="x,y\n1,a\n2,b\n3,c\n")
    sklearn_processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=conn.role_arn,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        sagemaker_session=conn.sagemaker_session,
    )
    sklearn_processor.run(  # logs=True, the default: it reads ProcessingResources
        code=str(script),
        inputs=[
            ProcessingInput(
                source=f"s3://{conn.bucket}/{prefix}/raw",
                destination="/opt/ml/processing/input",
            )
        ],
        outputs=[
            ProcessingOutput(
                output_name="train",
                source="/opt/ml/processing/train",
                destination=f"s3://{conn.bucket}/{prefix}/train",
            )
        ],
    )
    assert "rows kept: 2" in capsys.readouterr().out
    body = s3.get_object(Bucket=conn.bucket, Key=f"{prefix}/train/train.csv")["Body"].read()
    assert body.decode().splitlines() == ["x,y", "2,b", "3,c"]
    job = sklearn_processor.jobs[-1].describe()
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"


HARD_CODED_TRAIN = """
import os
import pickle

import pandas as pd
from sklearn.linear_model import LinearRegression

if __name__ == "__main__":
    train = pd.read_csv("/opt/ml/input/data/train/train.csv", header=None)
    model = LinearRegression().fit(train.iloc[:, 1:], train.iloc[:, 0])
    with open(os.path.join("/opt/ml/model", "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    print("coefficient:", round(float(model.coef_[0]), 2))
"""


def test_training_scripts_with_container_paths_run(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    import io
    import pickle
    import tarfile

    from sagemaker.sklearn.estimator import SKLearn

    (tmp_path / "train.py").write_text(HARD_CODED_TRAIN)
    s3 = conn.client("s3")
    prefix = f"fidelity/{uuid.uuid4().hex[:8]}"
    rows = "".join(f"{2 * x + 1},{x}\n" for x in range(20))
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/train/train.csv", Body=rows)
    sklearn_estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(tmp_path),
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        role=conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
        output_path=f"s3://{conn.bucket}/{prefix}/output",
    )
    sklearn_estimator.fit({"train": f"s3://{conn.bucket}/{prefix}/train"}, logs=False)
    bucket, key = sklearn_estimator.model_data.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        model = pickle.loads(tar.extractfile("model.pkl").read())  # type: ignore[union-attr]
    assert round(float(model.coef_[0]), 2) == 2.0


def _libsvm_rows(n: int, seed: int) -> str:
    """1-based LIBSVM records, as the public XGBoost examples ship them (abalone)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n, 3))
    y = 10 * x[:, 0] + 2 * x[:, 2]
    return "".join(
        f"{label:.4f} " + " ".join(f"{j + 1}:{v:.4f}" for j, v in enumerate(row)) + "\n"
        for label, row in zip(y, x, strict=True)
    )


@pytest.mark.slow
def test_an_older_builtin_xgboost_pickles_its_model_and_1_based_libsvm_scores_everywhere(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    import io
    import pickle as pkl
    import tarfile

    import xgboost as xgb
    from sagemaker import image_uris
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import LibSVMSerializer

    s3 = conn.client("s3")
    prefix = f"fidelity/{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/train/abalone", Body=_libsvm_rows(200, 0))
    # an https:// object URL, as AWS accepts in S3Uri
    train_url = f"https://{conn.bucket}.s3.us-east-1.amazonaws.com/{prefix}/train"
    container = image_uris.retrieve("xgboost", conn.region, "1.2-1")
    xgb_model = Estimator(
        container,
        conn.role_arn,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{conn.bucket}/{prefix}/output",
        sagemaker_session=conn.sagemaker_session,
    )
    xgb_model.set_hyperparameters(objective="reg:squarederror", num_round=20, max_depth=3)
    xgb_model.fit({"train": TrainingInput(train_url, content_type="text/libsvm")}, logs=False)

    # The model file, read as the algorithm's documentation shows for these versions.
    bucket, key = xgb_model.model_data.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        tar.extractall(tmp_path, filter="data")
    with open(tmp_path / "xgboost-model", "rb") as model_file:
        booster = pkl.load(model_file)
    assert isinstance(booster, xgb.Booster)

    record = "1:0.9 2:0.5 3:0.5"
    predictor = xgb_model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.xlarge",
        serializer=LibSVMSerializer(),
    )
    try:
        served = float(predictor.predict(record).decode())
    finally:
        predictor.delete_endpoint()
    expected = float(booster.predict(xgb.DMatrix(np.array([[np.nan, 0.9, 0.5, 0.5]])))[0])
    assert served == pytest.approx(expected, rel=1e-5)
    assert served > 5  # 10 * 0.9 + 2 * 0.5 = 10: the 1-based first feature drives it

    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/batch/records", Body=record + "\n")
    transformer = xgb_model.transformer(
        instance_count=1,
        instance_type="ml.m5.xlarge",
        output_path=f"s3://{conn.bucket}/{prefix}/scored",
    )
    transformer.transform(
        f"s3://{conn.bucket}/{prefix}/batch", content_type="text/libsvm", split_type="Line"
    )
    transformer.wait(logs=False)
    # named after the input object, relative to the input prefix's folder
    scored = s3.get_object(Bucket=conn.bucket, Key=f"{prefix}/scored/batch/records.out")["Body"]
    assert float(scored.read().decode()) == pytest.approx(expected, rel=1e-5)


# -- model registry ------------------------------------------------------------------------


def test_approving_a_model_package_keeps_its_metadata(
    session: boto3.session.Session, twin: Twin
) -> None:
    sm = client(session, twin, "sagemaker")
    group = f"fidelity-{uuid.uuid4().hex[:8]}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties={"auc": "0.91", "training_data": "v3"},
        InferenceSpecification={
            "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"] == {"auc": "0.91", "training_data": "v3"}

    sm.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"owner": "risk"},
        CustomerMetadataPropertiesToRemove=["training_data"],
    )
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"  # not given: unchanged
    assert described["CustomerMetadataProperties"] == {"auc": "0.91", "owner": "risk"}


def test_list_models_filters_by_name_and_sorts(session: boto3.session.Session, twin: Twin) -> None:
    sm = client(session, twin, "sagemaker")
    tag = uuid.uuid4().hex[:8]
    for name in (f"churn-{tag}-a", f"churn-{tag}-b", f"credit-{tag}"):
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "xgboost", "ModelDataUrl": "s3://b/model.tar.gz"},
        )
    listed = sm.list_models(NameContains=f"CHURN-{tag}", SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in listed["Models"]] == [f"churn-{tag}-a", f"churn-{tag}-b"]
    newest_first = sm.list_models(NameContains=tag)["Models"]
    assert newest_first[0]["ModelName"] == f"credit-{tag}"
    assert sm.list_models(NameContains=tag, CreationTimeBefore=0)["Models"] == []


# -- Lambda and endpoints ------------------------------------------------------------------

SLOW_HANDLER = """
import json
import os
import time


def lambda_handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {"statusCode": 200, "body": json.dumps({"slept": event.get("seconds", 0)}),
            "stage": os.environ["STAGE"], "left_ms": context.get_remaining_time_in_millis()}
"""


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


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
        Code={"ZipFile": _zip(SLOW_HANDLER)},
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


def test_endpoints_refuse_payloads_over_6_mb_like_aws(conn: mlaccel.Connection) -> None:
    import xgboost as xgb
    from sagemaker.model import Model
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    rng = np.random.default_rng(0)
    booster = xgb.train(
        {"objective": "reg:squarederror"}, xgb.DMatrix(rng.random((50, 3)), rng.random(50)), 3
    )
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        raw = bytes(booster.save_raw("ubj"))
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    key = f"fidelity/{uuid.uuid4().hex[:8]}/model.tar.gz"
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=archive.getvalue())
    from sagemaker import image_uris

    model = Model(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        model_data=f"s3://{conn.bucket}/{key}",
        role=conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
    )
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    predictor = Predictor(
        endpoint_name=model.endpoint_name,
        sagemaker_session=conn.sagemaker_session,
        serializer=CSVSerializer(),
    )
    try:
        assert float(predictor.predict([0.1, 0.2, 0.3])) == pytest.approx(
            float(booster.predict(xgb.DMatrix(np.array([[0.1, 0.2, 0.3]])))[0]), rel=1e-5
        )
        too_big = "0.1,0.2,0.3\n" * (6 * 1024 * 1024 // 12 + 1000)
        with pytest.raises(ClientError) as raised:
            predictor.predict(too_big)
    finally:
        predictor.delete_endpoint()
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert "larger than the 6291456 bytes (6 MB)" in raised.value.response["Error"]["Message"]


def test_a_register_model_step_creates_its_package_group_when_missing(
    conn: mlaccel.Connection,
) -> None:
    from sagemaker import image_uris
    from sagemaker.model import Model
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline

    pipeline_session = conn.pipeline_session()
    group = f"fidelity-{uuid.uuid4().hex[:8]}"
    model = Model(
        image_uri=image_uris.retrieve("xgboost", conn.region, "1.7-1"),
        model_data=f"s3://{conn.bucket}/fidelity/model.tar.gz",
        role=conn.role_arn,
        sagemaker_session=pipeline_session,
    )
    register_args = model.register(
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.m5.large"],
        transform_instances=["ml.m5.large"],
        model_package_group_name=group,
        approval_status="PendingManualApproval",
        customer_metadata_properties={"source": "fidelity"},
    )
    pipeline = Pipeline(
        name=f"fidelity-{uuid.uuid4().hex[:8]}",
        steps=[ModelStep(name="RegisterModel", step_args=register_args)],
        sagemaker_session=pipeline_session,
    )
    pipeline.upsert(role_arn=conn.role_arn)
    execution = pipeline.start()
    execution.wait(delay=1)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    sm = conn.client("sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(packages) == 1
    assert packages[0]["ModelApprovalStatus"] == "PendingManualApproval"
    assert sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupName"]
