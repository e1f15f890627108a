"""mlaccel.inference on the twin: endpoints serve the model's own predictions, end to end."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import mlaccel
from mlaccel import inference
from mlaccel.cleanup import kit_tags, tag_list
from mlaccel.errors import MLAccelError, MLAccelInputError
from tests.support import tarball, unique_name

N_FEATURES = 5


@dataclass(frozen=True)
class Model:
    booster: xgb.Booster
    model_data: str

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(xgb.DMatrix(rows)))


def _upload_model(conn: mlaccel.Connection, seed: int) -> Model:
    rng = np.random.default_rng(seed)
    features = rng.random((120, N_FEATURES))
    label = features @ rng.random(N_FEATURES) * 100
    params = {"objective": "reg:squarederror", "max_depth": 3, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(features, label=label), num_boost_round=10)
    key = f"inference-tests/{unique_name('model')}/model.tar.gz"
    body = tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=body)
    return Model(booster, f"s3://{conn.bucket}/{key}")


@pytest.fixture(scope="module")
def models(conn: mlaccel.Connection) -> dict[str, Model]:
    return {"a": _upload_model(conn, 1), "b": _upload_model(conn, 2)}


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.round(np.random.default_rng(11).random((12, N_FEATURES)), 6)


@pytest.fixture(scope="module")
def image_uri(conn: mlaccel.Connection) -> str:
    return inference.xgboost_image_uri(conn.region)


def _register(
    conn: mlaccel.Connection, group: str, model: Model, image_uri: str, status: str
) -> str:
    answer = conn.client("sagemaker").create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": image_uri, "ModelDataUrl": model.model_data}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    return str(answer["ModelPackageArn"])


# --------------------------------------------------------------------------- registry


def test_latest_model_package_prefers_the_newest_approved_version(
    conn: mlaccel.Connection, models: dict[str, Model], image_uri: str
) -> None:
    group = unique_name("inference-group")
    conn.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)
    approved = _register(conn, group, models["a"], image_uri, "Approved")
    _register(conn, group, models["b"], image_uri, "PendingManualApproval")

    package = inference.latest_model_package(group, connection=conn)
    assert package.arn == approved and package.approved and package.version == 1
    assert package.model_data_url == models["a"].model_data
    assert package.image_uri == image_uri and package.selection == "latest approved"

    anything = inference.latest_model_package(group, approved_only=False, connection=conn)
    assert anything.version == 2 and anything.approval_status == "PendingManualApproval"


def test_latest_model_package_falls_back_to_latest_registered_and_says_so(
    conn: mlaccel.Connection,
    models: dict[str, Model],
    image_uri: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = unique_name("inference-pending")
    conn.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)
    _register(conn, group, models["a"], image_uri, "PendingManualApproval")
    latest = _register(conn, group, models["b"], image_uri, "PendingManualApproval")
    with caplog.at_level(logging.WARNING, logger="mlaccel.inference"):
        package = inference.latest_model_package(group, connection=conn)
    assert package.arn == latest and not package.approved
    assert "no version is approved" in package.selection
    assert "no approved version" in caplog.text and group in caplog.text


def test_missing_group_or_empty_group_is_a_clear_error(conn: mlaccel.Connection) -> None:
    with pytest.raises(inference.ModelPackageNotFound, match=r"does not exist.*03_train_model"):
        inference.latest_model_package(unique_name("no-such-group"), connection=conn)
    empty = unique_name("inference-empty")
    conn.client("sagemaker").create_model_package_group(ModelPackageGroupName=empty)
    with pytest.raises(inference.ModelPackageNotFound, match="holds no model package"):
        inference.latest_model_package(empty, connection=conn)


# --------------------------------------------------------------------------- endpoints


def test_endpoint_from_model_package_predicts_what_the_model_predicts_and_captures(
    conn: mlaccel.Connection, models: dict[str, Model], rows: np.ndarray, image_uri: str
) -> None:
    group = unique_name("inference-serve")
    conn.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)
    _register(conn, group, models["a"], image_uri, "Approved")
    package = inference.latest_model_package(group, connection=conn)
    endpoint = unique_name("inference-endpoint")
    capture = conn.s3_uri(unique_name("inference-capture"))
    deployment = inference.deploy_model(
        endpoint, model_package=package, capture_uri=capture, connection=conn
    )
    try:
        assert (deployment.action, deployment.status) == ("created", "InService")
        assert deployment.capture_uri == capture and deployment.model_source == package.arn
        expected = models["a"].predict(rows)

        one = inference.predict(endpoint, rows[0].tolist(), inference_id="one", connection=conn)
        np.testing.assert_allclose(one, expected[:1], rtol=1e-6)
        batch = inference.predict(endpoint, rows, connection=conn)
        np.testing.assert_allclose(batch, expected, rtol=1e-6)
        frame = pd.DataFrame(rows, columns=[f"f{i}" for i in range(N_FEATURES)])
        split = inference.predict(endpoint, frame, max_request_bytes=200, connection=conn)
        np.testing.assert_allclose(split, expected, rtol=1e-6)

        names = [f"f{i}" for i in range(N_FEATURES)] + ["prediction"]
        captured = inference.read_captured_requests(
            endpoint,
            capture_uri=capture,
            feature_names=names,
            min_records=1 + 2 * len(rows),
            connection=conn,
        )
        assert len(captured) == 1 + 2 * len(rows)
        split_requests = len(list(inference.csv_payloads(frame, max_bytes=200)))
        assert split_requests > 1
        assert captured["eventId"].nunique() == 1 + 1 + split_requests, "one event per request"
        features = captured[names[:-1]].astype(float).to_numpy()
        scored = captured["prediction"].astype(float).to_numpy()
        np.testing.assert_allclose(scored, models["a"].predict(features), rtol=1e-6)
        later = datetime.now(UTC) + timedelta(hours=1)
        with pytest.raises(MLAccelError, match="found 0 captured record"):
            inference.read_captured_requests(
                endpoint, capture_uri=capture, since=later, timeout_seconds=0.3, connection=conn
            )
    finally:
        inference.delete_endpoint(endpoint, connection=conn)


def test_deploy_twice_updates_the_endpoint_and_cleans_up_the_old_config(
    conn: mlaccel.Connection, models: dict[str, Model], rows: np.ndarray
) -> None:
    client = conn.client("sagemaker")
    endpoint = unique_name("inference-update")
    first = inference.deploy_model(
        endpoint, model_data=models["a"].model_data, data_capture=False, connection=conn
    )
    assert first.action == "created" and first.capture_uri is None
    np.testing.assert_allclose(
        inference.predict(endpoint, rows, connection=conn), models["a"].predict(rows), rtol=1e-6
    )

    second = inference.deploy_model(endpoint, model_data=models["b"].model_data, connection=conn)
    try:
        assert (second.action, second.status) == ("updated", "InService")
        assert second.config_name != first.config_name
        described = client.describe_endpoint(EndpointName=endpoint)
        assert described["EndpointConfigName"] == second.config_name
        assert described["DataCaptureConfig"]["EnableCapture"] is True
        np.testing.assert_allclose(
            inference.predict(endpoint, rows, connection=conn),
            models["b"].predict(rows),
            rtol=1e-6,
        )
        with pytest.raises(client.exceptions.ClientError, match="Could not find"):
            client.describe_endpoint_config(EndpointConfigName=first.config_name)
        with pytest.raises(client.exceptions.ClientError, match="Could not find"):
            client.describe_model(ModelName=first.model_name)
    finally:
        deleted = inference.delete_endpoint(endpoint, connection=conn)
    assert deleted == [
        f"endpoint:{endpoint}",
        f"model:{second.model_name}",
        f"endpoint-config:{second.config_name}",
    ]
    assert inference.delete_endpoint(endpoint, connection=conn) == [], "idempotent"
    with pytest.raises(client.exceptions.ClientError, match="Could not find"):
        client.describe_endpoint(EndpointName=endpoint)


def test_deleting_an_endpoint_leaves_no_model_config_or_scaling_target_the_kit_made_for_it(
    conn: mlaccel.Connection, models: dict[str, Model], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Create → update → autoscale → delete: nothing the kit made for the endpoint is left,
    the leftovers of pipeline runs included (tagged for the endpoint, served by no endpoint)."""
    run_id = unique_name("run-inference")
    monkeypatch.setenv("MLACCEL_RUN_ID", run_id)
    client = conn.client("sagemaker")
    endpoint = unique_name("inference-nothing-left")
    first = inference.deploy_model(
        endpoint, model_data=models["a"].model_data, data_capture=False, connection=conn
    )
    second = inference.deploy_model(endpoint, model_data=models["b"].model_data, connection=conn)
    inference.register_autoscaling(endpoint, connection=conn)
    # what a training pipeline run leaves: the model of a run stopped at its threshold, and the
    # config and model of an earlier run whose endpoint was updated since
    made_for_it = tag_list(kit_tags(endpoint=endpoint))
    stray = f"{endpoint}-stray"
    client.create_model(
        ModelName=stray,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": models["a"].model_data},
        Tags=made_for_it,
    )
    client.create_endpoint_config(
        EndpointConfigName=stray,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": stray, "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}
        ],
        Tags=made_for_it,
    )  # fmt: skip
    someone_elses = f"{endpoint}-theirs"
    client.create_model(
        ModelName=someone_elses,
        ExecutionRoleArn=conn.role_arn,
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": models["a"].model_data},
    )
    tags = client.list_tags(
        ResourceArn=client.describe_endpoint(EndpointName=endpoint)["EndpointArn"]
    )
    assert {"Key": "mlaccel:run-id", "Value": run_id} in tags["Tags"]

    deleted = inference.delete_endpoint(endpoint, connection=conn)

    assert deleted == [
        f"scalable-target:endpoint/{endpoint}/variant/AllTraffic",
        f"endpoint:{endpoint}",
        f"model:{second.model_name}",
        f"endpoint-config:{second.config_name}",
        f"endpoint-config:{stray}",
        f"model:{stray}",
    ]
    assert first.config_name not in " ".join(deleted), "the update had removed the first config"
    assert not client.list_endpoints(NameContains=endpoint)["Endpoints"]
    assert not client.list_endpoint_configs(NameContains=endpoint)["EndpointConfigs"]
    # filtered here: the twin's ListModels ignores NameContains (other tests' models show up)
    left = [m["ModelName"] for m in client.list_models()["Models"] if endpoint in m["ModelName"]]
    assert left == [someone_elses], "a model without the kit's tag is left alone"
    scaling = conn.client("application-autoscaling")
    assert not scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{endpoint}/variant/AllTraffic"]
    )["ScalableTargets"]
    assert inference.delete_endpoint(endpoint, connection=conn) == [], "idempotent"
    client.delete_model(ModelName=someone_elses)


