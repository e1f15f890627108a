"""Model serving on the twin: endpoints and transform jobs answer with the model's predictions."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

import mlaccel
from mlaccel.errors import InferenceError, JobFailed, MLAccelError, MLAccelInputError
from mlaccel_twin import serving
from mlaccel_twin.endpoints import seam as endpoint_seam
from mlaccel_twin.endpoints.capture import CaptureSpec
from mlaccel_twin.serving import ModelServer, load_predictor
from mlaccel_twin.transform import seam as transform_seam
from mlaccel_twin.transform.engine import run_transform_job
from mlaccel_twin.transform.json_path import select_json_path
from mlaccel_twin.transform.spec import TransformJobSpec
from tests.support import tarball, unique_name

N_FEATURES = 4


@dataclass(frozen=True)
class TrainedModel:
    name: str
    booster: xgb.Booster
    model_data_url: str

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(xgb.DMatrix(rows)))


def _train(seed: int, rows: int = 80) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    features = rng.random((rows, N_FEATURES))
    label = features @ rng.random(N_FEATURES) * 10
    params = {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1}
    return xgb.train(params, xgb.DMatrix(features, label=label), num_boost_round=8)


@pytest.fixture(scope="module")
def image_uri() -> str:
    import sagemaker

    return str(sagemaker.image_uris.retrieve("xgboost", "us-east-1", "1.7-1"))


@pytest.fixture(scope="module")
def models(conn: mlaccel.Connection, image_uri: str) -> dict[str, TrainedModel]:
    """Two different XGBoost models, uploaded as model.tar.gz and created as SageMaker models."""
    sagemaker_client = conn.client("sagemaker")
    trained = {}
    for label, seed in (("a", 1), ("b", 2)):
        booster = _train(seed)
        key = f"serving-tests/{unique_name(label)}/model.tar.gz"
        body = tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
        conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=body)
        name = unique_name(f"serving-model-{label}")
        url = f"s3://{conn.bucket}/{key}"
        sagemaker_client.create_model(
            ModelName=name,
            ExecutionRoleArn=conn.role_arn,
            PrimaryContainer={"Image": image_uri, "ModelDataUrl": url},
        )
        trained[label] = TrainedModel(name, booster, url)
    return trained


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(7).random((6, N_FEATURES))


def _csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def _wait_for(
    describe: Callable[[], dict[str, Any]], key: str, until: Callable[[str], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        description = describe()
        if until(description[key]) or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


def _deploy(
    conn: mlaccel.Connection,
    variants: list[tuple[str, str, float]],
    *,
    capture: dict[str, Any] | None = None,
    endpoint_name: str | None = None,
) -> str:
    """Create an endpoint config (and the endpoint unless it exists), wait for InService."""
    client = conn.client("sagemaker")
    config_name = unique_name("serving-config")
    extra = {"DataCaptureConfig": capture} if capture else {}
    client.create_endpoint_config(
        EndpointConfigName=config_name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": weight,
            }
            for variant, model, weight in variants
        ],
        **extra,
    )
    name = endpoint_name or unique_name("serving-endpoint")
    client.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
    described = _wait_for(
        lambda: client.describe_endpoint(EndpointName=name),
        "EndpointStatus",
        lambda status: status != "Creating",
    )
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    return name


def _invoke(conn: mlaccel.Connection, endpoint: str, body: str | bytes, **kwargs: Any) -> Any:
    return conn.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, Body=body, **kwargs
    )


# --------------------------------------------------------------------------- endpoints


def test_endpoint_answers_with_the_models_own_predictions(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    endpoint = _deploy(conn, [("AllTraffic", models["a"].name, 1.0)])
    expected = models["a"].predict(rows)

    csv_answer = _invoke(conn, endpoint, _csv(rows), ContentType="text/csv")
    assert csv_answer["ContentType"] == "text/csv"
    assert csv_answer["InvokedProductionVariant"] == "AllTraffic"
    csv_predictions = [float(v) for v in csv_answer["Body"].read().decode().splitlines()]
    np.testing.assert_allclose(csv_predictions, expected, rtol=1e-6)

    json_answer = _invoke(
        conn,
        endpoint,
        json.dumps({"instances": rows.tolist()}),
        ContentType="application/json",
        Accept="application/json",
        CustomAttributes="trace=42",
    )
    payload = json.loads(json_answer["Body"].read())
    np.testing.assert_allclose([p["score"] for p in payload["predictions"]], expected, rtol=1e-6)
    assert json_answer["CustomAttributes"] == "trace=42"

    one_row = _invoke(
        conn,
        endpoint,
        json.dumps({"features": rows[0].tolist()}),
        ContentType="application/json",
        Accept="application/jsonlines",
    )
    assert json.loads(one_row["Body"].read())["score"] == pytest.approx(expected[0], rel=1e-6)

    libsvm = "\n".join(" ".join(f"{i}:{float(v)!r}" for i, v in enumerate(row)) for row in rows[:2])
    libsvm_answer = _invoke(conn, endpoint, libsvm, ContentType="text/libsvm")
    np.testing.assert_allclose(
        [float(v) for v in libsvm_answer["Body"].read().split()], expected[:2], rtol=1e-6
    )


def test_sdk_predictor_with_csv_serializer(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    endpoint = _deploy(conn, [("AllTraffic", models["b"].name, 1.0)])
    predictor = Predictor(
        endpoint,
        sagemaker_session=conn.sagemaker_session,
        serializer=CSVSerializer(),
        deserializer=CSVDeserializer(),
    )
    answer = predictor.predict(rows)
    np.testing.assert_allclose(
        [float(row[0]) for row in answer], models["b"].predict(rows), rtol=1e-6
    )


def test_model_errors_and_unknown_endpoints_fail_like_aws(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    runtime = conn.client("sagemaker-runtime")
    endpoint = _deploy(conn, [("AllTraffic", models["a"].name, 1.0)])

    with pytest.raises(runtime.exceptions.ModelError) as bad_type:
        _invoke(conn, endpoint, b"\x89PNG", ContentType="image/png")
    error = bad_type.value.response
    assert error["OriginalStatusCode"] == 415
    assert "image/png" in error["Error"]["Message"] and "text/csv" in error["Error"]["Message"]
    assert bad_type.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424

    with pytest.raises(runtime.exceptions.ModelError) as too_many:
        _invoke(conn, endpoint, "1,2,3,4,5", ContentType="text/csv")
    assert too_many.value.response["OriginalStatusCode"] == 400
    assert "5 values" in too_many.value.response["OriginalMessage"]
    assert f"expects {N_FEATURES} features" in too_many.value.response["OriginalMessage"]

    with pytest.raises(runtime.exceptions.ValidationError, match="not found"):
        _invoke(conn, "serving-no-such-endpoint", "1,2,3,4", ContentType="text/csv")
    with pytest.raises(runtime.exceptions.ValidationError, match="TargetVariant"):
        _invoke(conn, endpoint, _csv(rows[:1]), ContentType="text/csv", TargetVariant="Nope")


def test_variants_share_traffic_by_weight_and_honour_target_variant(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    endpoint = _deploy(conn, [("Blue", models["a"].name, 3.0), ("Green", models["b"].name, 1.0)])
    served = [
        _invoke(conn, endpoint, _csv(rows[:1]), ContentType="text/csv")["InvokedProductionVariant"]
        for _ in range(8)
    ]
    assert served.count("Blue") == 6 and served.count("Green") == 2

    green = _invoke(conn, endpoint, _csv(rows), ContentType="text/csv", TargetVariant="Green")
    assert green["InvokedProductionVariant"] == "Green"
    np.testing.assert_allclose(
        [float(v) for v in green["Body"].read().split()], models["b"].predict(rows), rtol=1e-6
    )

    conn.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": "Blue", "DesiredWeight": 0.0},
            {"VariantName": "Green", "DesiredWeight": 1.0},
        ],
    )
    after = {
        _invoke(conn, endpoint, _csv(rows[:1]), ContentType="text/csv")["InvokedProductionVariant"]
        for _ in range(4)
    }
    assert after == {"Green"}


def test_data_capture_writes_sagemaker_capture_files(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    prefix = unique_name("serving-capture")
    destination = f"s3://{conn.bucket}/{prefix}"
    endpoint = _deploy(
        conn,
        [("AllTraffic", models["a"].name, 1.0)],
        capture={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": destination,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    description = conn.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    assert description["DataCaptureConfig"]["CaptureStatus"] == "Started"
    for row in rows[:3]:
        _invoke(conn, endpoint, _csv(row[None, :]), ContentType="text/csv", InferenceId="i-1")
    _invoke(conn, endpoint, json.dumps([rows[0].tolist()]), ContentType="application/json")

    s3 = conn.client("s3")
    deadline = time.monotonic() + 10
    keys: list[str] = []
    while time.monotonic() < deadline:
        found = s3.list_objects_v2(Bucket=conn.bucket, Prefix=f"{prefix}/").get("Contents", [])
        keys = [item["Key"] for item in found]
        events = [
            json.loads(line)
            for key in keys
            for line in s3.get_object(Bucket=conn.bucket, Key=key)["Body"].read().splitlines()
        ]
        if len(events) == 4:
            break
        time.sleep(0.2)
    assert len(events) == 4, keys
    for key in keys:
        parts = key.split("/")
        assert parts[1:3] == [endpoint, "AllTraffic"]
        assert [len(p) for p in parts[3:7]] == [4, 2, 2, 2]  # yyyy/mm/dd/hh
        assert parts[-1].endswith(".jsonl")
    csv_events = [e for e in events if e["captureData"]["endpointInput"]["encoding"] == "CSV"]
    assert len(csv_events) == 3
    first = csv_events[0]
    assert first["eventVersion"] == "0"
    assert first["eventMetadata"]["inferenceId"] == "i-1"
    assert first["eventMetadata"]["inferenceTime"].endswith("Z")
    captured_input = first["captureData"]["endpointInput"]
    assert captured_input["mode"] == "INPUT" and captured_input["observedContentType"] == "text/csv"
    output = first["captureData"]["endpointOutput"]
    assert output["mode"] == "OUTPUT" and output["encoding"] == "CSV"
    row = np.array([[float(v) for v in captured_input["data"].split(",")]])
    assert float(output["data"]) == pytest.approx(models["a"].predict(row)[0], rel=1e-6)
    json_event = next(e for e in events if e["captureData"]["endpointInput"]["encoding"] == "JSON")
    assert json.loads(json_event["captureData"]["endpointInput"]["data"]) == [rows[0].tolist()]


def test_capture_options_and_sampling_are_respected() -> None:
    spec = CaptureSpec.from_config(
        {
            "EnableCapture": True,
            "InitialSamplingPercentage": 0,
            "DestinationS3Uri": "s3://bucket/capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/jsonlines"]},
        }
    )
    assert spec is not None
    assert (spec.capture_input, spec.capture_output) == (True, False)
    assert spec.sampling_percentage == 0 and spec.destination == "s3://bucket/capture"
    assert spec.json_content_types == ("application/jsonlines",)
    assert CaptureSpec.from_config({"EnableCapture": False, "DestinationS3Uri": "s3://b"}) is None
    with pytest.raises(MLAccelInputError, match="s3://"):
        CaptureSpec.from_config({"EnableCapture": True, "DestinationS3Uri": "bucket/capture"})


def test_update_endpoint_swaps_the_model_without_failed_requests(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    client = conn.client("sagemaker")
    endpoint = _deploy(conn, [("AllTraffic", models["a"].name, 1.0)])
    old_url = _server_urls(conn, endpoint)
    body = _csv(rows[:2])
    expected_a, expected_b = models["a"].predict(rows[:2]), models["b"].predict(rows[:2])
    answers: list[np.ndarray] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def keep_invoking() -> None:
        runtime = conn.boto3_session.client(
            "sagemaker-runtime", region_name=conn.region, endpoint_url=conn.endpoint_url
        )
        while not stop.is_set():
            try:
                answer = runtime.invoke_endpoint(
                    EndpointName=endpoint, Body=body, ContentType="text/csv"
                )
                answers.append(np.array([float(v) for v in answer["Body"].read().split()]))
            except Exception as exc:  # every failure counts against the update
                failures.append(exc)

    invoker = threading.Thread(target=keep_invoking)
    invoker.start()
    try:
        time.sleep(0.2)
        config_b = unique_name("serving-config-b")
        client.create_endpoint_config(
            EndpointConfigName=config_b,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": models["b"].name,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        client.update_endpoint(EndpointName=endpoint, EndpointConfigName=config_b)
        assert client.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Updating"
        described = _wait_for(
            lambda: client.describe_endpoint(EndpointName=endpoint),
            "EndpointStatus",
            lambda status: status != "Updating",
        )
        count_at_switch = len(answers)
        deadline = time.monotonic() + 5
        while len(answers) < count_at_switch + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        invoker.join(timeout=30)
    assert not failures, failures[:3]
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == config_b
    assert any(np.allclose(a, expected_a, rtol=1e-6) for a in answers)
    np.testing.assert_allclose(answers[-1], expected_b, rtol=1e-6)
    assert all(
        np.allclose(a, expected_a, rtol=1e-6) or np.allclose(a, expected_b, rtol=1e-6)
        for a in answers
    )
    new_url = _server_urls(conn, endpoint)
    assert new_url != old_url
    assert not _answers_ping(old_url["AllTraffic"])


def test_failed_update_keeps_the_old_model_and_says_why(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray, image_uri: str
) -> None:
    client = conn.client("sagemaker")
    endpoint = _deploy(conn, [("AllTraffic", models["a"].name, 1.0)])
    broken = unique_name("serving-model-broken")
    client.create_model(
        ModelName=broken,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer={
            "Image": image_uri,
            "ModelDataUrl": f"s3://{conn.bucket}/serving-tests/missing/model.tar.gz",
        },
    )
    config = unique_name("serving-config-broken")
    client.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": broken,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    client.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    described = _wait_for(
        lambda: client.describe_endpoint(EndpointName=endpoint),
        "EndpointStatus",
        lambda status: status != "Updating",
    )
    assert described["EndpointStatus"] == "InService"
    assert "cannot download the model artifact" in described["FailureReason"]
    assert described["EndpointConfigName"] != config
    answer = _invoke(conn, endpoint, _csv(rows[:1]), ContentType="text/csv")
    assert float(answer["Body"].read()) == pytest.approx(models["a"].predict(rows[:1])[0], rel=1e-6)

    failed = unique_name("serving-endpoint-failed")
    client.create_endpoint(EndpointName=failed, EndpointConfigName=config)
    described = _wait_for(
        lambda: client.describe_endpoint(EndpointName=failed),
        "EndpointStatus",
        lambda status: status != "Creating",
    )
    assert described["EndpointStatus"] == "Failed"
    assert "missing/model.tar.gz" in described["FailureReason"]
    with pytest.raises(client.exceptions.ClientError, match="already existing"):
        client.create_endpoint(EndpointName=failed, EndpointConfigName=config)


def _server_urls(conn: mlaccel.Connection, endpoint: str) -> dict[str, str]:
    arn = conn.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    account = arn.split(":")[4]
    return endpoint_seam.fleet().variant_urls((account, conn.region, endpoint))


def _answers_ping(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/ping", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_delete_endpoint_stops_its_server(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    endpoint = _deploy(conn, [("AllTraffic", models["a"].name, 1.0)])
    urls = _server_urls(conn, endpoint)
    assert _answers_ping(urls["AllTraffic"])
    conn.client("sagemaker").delete_endpoint(EndpointName=endpoint)
    assert not _answers_ping(urls["AllTraffic"])
    runtime = conn.client("sagemaker-runtime")
    with pytest.raises(runtime.exceptions.ValidationError):
        _invoke(conn, endpoint, _csv(rows[:1]), ContentType="text/csv")


def test_autoscaling_of_a_variant_is_registered_and_describable(
    conn: mlaccel.Connection, models: dict[str, TrainedModel]
) -> None:
    endpoint = _deploy(conn, [("AllTraffic", models["a"].name, 1.0)])
    scaling = conn.client("application-autoscaling")
    resource = f"endpoint/{endpoint}/variant/AllTraffic"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=1,
        MaxCapacity=3,
    )
    scaling.put_scaling_policy(
        PolicyName=f"{endpoint}-invocations",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    )
    targets = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )
    assert targets["ScalableTargets"][0]["MaxCapacity"] == 3
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
    assert policies["ScalingPolicies"][0]["PolicyType"] == "TargetTrackingScaling"


# --------------------------------------------------------------------------- batch transform


def test_transform_joins_predictions_to_input_rows_by_id(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    from sagemaker.transformer import Transformer

    prefix = unique_name("serving-transform")
    s3 = conn.client("s3")
    ids = [f"car-{i}" for i in range(len(rows))]
    lines = [
        f"{record_id},{','.join(repr(float(v)) for v in row)}"
        for record_id, row in zip(ids, rows, strict=True)
    ]
    s3.put_object(
        Bucket=conn.bucket, Key=f"{prefix}/in/part-1.csv", Body="\n".join(lines[:4]) + "\n"
    )
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/in/more/part-2.csv", Body="\n".join(lines[4:]))
    transformer = Transformer(
        model_name=models["a"].name,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{conn.bucket}/{prefix}/out",
        accept="text/csv",
        assemble_with="Line",
        strategy="MultiRecord",
        sagemaker_session=conn.sagemaker_session,
    )
    transformer.transform(
        f"s3://{conn.bucket}/{prefix}/in/",
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        wait=False,
    )
    job_name = transformer.latest_transform_job.name
    client = conn.client("sagemaker")
    assert client.describe_transform_job(TransformJobName=job_name)["TransformJobStatus"] in {
        "InProgress",
        "Completed",
    }
    transformer.wait(logs=False)
    description = client.describe_transform_job(TransformJobName=job_name)
    assert description["TransformJobStatus"] == "Completed", description.get("FailureReason")

    outputs = {}
    for key in (f"{prefix}/out/part-1.csv.out", f"{prefix}/out/more/part-2.csv.out"):
        text = s3.get_object(Bucket=conn.bucket, Key=key)["Body"].read().decode()
        assert text.endswith("\n")
        for line in text.splitlines():
            record_id, prediction = line.split(",")
            outputs[record_id] = float(prediction)
    expected = dict(zip(ids, models["a"].predict(rows).tolist(), strict=True))
    assert outputs.keys() == expected.keys()
    for record_id, value in expected.items():
        assert outputs[record_id] == pytest.approx(value, rel=1e-6)

    logs = conn.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=f"{job_name}/"
    )["logStreams"]
    messages = [
        event["message"]
        for event in logs.get_log_events(
            logGroupName="/aws/sagemaker/TransformJobs",
            logStreamName=streams[0]["logStreamName"],
        )["events"]
    ]
    assert any("part-1.csv: 4 record(s)" in m for m in messages)
    assert messages[-1].startswith("Completed")


def test_transform_with_the_wrong_columns_fails_with_a_reason(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray
) -> None:
    prefix = unique_name("serving-transform-bad")
    s3 = conn.client("s3")
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/in.csv", Body="id-1," + _csv(rows[:1]))
    client = conn.client("sagemaker")
    name = unique_name("serving-bad-job")
    client.create_transform_job(
        TransformJobName=name,
        ModelName=models["a"].name,
        TransformInput={
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{conn.bucket}/{prefix}/in.csv",
                }
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{conn.bucket}/{prefix}/out"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    described = _wait_for(
        lambda: client.describe_transform_job(TransformJobName=name),
        "TransformJobStatus",
        lambda status: status not in {"InProgress"},
    )
    assert described["TransformJobStatus"] == "Failed"
    assert "400" in described["FailureReason"]
    assert f"expects {N_FEATURES} features" in described["FailureReason"]

    with pytest.raises(client.exceptions.ClientError, match="Could not find model"):
        client.create_transform_job(
            TransformJobName=unique_name("serving-no-model"),
            ModelName="serving-no-such-model",
            TransformInput={
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{conn.bucket}/x"}
                }
            },
            TransformOutput={"S3OutputPath": f"s3://{conn.bucket}/y"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )


def test_transform_of_json_lines_from_a_manifest_one_record_at_a_time(
    conn: mlaccel.Connection, tmp_path: Path, rows: np.ndarray
) -> None:
    import gzip

    booster = _train(8)
    predictor = load_predictor(
        _model_dir(tmp_path, booster), image_uri="xgboost", environment={"SAGEMAKER_BATCH": "true"}
    )
    prefix = unique_name("serving-manifest")
    s3 = conn.client("s3")
    records = [{"id": f"r{i}", "features": row.tolist()} for i, row in enumerate(rows)]
    for part, chunk in (("a.jsonl.gz", records[:3]), ("b.jsonl.gz", records[3:])):
        text = "\n".join(json.dumps(r) for r in chunk) + "\n"
        s3.put_object(
            Bucket=conn.bucket, Key=f"{prefix}/data/{part}", Body=gzip.compress(text.encode())
        )
    manifest = [{"prefix": f"s3://{conn.bucket}/{prefix}/data/"}, "a.jsonl.gz", "b.jsonl.gz"]
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/input.manifest", Body=json.dumps(manifest))
    spec = TransformJobSpec.from_request(
        name="manifest-job",
        model_name="unit",
        container={},
        transform_input={
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "ManifestFile",
                    "S3Uri": f"s3://{conn.bucket}/{prefix}/input.manifest",
                }
            },
            "ContentType": "application/jsonlines",
            "CompressionType": "Gzip",
            "SplitType": "Line",
        },
        transform_output={
            "S3OutputPath": f"s3://{conn.bucket}/{prefix}/out/",
            "AssembleWith": "Line",
        },
        batch_strategy="SingleRecord",
        data_processing={
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )
    lines: list[str] = []
    report = run_transform_job(
        spec, s3_client=s3, work_dir=tmp_path / "job", predictor=predictor, log_line=lines.append
    )
    assert (report.objects, report.records, report.requests) == (2, len(rows), len(rows))
    assert report.outputs[0].endswith(f"{prefix}/out/a.jsonl.gz.out")
    joined = [
        json.loads(line)
        for uri in report.outputs
        for line in s3.get_object(Bucket=conn.bucket, Key=uri.split("/", 3)[3])["Body"]
        .read()
        .splitlines()
    ]
    assert [r["id"] for r in joined] == [r["id"] for r in records]
    np.testing.assert_allclose(
        [r["SageMakerOutput"] for r in joined], booster.predict(xgb.DMatrix(rows)), rtol=1e-6
    )
    assert lines[-1].startswith("Completed")


def test_multi_record_batches_respect_max_payload(tmp_path: Path) -> None:
    from mlaccel_twin.transform.records import batches

    spec = TransformJobSpec.from_request(
        name="j",
        model_name="m",
        container={},
        transform_input={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}},
            "SplitType": "Line",
        },
        transform_output={"S3OutputPath": "s3://b/out"},
        max_payload_in_mb=1,
    )
    record = "x" * (300 * 1024)
    sizes = [len(batch) for batch in batches([record] * 7, spec)]
    assert sizes == [3, 3, 1]
    with pytest.raises(JobFailed, match="larger than MaxPayloadInMB"):
        list(batches(["y" * (2 * 1024 * 1024)], spec))
    with pytest.raises(MLAccelInputError, match="SplitType 'RecordIO'"):
        TransformJobSpec.from_request(
            name="j",
            model_name="m",
            container={},
            transform_input={
                "DataSource": {"S3DataSource": {"S3Uri": "s3://b/in"}},
                "SplitType": "RecordIO",
            },
            transform_output={"S3OutputPath": "s3://b/out"},
        )


@pytest.mark.parametrize(
    ("record", "path", "expected"),
    [
        (["id", "1", "2", "3"], "$", ["id", "1", "2", "3"]),
        (["id", "1", "2", "3"], "$[1:]", ["1", "2", "3"]),
        (["id", "1", "2", "0.9"], "$[0,-1]", ["id", "0.9"]),
        (["id", "1", "2", "3"], "$[1]", "1"),
        (["id", "1", "2", "3"], "$[0:3]", ["id", "1", "2"]),
        (["id", "1", "0.2", "0.7", "0.1"], "$[0,-3:]", ["id", "0.2", "0.7", "0.1"]),
        (["id", "a", "b", "c", "d", "e", "f"], "$[0,5:]", ["id", "e", "f"]),
        ({"id": 1, "features": [1, 2]}, "$.features", [1, 2]),
        ({"id": 1, "SageMakerOutput": {"score": 0.5}}, "$.SageMakerOutput.score", 0.5),
        (
            {"id": 1, "SageMakerOutput": 0.5, "x": 2},
            "$['id','SageMakerOutput']",
            {"id": 1, "SageMakerOutput": 0.5},
        ),
    ],
)
def test_json_path_subset(record: Any, path: str, expected: Any) -> None:
    assert select_json_path(record, path) == expected


def test_json_path_errors_are_clear() -> None:
    with pytest.raises(MLAccelInputError, match="start it with"):
        select_json_path([1], "[1:]", label="InputFilter")
    with pytest.raises(MLAccelInputError, match="cannot be read"):
        select_json_path([1], "$..x")
    with pytest.raises(MLAccelInputError, match=r"\[x:\] is not a slice like \[1:\]"):
        select_json_path([1], "$[0,x:]", label="OutputFilter")
    with pytest.raises(JobFailed, match="does not fit"):
        select_json_path(["a"], "$.features", label="InputFilter")


# --------------------------------------------------------------------------- predictors


def _model_dir(tmp_path: Path, booster: xgb.Booster, name: str = "xgboost-model") -> Path:
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(
        bytes(booster.save_raw("json" if name.endswith(".json") else "ubj"))
    )
    return folder


def test_predictor_contract_and_clear_errors(tmp_path: Path, rows: np.ndarray) -> None:
    booster = _train(3)
    predictor = load_predictor(
        _model_dir(tmp_path, booster, "model.json"), image_uri="xgboost", environment={}
    )
    expected = booster.predict(xgb.DMatrix(rows))
    body, content_type = predictor.predict(
        "\n".join(json.dumps({"features": r}) for r in rows.tolist()).encode(),
        "application/jsonlines",
        "text/csv",
    )
    assert content_type == "text/csv"
    np.testing.assert_allclose([float(v) for v in body.split()], expected, rtol=1e-6)
    with pytest.raises(InferenceError) as unsupported:
        predictor.predict(b"1,2", "application/x-parquet", None)
    assert unsupported.value.status == 415
    with pytest.raises(InferenceError) as not_acceptable:
        predictor.predict(_csv(rows).encode(), "text/csv", "image/png")
    assert not_acceptable.value.status == 406
    with pytest.raises(InferenceError, match="not a number") as not_numbers:
        predictor.predict(b"a,b,c,d", "text/csv", None)
    assert not_numbers.value.status == 400
    batch = load_predictor(
        tmp_path / "model", image_uri="xgboost", environment={"SAGEMAKER_BATCH": "true"}
    )
    batch_body, _ = batch.predict(_csv(rows).encode(), "text/csv", "application/json")
    assert len(batch_body.decode().splitlines()) == len(rows)  # one line per record in batch


def test_pickles_other_than_xgboost_models_are_refused(tmp_path: Path) -> None:
    import os
    import pickle

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "xgboost-model").write_bytes(b"\x80\x04\x95pickled")
    with pytest.raises(MLAccelInputError, match="is not a pickled XGBoost model"):
        load_predictor(folder, image_uri="xgboost", environment={})
    (folder / "xgboost-model").write_bytes(pickle.dumps(os.getcwd))
    with pytest.raises(MLAccelInputError, match=r"names posix\.getcwd; the twin unpickles XGBoost"):
        load_predictor(folder, image_uri="xgboost", environment={})
    (folder / "xgboost-model").unlink()
    with pytest.raises(MLAccelInputError, match="no model the twin can serve"):
        load_predictor(folder, image_uri="xgboost", environment={})


def test_linear_json_model_is_served(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    spec = {
        "feature_names": ["a", "b"],
        "coefficients": {"a": 2.0, "b": -1.0},
        "intercept": 0.5,
        "link": "logistic",
    }
    (folder / "linear-model.json").write_text(json.dumps(spec))
    predictor = load_predictor(folder, image_uri="sklearn", environment={})
    body, _ = predictor.predict(b"1,1\n0,0\n", "text/csv", "application/json")
    scores = [p["score"] for p in json.loads(body)["predictions"]]
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-np.array([1.5, 0.5]))), rtol=1e-9)

    # Under another name, next to nothing else, even behind the XGBoost image.
    (folder / "linear-model.json").rename(folder / "model.json")
    predictor = load_predictor(folder, image_uri="xgboost", environment={})
    assert predictor.predict(b"1,1\n", "text/csv", "text/csv")[0].startswith(b"0.817")
    with pytest.raises(InferenceError, match="expects 2 features"):
        predictor.predict(b"1,1,1\n", "text/csv", None)


def test_script_mode_handlers_are_used(tmp_path: Path, rows: np.ndarray) -> None:
    booster = _train(4)
    folder = _model_dir(tmp_path, booster)
    code = folder / "code"
    code.mkdir()
    (code / "helpers.py").write_text("OFFSET = 100.0\n")
    (code / "inference.py").write_text(
        "import json, os\n"
        "import numpy as np\n"
        "import xgboost as xgb\n"
        "from helpers import OFFSET\n\n"
        "def model_fn(model_dir):\n"
        "    booster = xgb.Booster()\n"
        "    with open(os.path.join(model_dir, 'xgboost-model'), 'rb') as f:\n"
        "        booster.load_model(bytearray(f.read()))\n"
        "    return booster\n\n"
        "def input_fn(body, content_type):\n"
        "    assert isinstance(body, str) and content_type == 'application/json'\n"
        "    return xgb.DMatrix(np.array(json.loads(body)['rows']))\n\n"
        "def predict_fn(data, model):\n"
        "    return model.predict(data) + OFFSET\n\n"
        "def output_fn(prediction, accept):\n"
        "    return json.dumps({'shifted': prediction.tolist()}), 'application/json'\n"
    )
    predictor = load_predictor(
        folder, image_uri="xgboost", environment={"SAGEMAKER_PROGRAM": "inference.py"}
    )
    body, content_type = predictor.predict(
        json.dumps({"rows": rows.tolist()}).encode(), "application/json", None
    )
    assert content_type == "application/json"
    np.testing.assert_allclose(
        json.loads(body)["shifted"], booster.predict(xgb.DMatrix(rows)) + 100.0, rtol=1e-6
    )
    with pytest.raises(InferenceError) as failing:
        predictor.predict(b"1,2", "text/csv", None)
    assert failing.value.status == 500


def test_script_without_handlers_falls_back_to_the_model(tmp_path: Path, rows: np.ndarray) -> None:
    booster = _train(5)
    folder = _model_dir(tmp_path, booster)
    submit = tmp_path / "src"
    submit.mkdir()
    (submit / "train.py").write_text("def main():\n    return 0\n")
    predictor = load_predictor(
        folder,
        image_uri="xgboost",
        environment={"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": str(submit)},
    )
    body, _ = predictor.predict(_csv(rows).encode(), "text/csv", None)
    np.testing.assert_allclose(
        [float(v) for v in body.split()], booster.predict(xgb.DMatrix(rows)), rtol=1e-6
    )
    with pytest.raises(MLAccelInputError, match=r"SAGEMAKER_PROGRAM='missing\.py'"):
        load_predictor(folder, image_uri="xgboost", environment={"SAGEMAKER_PROGRAM": "missing.py"})


def test_scripts_with_same_named_helpers_stay_apart(tmp_path: Path, rows: np.ndarray) -> None:
    booster = _train(9)
    answers = []
    for offset in (1.0, 2.0):
        folder = _model_dir(tmp_path / f"v{offset}", booster)
        code = folder / "code"
        code.mkdir()
        (code / "helpers.py").write_text(f"OFFSET = {offset}\n")
        (code / "inference.py").write_text(
            "from helpers import OFFSET\n\n"
            "def predict_fn(data, model):\n"
            "    return model.predict_matrix(data) + OFFSET\n"
        )
        predictor = load_predictor(
            folder, image_uri="xgboost", environment={"SAGEMAKER_PROGRAM": "inference.py"}
        )
        answers.append(predictor)
    expected = booster.predict(xgb.DMatrix(rows[:1]))[0]
    for offset, predictor in zip((1.0, 2.0), answers, strict=True):
        body, content_type = predictor.predict(_csv(rows[:1]).encode(), "text/csv", None)
        assert content_type == "application/json"
        assert json.loads(body)[0] == pytest.approx(expected + offset, rel=1e-6)


def test_sdk_deploys_a_script_mode_model_with_data_capture(
    conn: mlaccel.Connection, models: dict[str, TrainedModel], rows: np.ndarray, tmp_path: Path
) -> None:
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.model_monitor import DataCaptureConfig
    from sagemaker.serializers import CSVSerializer
    from sagemaker.xgboost import XGBoostModel

    source = tmp_path / "src"
    source.mkdir()
    (source / "serve.py").write_text(
        "import os\n"
        "import xgboost as xgb\n\n"
        "def model_fn(model_dir):\n"
        "    booster = xgb.Booster()\n"
        "    with open(os.path.join(model_dir, 'xgboost-model'), 'rb') as f:\n"
        "        booster.load_model(bytearray(f.read()))\n"
        "    return booster\n\n"
        "def predict_fn(data, model):\n"
        "    return model.predict(xgb.DMatrix(data)) * 2\n"
    )
    endpoint = unique_name("serving-sdk")
    capture_prefix = unique_name("serving-sdk-capture")
    model = XGBoostModel(
        model_data=models["a"].model_data_url,
        role=conn.role_arn,
        entry_point="serve.py",
        source_dir=str(source),
        framework_version="1.7-1",
        sagemaker_session=conn.sagemaker_session,
    )
    predictor = model.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        endpoint_name=endpoint,
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
        data_capture_config=DataCaptureConfig(
            enable_capture=True,
            sampling_percentage=100,
            destination_s3_uri=f"s3://{conn.bucket}/{capture_prefix}",
            sagemaker_session=conn.sagemaker_session,
        ),
    )
    np.testing.assert_allclose(predictor.predict(rows), models["a"].predict(rows) * 2, rtol=1e-6)
    predictor.delete_endpoint()  # flushes the capture buffer
    captured = conn.client("s3").list_objects_v2(Bucket=conn.bucket, Prefix=f"{capture_prefix}/")
    assert [item["Key"].split("/")[1] for item in captured["Contents"]] == [endpoint]


def test_registered_loader_is_tried_first(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "constant.txt").write_text("42")

    class Constant:
        def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
            return b"42\n" * len(body.splitlines()), "text/csv"

    serving.register_model_loader(
        lambda model_dir: (model_dir / "constant.txt").is_file(),
        lambda model_dir, environment: Constant(),
        name="constant",
    )
    predictor = load_predictor(folder, image_uri="anything", environment={})
    assert predictor.predict(b"1\n2\n", "text/csv", None) == (b"42\n42\n", "text/csv")


def test_model_server_speaks_the_inference_contract(tmp_path: Path, rows: np.ndarray) -> None:
    import http.client

    booster = _train(6)
    predictor = load_predictor(_model_dir(tmp_path, booster), image_uri="xgboost", environment={})
    with ModelServer(predictor, label="unit") as server:
        assert server.url.startswith("http://127.0.0.1:")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/ping")
        assert connection.getresponse().status == 200
        connection.close()

        def post(body: bytes, content_type: str) -> tuple[int, bytes, str | None]:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request(
                "POST",
                "/invocations",
                body=body,
                headers={
                    "Content-Type": content_type,
                    "Accept": "text/csv",
                    "X-Amzn-SageMaker-Custom-Attributes": "k=v",
                },
            )
            response = conn.getresponse()
            answer = (
                response.status,
                response.read(),
                response.getheader("X-Amzn-SageMaker-Custom-Attributes"),
            )
            conn.close()
            return answer

        results: list[tuple[int, bytes, str | None]] = []
        threads = [
            threading.Thread(target=lambda: results.append(post(_csv(rows).encode(), "text/csv")))
            for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expected = booster.predict(xgb.DMatrix(rows))
        for status, body, attributes in results:
            assert status == 200 and attributes == "k=v"
            np.testing.assert_allclose([float(v) for v in body.split()], expected, rtol=1e-6)
        assert post(b"x", "image/png")[0] == 415
    assert not server.running


class _EchoPredictor:
    """Answers with the number of bytes it was sent: the raw-socket tests need no model."""

    def predict(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        return f"{len(body)}\n".encode(), "text/csv"


def _send_raw(port: int, request: bytes) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(request)
    return client


def _post_head(content_length: str | None = None, *extra: str) -> bytes:
    lines = ["POST /invocations HTTP/1.1", "Host: 127.0.0.1", "Content-Type: text/csv", *extra]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_answer(client: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one answer read from a raw socket."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(65536)
        assert chunk, f"the server closed the connection without an answer: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    while len(body) < int(headers["content-length"]):
        chunk = client.recv(65536)
        assert chunk, "the server closed the connection in the middle of its answer"
        body += chunk
    return int(status_line.split()[1]), headers, body


def _closed_by_server(client: socket.socket) -> bool:
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize(
    ("content_length", "message"),
    [
        ("abc", "Content-Length 'abc' is not a whole number of bytes"),
        ("-1", "Content-Length '-1' is not a whole number of bytes"),
        ("1.5", "Content-Length '1.5' is not a whole number of bytes"),
        ("x" * 500, "(460 more characters)"),
    ],
)
def test_model_server_answers_400_to_a_malformed_content_length(
    content_length: str, message: str
) -> None:
    with ModelServer(_EchoPredictor(), label="raw") as server:
        client = _send_raw(server.port, _post_head(content_length))
        status, headers, body = _read_answer(client)
        assert status == 400
        assert message in body.decode()
        assert headers["connection"] == "close"
        assert _closed_by_server(client), "the body's end is unknown: the connection is closed"
        client.close()


def test_model_server_answers_400_to_two_different_content_lengths() -> None:
    with ModelServer(_EchoPredictor(), label="raw") as server:
        client = _send_raw(server.port, _post_head("3", "Content-Length: 4") + b"1,2,")
        status, _, body = _read_answer(client)
        client.close()
    assert status == 400
    assert "2 Content-Length headers that differ ('4', '3')" in body.decode()


def test_model_server_answers_411_without_a_length_and_to_chunked_bodies() -> None:
    with ModelServer(_EchoPredictor(), label="raw") as server:
        client = _send_raw(server.port, _post_head(None))
        status, _, body = _read_answer(client)
        client.close()
        assert status == 411
        assert "POST /invocations needs a Content-Length header" in body.decode()

        chunked = _post_head(None, "Transfer-Encoding: chunked") + b"3\r\n1,2\r\n0\r\n\r\n"
        client = _send_raw(server.port, chunked)
        status, headers, body = _read_answer(client)
        assert status == 411
        assert "chunked bodies are not supported" in body.decode()
        assert headers["connection"] == "close" and _closed_by_server(client)
        client.close()


def test_model_server_answers_413_past_the_endpoint_payload_limit() -> None:
    import http.client

    from mlaccel_twin.serving import MAX_REQUEST_BYTES

    assert MAX_REQUEST_BYTES == 6 * 1024 * 1024, "SageMaker real-time endpoints take 6 MB"
    with ModelServer(_EchoPredictor(), label="raw") as server:
        # Announced only: refused before any body byte is read.
        client = _send_raw(server.port, _post_head(str(MAX_REQUEST_BYTES + 1)))
        status, headers, body = _read_answer(client)
        assert status == 413
        assert f"{MAX_REQUEST_BYTES + 1} bytes is more than the {MAX_REQUEST_BYTES}" in (
            body.decode()
        )
        assert headers["connection"] == "close" and _closed_by_server(client)
        client.close()

        # More digits than int() reads (4300) is still a 413, not a dropped connection.
        client = _send_raw(server.port, _post_head("9" * 5000))
        status, _, body = _read_answer(client)
        assert status == 413 and "(4960 more characters) bytes is more than" in body.decode()
        client.close()

        # Sent in full by an ordinary client: it still reads the 413 rather than a reset.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request(
            "POST",
            "/invocations",
            body=b"1" * (MAX_REQUEST_BYTES + 1),
            headers={"Content-Type": "text/csv"},
        )
        response = connection.getresponse()
        assert response.status == 413 and b"send fewer records" in response.read()
        connection.close()

        # The limit itself is accepted.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("POST", "/invocations", body=b"1" * MAX_REQUEST_BYTES)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, f"{MAX_REQUEST_BYTES}\n".encode())
        connection.close()


def test_model_server_answers_408_to_a_short_body_and_serves_others_meanwhile() -> None:
    read_timeout = 0.5
    with ModelServer(_EchoPredictor(), label="raw", read_timeout=read_timeout) as server:
        started = time.monotonic()
        hung = _send_raw(server.port, _post_head("100") + b"1,2,3")

        # Another client is answered while the first one's body is still awaited.
        other = _send_raw(server.port, _post_head("5") + b"4,5,6")
        assert _read_answer(other)[::2] == (200, b"5\n")
        assert time.monotonic() - started < read_timeout
        other.close()

        status, headers, body = _read_answer(hung)
        waited = time.monotonic() - started
        assert status == 408
        assert "the body ended after 5 of the 100 bytes Content-Length announced" in (body.decode())
        assert read_timeout <= waited < read_timeout + 2
        assert headers["connection"] == "close" and _closed_by_server(hung)
        hung.close()


def test_model_server_read_timeout_covers_the_whole_body_not_each_read() -> None:
    read_timeout = 0.5
    with ModelServer(_EchoPredictor(), label="raw", read_timeout=read_timeout) as server:
        started = time.monotonic()
        client = _send_raw(server.port, _post_head("1000"))
        answer: list[tuple[int, dict[str, str], bytes]] = []
        reader = threading.Thread(target=lambda: answer.append(_read_answer(client)))
        reader.start()
        # One byte every 0.1 s: each read is quick, the body as a whole is not.
        while reader.is_alive() and time.monotonic() - started < 5:
            with contextlib.suppress(OSError):
                client.sendall(b"1")
            time.sleep(0.1)
        reader.join(timeout=5)
        client.close()
    assert answer and answer[0][0] == 408
    assert time.monotonic() - started < read_timeout + 2


def test_model_server_stops_promptly_with_a_silent_client_connected() -> None:
    server = ModelServer(_EchoPredictor(), label="raw", read_timeout=0.5).start()
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    time.sleep(0.1)  # accepted, its thread waits for a request line
    started = time.monotonic()
    stopping = threading.Thread(target=server.stop, daemon=True)
    stopping.start()
    stopping.join(timeout=5)
    assert not stopping.is_alive(), "stop() waited on a client that never sends"
    assert time.monotonic() - started < 2
    silent.close()


def test_model_server_read_timeout_must_be_positive() -> None:
    with pytest.raises(MLAccelInputError, match="read_timeout=0 must be more than 0 seconds"):
        ModelServer(_EchoPredictor(), read_timeout=0)


# --------------------------------------------------------------------------- the seams


def test_seams_are_installed_and_fit_moto(twin: Any) -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    endpoint_seam.check_seams()
    transform_seam.check_seams()
    for function in (
        SageMakerModelBackend.create_endpoint,
        SageMakerModelBackend.delete_endpoint,
        SageMakerModelBackend.create_transform_job,
        SageMakerResponse.update_endpoint,
        SageMakerResponse.stop_transform_job,
        SageMakerRuntimeResponse.invoke_endpoint,
    ):
        assert getattr(function, "_mlaccel_seam", False), function
    # The seam wraps moto's own handler, which would answer with static data.
    original = SageMakerRuntimeResponse.invoke_endpoint._mlaccel_original  # type: ignore[attr-defined]
    assert original.__module__ == "moto.sagemakerruntime.responses"


def test_seam_check_fails_loudly_when_moto_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend

    def create_endpoint(self: Any, endpoint_name: str, config: str) -> None:  # new signature
        return None

    monkeypatch.setattr(SageMakerModelBackend, "create_endpoint", create_endpoint)
    with pytest.raises(MLAccelError, match="create_endpoint"):
        endpoint_seam.check_seams()
    monkeypatch.delattr(FakeEndpoint, "_process_production_variants")
    with pytest.raises(MLAccelError, match="_process_production_variants is gone"):
        endpoint_seam.check_seams()

    def create_transform_job(self: Any, transform_job_name: str, model_name: str) -> None:
        return None

    monkeypatch.setattr(SageMakerModelBackend, "create_transform_job", create_transform_job)
    with pytest.raises(MLAccelError, match="create_transform_job"):
        transform_seam.check_seams()


def test_stop_transform_job_is_added(conn: mlaccel.Connection) -> None:
    client = conn.client("sagemaker")
    with pytest.raises(client.exceptions.ClientError, match="Could not find transform job"):
        client.stop_transform_job(TransformJobName="serving-no-such-job")


def test_capture_base64_for_other_content_types() -> None:
    from mlaccel_twin.endpoints.capture import CaptureWriter, Invocation, InvocationResult

    class FakeS3:
        def __init__(self) -> None:
            self.objects: dict[str, bytes] = {}

        def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
            self.objects[Key] = Body

    s3 = FakeS3()
    spec = CaptureSpec.from_config(
        {
            "EnableCapture": True,
            "DestinationS3Uri": "s3://bucket/cap",
            "CaptureOptions": [{"CaptureMode": "Output"}],
        }
    )
    assert spec is not None
    writer = CaptureWriter(spec, "ep", s3, flush_seconds=60)
    writer.record(
        "v1",
        Invocation(b"\x00\x01", "application/octet-stream"),
        InvocationResult(200, b"\x02", "application/x-npy", "v1"),
    )
    writer.close()
    ((key, body),) = s3.objects.items()
    assert key.startswith("cap/ep/v1/")
    event = json.loads(body)
    assert "endpointInput" not in event["captureData"]
    output = event["captureData"]["endpointOutput"]
    assert output["encoding"] == "BASE64" and base64.b64decode(output["data"]) == b"\x02"


# --------------------------------------------------------------------------- multiclass


def _train_classes(objective: str = "multi:softprob", seed: int = 11) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    features = rng.random((120, N_FEATURES))
    label = np.digitize(features[:, 0] + 0.5 * features[:, 1], [0.5, 1.0])
    params = {"objective": objective, "num_class": 3, "max_depth": 2, "nthread": 1}
    return xgb.train(params, xgb.DMatrix(features, label=label), num_boost_round=8)


def test_softprob_model_answers_the_probabilities_of_every_class(
    tmp_path: Path, rows: np.ndarray
) -> None:
    booster = _train_classes()
    expected = booster.predict(xgb.DMatrix(rows))
    assert expected.shape == (len(rows), 3)
    predictor = load_predictor(_model_dir(tmp_path, booster), image_uri="xgboost", environment={})
    body, content_type = predictor.predict(_csv(rows).encode(), "text/csv", "text/csv")
    lines = body.decode().splitlines()
    assert content_type == "text/csv" and len(lines) == len(rows)  # one line per record
    np.testing.assert_allclose(
        [[float(v) for v in ln.split(",")] for ln in lines], expected, rtol=1e-6
    )
    body, _ = predictor.predict(_csv(rows).encode(), "text/csv", "application/json")
    scores = [p["score"] for p in json.loads(body)["predictions"]]
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    body, _ = predictor.predict(_csv(rows[:2]).encode(), "text/csv", "application/jsonlines")
    np.testing.assert_allclose(
        [json.loads(line)["score"] for line in body.decode().splitlines()], expected[:2], rtol=1e-6
    )
    batch = load_predictor(
        tmp_path / "model", image_uri="xgboost", environment={"SAGEMAKER_BATCH": "true"}
    )
    body, _ = batch.predict(_csv(rows).encode(), "text/csv", "application/json")
    assert [len(line.split(",")) for line in body.decode().splitlines()] == [3] * len(rows)


def test_softmax_model_answers_the_class_index(tmp_path: Path, rows: np.ndarray) -> None:
    booster = _train_classes("multi:softmax")
    predictor = load_predictor(_model_dir(tmp_path, booster), image_uri="xgboost", environment={})
    body, _ = predictor.predict(_csv(rows).encode(), "text/csv", None)
    answered = [float(v) for v in body.decode().splitlines()]
    assert answered == booster.predict(xgb.DMatrix(rows)).tolist()
    assert set(answered) <= {0.0, 1.0, 2.0}


def _algorithm_layout(base: Path, hyperparameters: dict[str, str]) -> None:
    rng = np.random.default_rng(12)
    features = rng.random((90, N_FEATURES))
    label = np.digitize(features[:, 0], [0.33, 0.66])
    for channel, part in (("train", slice(0, 60)), ("validation", slice(60, 90))):
        folder = base / "input" / "data" / channel
        folder.mkdir(parents=True)
        data = np.column_stack([label[part], features[part]])
        np.savetxt(folder / "data.csv", data, delimiter=",", fmt="%.6g")
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channels = {c: {"ContentType": "text/csv"} for c in ("train", "validation")}
    (config / "inputdataconfig.json").write_text(json.dumps(channels))


def test_builtin_algorithm_trains_softprob_with_num_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlaccel_twin.sagemaker_jobs import xgboost_algorithm

    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    hyper = {"objective": "multi:softprob", "num_class": "3", "num_round": "10",
             "eval_metric": "mlogloss,merror"}  # fmt: skip
    _algorithm_layout(tmp_path, hyper)
    assert xgboost_algorithm.main() == 0
    assert "#011validation-mlogloss:" in capsys.readouterr().out
    booster = xgb.Booster()
    booster.load_model(bytearray((tmp_path / "model" / "xgboost-model").read_bytes()))
    probabilities = booster.predict(xgb.DMatrix(np.random.default_rng(1).random((4, N_FEATURES))))
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    without = tmp_path / "without"
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(without))
    _algorithm_layout(without, {k: v for k, v in hyper.items() if k != "num_class"})
    assert xgboost_algorithm.main() == 1
    assert (without / "output" / "failure").read_text() == (
        "AlgorithmError: Hyperparameter num_class (2 or more) is required for objective "
        "multi:softprob"
    )


def test_multiclass_endpoint_and_transform_answer_probabilities_per_record(
    conn: mlaccel.Connection, image_uri: str, rows: np.ndarray
) -> None:
    booster = _train_classes(seed=13)
    expected = booster.predict(xgb.DMatrix(rows))
    key = f"serving-tests/{unique_name('classes')}/model.tar.gz"
    body = tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=body)
    model = unique_name("serving-classes")
    conn.client("sagemaker").create_model(
        ModelName=model,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer={"Image": image_uri, "ModelDataUrl": f"s3://{conn.bucket}/{key}"},
    )
    endpoint = _deploy(conn, [("AllTraffic", model, 1.0)])
    answer = _invoke(conn, endpoint, _csv(rows), ContentType="text/csv")["Body"].read().decode()
    answered = [[float(v) for v in line.split(",")] for line in answer.splitlines()]
    np.testing.assert_allclose(answered, expected, rtol=1e-6)
    conn.client("sagemaker").delete_endpoint(EndpointName=endpoint)

    prefix = unique_name("serving-transform-classes")
    lines = [f"r{i},{','.join(repr(float(v)) for v in row)}" for i, row in enumerate(rows)]
    s3 = conn.client("s3")
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/in/part.csv", Body="\n".join(lines) + "\n")
    job = unique_name("classes-transform")
    conn.client("sagemaker").create_transform_job(
        TransformJobName=job,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                            "S3Uri": f"s3://{conn.bucket}/{prefix}/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{conn.bucket}/{prefix}/out",
                         "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-3:]"},
    )  # fmt: skip
    described = _wait_for(
        lambda: conn.client("sagemaker").describe_transform_job(TransformJobName=job),
        "TransformJobStatus",
        lambda status: status not in {"InProgress", "Stopping"},
    )
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    out = s3.get_object(Bucket=conn.bucket, Key=f"{prefix}/out/part.csv.out")["Body"].read()
    joined = [line.split(",") for line in out.decode().splitlines()]
    assert [fields[0] for fields in joined] == [f"r{i}" for i in range(len(rows))]
    assert {len(fields) for fields in joined} == {1 + 3}  # the id and every class's probability
    np.testing.assert_allclose(
        [[float(v) for v in fields[-3:]] for fields in joined], expected, rtol=1e-6
    )


def test_linear_softmax_model_answers_every_class_probability(tmp_path: Path) -> None:
    coefficients = [[1.0, -1.0, 0.0], [0.5, 0.5, -1.0]]  # 2 features x 3 classes
    spec = {"coefficients": coefficients, "intercept": [0.1, 0.0, -0.1], "link": "softmax",
            "mean": [1.0, 0.0], "scale": [2.0, 1.0]}  # fmt: skip
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "linear-model.json").write_text(json.dumps(spec))
    predictor = load_predictor(folder, image_uri="twin/linear-learner", environment={})
    rows = np.array([[3.0, 1.0], [1.0, -2.0]])
    scores = ((rows - [1.0, 0.0]) / [2.0, 1.0]) @ np.array(coefficients) + [0.1, 0.0, -0.1]
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    body, _ = predictor.predict(_csv(rows).encode(), "text/csv", "text/csv")
    answered = [[float(v) for v in line.split(",")] for line in body.decode().splitlines()]
    np.testing.assert_allclose(answered, expected, rtol=1e-9)
    (folder / "linear-model.json").write_text(json.dumps({**spec, "intercept": [0.1, 0.0]}))
    with pytest.raises(MLAccelInputError, match="one intercept per class"):
        load_predictor(folder, image_uri="twin/linear-learner", environment={})