def test_a_failed_endpoint_is_reported_then_replaced(
    conn: mlaccel.Connection, models: dict[str, Model], rows: np.ndarray
) -> None:
    endpoint = unique_name("inference-failed")
    missing = conn.s3_uri("inference-tests/missing/model.tar.gz")
    with pytest.raises(inference.EndpointFailed, match=r"is Failed.*missing/model\.tar\.gz"):
        inference.deploy_model(endpoint, model_data=missing, connection=conn)
    try:
        again = inference.deploy_model(endpoint, model_data=models["a"].model_data, connection=conn)
        assert (again.action, again.status) == ("recreated", "InService")
        np.testing.assert_allclose(
            inference.predict(endpoint, rows[:3], connection=conn),
            models["a"].predict(rows[:3]),
            rtol=1e-6,
        )
    finally:
        inference.delete_endpoint(endpoint, connection=conn)


def test_latency_report_and_autoscaling_registration(
    conn: mlaccel.Connection, models: dict[str, Model], rows: np.ndarray
) -> None:
    endpoint = unique_name("inference-latency")
    inference.deploy_model(endpoint, model_data=models["a"].model_data, connection=conn)
    scaling = conn.client("application-autoscaling")
    resource = f"endpoint/{endpoint}/variant/AllTraffic"
    try:
        report = inference.measure_latency(
            endpoint, rows, n_requests=15, rows_per_request=4, progress=False, connection=conn
        )
        assert report.requests == 15 and report.rows_per_request == 4
        assert 0 < report.p50_ms <= report.p90_ms <= report.p99_ms <= report.max_ms
        assert report.rows_per_second == pytest.approx(report.requests_per_second * 4)
        assert set(report.as_dict()) >= {"p50_ms", "p99_ms", "rows_per_second"}

        policy = inference.register_autoscaling(
            endpoint,
            "AllTraffic",
            min_instances=1,
            max_instances=3,
            target_invocations_per_instance=50,
            connection=conn,
        )
        again = inference.register_autoscaling(
            endpoint, min_instances=2, max_instances=4, connection=conn
        )
        assert policy.resource_id == again.resource_id == resource
        target = scaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource]
        )["ScalableTargets"]
        assert [(t["MinCapacity"], t["MaxCapacity"]) for t in target] == [(2, 4)]
        policies = scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingPolicies"]
        assert len(policies) == 1
        tracking = policies[0]["TargetTrackingScalingPolicyConfiguration"]
        metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
        assert metric == "SageMakerVariantInvocationsPerInstance"
        with pytest.raises(MLAccelInputError, match="not a variant"):
            inference.register_autoscaling(endpoint, "Blue", connection=conn)
        with pytest.raises(MLAccelInputError, match="min_instances"):
            inference.register_autoscaling(
                endpoint, min_instances=3, max_instances=2, connection=conn
            )
    finally:
        deleted = inference.delete_endpoint(endpoint, connection=conn)
    assert deleted[0] == f"scalable-target:{resource}"
    assert not scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource]
    )["ScalableTargets"]


# --------------------------------------------------------------------------- batch transform


def test_batch_transform_scores_every_row_joined_by_id(
    conn: mlaccel.Connection, models: dict[str, Model], rows: np.ndarray
) -> None:
    model_name = inference.create_model(model_data=models["a"].model_data, connection=conn)
    prefix = unique_name("inference-transform")
    columns = [f"f{i}" for i in range(N_FEATURES)]
    frame = pd.DataFrame(rows, columns=columns)
    frame.insert(0, "record_id", [f"car-{i:03d}" for i in range(len(frame))])
    # Two input files: the job scores every object under the prefix.
    inference.write_transform_input(
        frame.iloc[:7],
        conn.s3_uri(prefix, "in", "part-1.csv"),
        id_column="record_id",
        feature_columns=columns,
        connection=conn,
    )
    inference.write_transform_input(
        frame.iloc[7:],
        conn.s3_uri(prefix, "in", "part-2.csv"),
        id_column="record_id",
        feature_columns=columns,
        connection=conn,
    )
    result = inference.run_batch_transform(
        model_name,
        conn.s3_uri(prefix, "in") + "/",
        conn.s3_uri(prefix, "out"),
        max_payload_mb=1,
        connection=conn,
    )
    assert result.status == "Completed" and len(result.output_files) == 2
    assert len(re.findall(r"\d{14}", result.job_name)) == 1, "one time stamp in the job name"
    assert sorted(result.scores) == sorted(frame["record_id"])
    expected = dict(zip(frame["record_id"], models["a"].predict(rows).tolist(), strict=True))
    for record_id, value in expected.items():
        assert result.scores[record_id] == pytest.approx(value, rel=1e-6)
    output = (
        conn.client("s3")
        .get_object(Bucket=conn.bucket, Key=f"{prefix}/out/part-1.csv.out")["Body"]
        .read()
    )
    assert len(output.decode().splitlines()) == 7, "one output line per input row"


def test_failed_transform_job_says_why(conn: mlaccel.Connection, models: dict[str, Model]) -> None:
    model_name = inference.create_model(model_data=models["a"].model_data, connection=conn)
    prefix = unique_name("inference-bad-transform")
    conn.client("s3").put_object(Bucket=conn.bucket, Key=f"{prefix}/in/bad.csv", Body=b"id-1,1,2\n")
    with pytest.raises(inference.TransformJobFailed, match="Failed"):
        inference.run_batch_transform(
            model_name, conn.s3_uri(prefix, "in"), conn.s3_uri(prefix, "out"), connection=conn
        )


# --------------------------------------------------------------------------- pure functions


def test_csv_payloads_and_parsing() -> None:
    assert inference.records_to_csv([1, 2.5, None, float("nan")]) == "1,2.5,,\n"
    assert inference.records_to_csv(np.array([[1.0, 2.0], [3.0, 4.0]])) == "1.0,2.0\n3.0,4.0\n"
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, None]})
    assert inference.records_to_csv(frame) == "1,0.5\n2,\n"
    assert list(inference.csv_payloads([[1, 2], [3, 4], [5, 6]], max_bytes=8)) == [
        "1,2\n3,4\n",
        "5,6\n",
    ]
    np.testing.assert_allclose(inference.parse_csv_predictions(b"1.5\n2.5\n"), [1.5, 2.5])
    np.testing.assert_allclose(inference.parse_csv_predictions("1.5,2.5", n_records=2), [1.5, 2.5])
    assert inference.parse_csv_predictions("0.2,0.8\n0.6,0.4\n").shape == (2, 2)
    assert inference.parse_joined_output("car-1,10.5\ncar-2,3\n") == {"car-1": 10.5, "car-2": 3.0}
    report = inference.summarize_latencies([0.001] * 99 + [0.101], rows_per_request=1000)
    assert report.p50_ms == pytest.approx(1.0)
    assert report.p99_ms > 1.0 and report.max_ms == pytest.approx(101.0)
    assert report.rows_per_second == pytest.approx(100 * 1000 / 0.2)


def test_bad_arguments_name_the_input_and_the_fix(conn: mlaccel.Connection) -> None:
    with pytest.raises(MLAccelInputError, match="exactly one of model_package"):
        inference.deploy_model("inference-x", connection=conn)
    with pytest.raises(MLAccelInputError, match="endpoint_name='bad_name'"):
        inference.deploy_model("bad_name", model_data="s3://b/m.tar.gz", connection=conn)
    with pytest.raises(MLAccelInputError, match=r"s3:// URI of a model\.tar\.gz"):
        inference.deploy_model("inference-x", model_data="model.tar.gz", connection=conn)
    with pytest.raises(MLAccelInputError, match="not a model package ARN"):
        inference.create_model(model_package="my-group", connection=conn)
    with pytest.raises(MLAccelInputError, match="mixes numbers and lists"):
        inference.records_to_csv([1, [2, 3]])
    with pytest.raises(MLAccelInputError, match="comma"):
        inference.records_to_csv([["a,b", 1]])
    with pytest.raises(MLAccelInputError, match="does not exist"):
        inference.register_autoscaling(unique_name("inference-none"), connection=conn)
    with pytest.raises(MLAccelInputError, match="duplicate"):
        inference.write_transform_input(
            pd.DataFrame({"id": [1, 1], "x": [0.1, 0.2]}),
            conn.s3_uri("x.csv"),
            id_column="id",
            feature_columns=["x"],
            connection=conn,
        )
    with pytest.raises(MLAccelInputError, match="n_requests"):
        inference.measure_latency("inference-x", [[1.0]], n_requests=0, connection=conn)


def test_every_aws_call_needs_a_connection() -> None:
    """No hidden ``connect()``: a missing connection fails before any AWS call."""
    with pytest.raises(TypeError, match="connection"):
        inference.predict("inference-x", [[1.0]])  # type: ignore[call-arg]
    with pytest.raises(MLAccelInputError, match=r"pass connection=mlaccel\.connect\(\)"):
        inference.delete_endpoint("inference-x", connection=None)  # type: ignore[arg-type]
    with pytest.raises(MLAccelInputError, match="connection="):
        inference.latest_model_package("group", connection="local")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- splits and artifacts


def test_read_labeled_rows_reads_both_layouts_the_processing_step_writes(
    conn: mlaccel.Connection, rows: np.ndarray
) -> None:
    prefix = unique_name("inference-split")
    s3 = conn.client("s3")
    labels = np.arange(len(rows), dtype=float)
    csv_text = "".join(
        f"{label:g}," + ",".join(repr(float(v)) for v in row) + "\n"
        for label, row in zip(labels, rows, strict=True)
    )
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/test/test.csv", Body=csv_text.encode())
    table = pd.DataFrame(rows, columns=[f"x{i}" for i in range(N_FEATURES)])
    table.insert(0, "price", labels)
    table.insert(0, "record_id", [f"car-{i}" for i in range(len(rows))])
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/parquet/test.parquet", Body=buffer.getvalue())

    from_csv = inference.read_labeled_rows(conn.s3_uri(prefix, "test") + "/", connection=conn)
    np.testing.assert_allclose(from_csv.features.to_numpy(), rows)
    np.testing.assert_allclose(from_csv.labels.to_numpy(), labels)
    assert list(from_csv.features.columns) == [f"f{i}" for i in range(N_FEATURES)]
    assert from_csv.ids.iloc[0] == "row-000000" and from_csv.ids.is_unique

    from_parquet = inference.read_labeled_rows(
        conn.s3_uri(prefix, "parquet", "test.parquet"), n_rows=5, connection=conn
    )
    assert list(from_parquet.ids) == [f"car-{i}" for i in range(5)]
    assert from_parquet.labels.name == "price"
    assert list(from_parquet.features.columns) == [f"x{i}" for i in range(N_FEATURES)]
    np.testing.assert_allclose(from_parquet.features.to_numpy(), rows[:5])
    with pytest.raises(MLAccelInputError, match="no Parquet or CSV file"):
        inference.read_labeled_rows(conn.s3_uri(prefix, "nothing-here/"), connection=conn)


def test_an_uploaded_booster_serves_its_own_predictions(
    conn: mlaccel.Connection, rows: np.ndarray
) -> None:
    rng = np.random.default_rng(4)
    features = rng.random((80, N_FEATURES))
    booster = xgb.train(
        {"booster": "gblinear", "objective": "reg:squarederror", "nthread": 1},
        xgb.DMatrix(features, label=features.sum(axis=1) * 3),
        num_boost_round=20,
    )
    model_data = inference.upload_xgboost_model(
        booster, conn.s3_uri(unique_name("inference-linear"), "model.tar.gz"), connection=conn
    )
    endpoint = unique_name("inference-gblinear")
    inference.deploy_model(endpoint, model_data=model_data, data_capture=False, connection=conn)
    try:
        np.testing.assert_allclose(
            inference.predict(endpoint, rows, connection=conn),
            booster.predict(xgb.DMatrix(rows)),
            rtol=1e-5,
        )
    finally:
        inference.delete_endpoint(endpoint, connection=conn)
    with pytest.raises(MLAccelInputError, match=r"xgboost\.Booster"):
        inference.upload_xgboost_model(object(), conn.s3_uri("x.tar.gz"), connection=conn)


def test_ground_truth_is_read_by_inference_id_the_latest_label_winning(
    conn: mlaccel.Connection,
) -> None:
    prefix = f"ground-truth-{uuid.uuid4().hex[:8]}"

    def line(event: str, label: str) -> str:
        return json.dumps(
            {
                "groundTruthData": {"data": label, "encoding": "CSV"},
                "eventMetadata": {"eventId": event},
                "eventVersion": "0",
            }
        )

    s3 = conn.client("s3")
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/2026/01/01/00/a.jsonl",
                  Body="\n".join([line("r1", "0"), line("r2", "1")]))  # fmt: skip
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/2026/01/01/01/b.jsonl", Body=line("r1", "1"))
    truth = inference.read_ground_truth(conn.s3_uri(prefix) + "/", connection=conn)
    assert truth.to_dict() == {"r1": "1", "r2": "1"}
    s3.put_object(Bucket=conn.bucket, Key=f"{prefix}/2026/01/02/00/c.jsonl", Body="{}")
    with pytest.raises(MLAccelInputError, match=r"c.jsonl line 1 is not a ground-truth record"):
        inference.read_ground_truth(conn.s3_uri(prefix) + "/", connection=conn)


def test_answers_frame_names_each_class_and_refuses_a_mismatch() -> None:
    frame = inference.answers_frame(np.array([[0.2, 0.5, 0.3]]), ["a", "b", "c"])
    assert list(frame.columns) == ["p(a)", "p(b)", "p(c)", "class"]
    assert frame["class"].tolist() == ["b"]
    assert list(inference.answers_frame(np.array([1.5, 2.5])).columns) == ["prediction"]
    with pytest.raises(MLAccelInputError, match=r"answers 3 values per record for 2 classes"):
        inference.answers_frame(np.array([[0.2, 0.5, 0.3]]), ["a", "b"])


def test_joined_multiclass_output_keeps_every_probability() -> None:
    assert inference.answers_filter(2) == "$[0,-2,-1]"
    parsed = inference.parse_joined_output("w-1,0.2,0.8\nw-2,0.6,0.4\n", answers=2)
    assert parsed == {"w-1": [0.2, 0.8], "w-2": [0.6, 0.4]}
    with pytest.raises(MLAccelError, match=r"transform output line 1"):
        inference.parse_joined_output("w-1,0.2\n", answers=2)


def test_sdk_model_shows_what_a_model_serves_as_the_sdk_object(
    conn: mlaccel.Connection, models: dict[str, Model]
) -> None:
    from sagemaker.model import Model as SdkModel

    from mlaccel import report

    name = inference.create_model(
        model_data=models["a"].model_data, name=unique_name("sdk-model"), connection=conn
    )
    try:
        model = inference.sdk_model(name, connection=conn)
        assert isinstance(model, SdkModel)
        assert (model.name, model.model_data) == (name, models["a"].model_data)
        assert model.image_uri == inference.xgboost_image_uri(conn.region)
        assert report.sdk_summary(model).loc["model data", "value"] == models["a"].model_data
    finally:
        conn.client("sagemaker").delete_model(ModelName=name)
    with pytest.raises(MLAccelInputError, match="model_name"):
        inference.sdk_model("not a name!", connection=conn)


def test_sdk_transformer_is_the_batch_job_the_kit_runs(conn: mlaccel.Connection) -> None:
    from sagemaker.transformer import Transformer

    from mlaccel import report

    out = f"s3://{conn.bucket}/scoring/out/"
    transformer = inference.sdk_transformer("m-1", out, max_payload_mb=4, connection=conn)
    assert isinstance(transformer, Transformer)
    assert (transformer.strategy, transformer.assemble_with) == ("MultiRecord", "Line")
    table = report.sdk_summary(transformer)
    assert table.loc["max payload", "value"] == "4 MB"
    assert table.loc["output path", "value"] == out
    assert table.loc["model", "value"] == "m-1"
    with pytest.raises(MLAccelInputError, match="max_payload_mb=0 must be 1-100"):
        inference.sdk_transformer("m-1", out, max_payload_mb=0, connection=conn)
    with pytest.raises(MLAccelInputError, match="output_uri"):
        inference.sdk_transformer("m-1", "not-s3", connection=conn)
