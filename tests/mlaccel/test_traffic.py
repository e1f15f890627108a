"""Traffic through a pipeline's endpoint, read back as Model Monitor reads it: one request per
record with its inference id, labels for some, the deployed model's quality against its own
baseline."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import mlaccel
from mlaccel import inference, monitor, workflows
from mlaccel.errors import MLAccelInputError
from tests.support import demo_contract, tarball, unique_name

FEATURES = ["a", "b", "c"]


def _serve(
    conn: mlaccel.Connection, params: dict, labels: np.ndarray, rows: np.ndarray
) -> workflows.PipelinePlaces:
    """An endpoint with capture serving a model of ``rows``, and the places it is read from."""
    booster = xgb.train({**params, "nthread": 1}, xgb.DMatrix(rows, label=labels), 15)
    name = unique_name("traffic")
    prefix = conn.s3_uri("traffic-tests", name)
    key = f"traffic-tests/{name}/model.tar.gz"
    conn.client("s3").put_object(
        Bucket=conn.bucket, Key=key, Body=tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    )
    places = workflows.PipelinePlaces(
        endpoint_name=name,
        capture_uri=f"{prefix}/capture",
        ground_truth_uri=f"{prefix}/ground-truth/{name}/",
        features_prefix=f"{prefix}/features",
        model_quality_baseline_uri=f"{prefix}/baselines/model-quality",
    )
    inference.deploy_model(
        name,
        model_data=f"s3://{conn.bucket}/{key}",
        image_uri=inference.xgboost_image_uri(conn.region),
        capture_uri=places.capture_uri,
        connection=conn,
    )
    return places


def _write_baseline(
    conn: mlaccel.Connection, places: workflows.PipelinePlaces, statistics: dict
) -> None:
    s3 = conn.client("s3")
    bucket, _, folder = places.model_quality_baseline_uri[5:].partition("/")
    constraints = monitor.suggest_model_quality_constraints(statistics)
    for name, body in (("statistics.json", statistics), ("constraints.json", constraints)):
        s3.put_object(Bucket=bucket, Key=f"{folder}/{name}", Body=json.dumps(body))


def test_traffic_of_a_multiclass_endpoint_is_judged_against_its_own_baseline(
    conn: mlaccel.Connection,
) -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(300, 3))
    labels = (rows[:, 0] > 0).astype(int) + (rows[:, 1] > 0.5).astype(int)
    params = {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}
    places = _serve(conn, params, labels, rows)
    product = replace(
        demo_contract("credit_risk"), problem_type="multiclass", classes=("x", "y", "z")
    )
    ids = [f"req-{i}" for i in range(40)]
    inputs = pd.DataFrame(rows[:40], columns=FEATURES)
    try:
        since = workflows.send_traffic(
            places, inputs, ids, labels=labels[:40], label_share=0.75, connection=conn
        )
        assert since <= datetime.now(UTC)
        traffic = workflows.read_traffic(
            places, product, feature_names=FEATURES, since=since, inference_ids=ids, connection=conn
        )
        assert traffic.counts == {"captured": 40, "with ground truth": 30}
        assert traffic.answers.shape == (40, 3)
        np.testing.assert_allclose(traffic.inputs.to_numpy(), rows[:40], rtol=1e-5)

        with pytest.raises(MLAccelInputError, match=r"no model-quality baseline at .*notebook 04"):
            workflows.endpoint_model_quality(product, traffic, places, connection=conn)
        perfect = monitor.model_quality_metrics(
            [0, 1, 2] * 10, [0, 1, 2] * 10, problem_type="MulticlassClassification"
        )
        _write_baseline(conn, places, perfect)
        quality = workflows.endpoint_model_quality(product, traffic, places, connection=conn)
        accuracy = quality.metrics().loc["accuracy"]
        expected = (traffic.answers.argmax(axis=1)[:30] == labels[:30]).mean()
        assert accuracy["baseline"] == 1.0 and accuracy["now"] == pytest.approx(expected)
        assert "log_loss" in quality.now["multiclass_classification_metrics"]
        checks = {v["metric_name"] for v in quality.violations["violations"]}
        assert ("accuracy" in checks) == (expected < 1.0)
    finally:
        inference.delete_endpoint(places.endpoint_name, connection=conn)


def test_traffic_refuses_what_it_cannot_join(conn: mlaccel.Connection) -> None:
    places = workflows.pipeline_places("nothing_here", connection=conn)
    frame = pd.DataFrame([[1.0, 2.0, 3.0]] * 2, columns=FEATURES)
    with pytest.raises(MLAccelInputError, match="pass one id per row, none twice"):
        workflows.send_traffic(places, frame, ["x", "x"], connection=conn)
    with pytest.raises(MLAccelInputError, match="inputs has no rows"):
        workflows.send_traffic(places, frame.head(0), [], connection=conn)
    with pytest.raises(MLAccelInputError, match="label_share=0"):
        workflows.send_traffic(places, frame, ["x", "y"], label_share=0, connection=conn)
    empty = workflows.Traffic(frame, np.zeros((2, 1)), pd.Series(dtype=float))
    with pytest.raises(MLAccelInputError, match="no captured request has ground truth yet"):
        workflows.endpoint_model_quality(demo_contract("used_cars"), empty, places, connection=conn)


def _binary_product(name: str) -> Any:
    """A binary product of three numeric inputs, named ``name`` (its own group and endpoints)."""
    from mlaccel import products

    return products.DataProduct(
        name, "label", "binary", "id", tuple(FEATURES), classes=("no", "yes")
    )


def _binary_model(conn: mlaccel.Connection, name: str) -> tuple[str, np.ndarray, np.ndarray]:
    """A logistic XGBoost model's artifact, and the rows and labels it learned from."""
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(400, 3))
    labels = (rows[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(rows, label=labels),
        15,
    )
    key = f"traffic-tests/{name}/model.tar.gz"
    conn.client("s3").put_object(
        Bucket=conn.bucket, Key=key, Body=tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    )
    return f"s3://{conn.bucket}/{key}", rows, labels


def test_the_registrys_model_is_served_and_judged_against_its_validation_quality(
    conn: mlaccel.Connection,
) -> None:
    from mlaccel import registry

    name = unique_name("served").replace("-", "_")
    product = _binary_product(name)
    model_data, rows, labels = _binary_model(conn, name)
    image = inference.xgboost_image_uri(conn.region)
    places = workflows.pipeline_places(name, connection=conn)
    with pytest.raises(mlaccel.MLAccelError, match=r"neither the training pipeline .* run either"):
        workflows.serve_monitored_model(product, places, connection=conn)
    registry.ensure_group(registry.group_name(name), connection=conn)
    conn.client("sagemaker").create_model_package(
        ModelPackageGroupName=registry.group_name(name),
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": model_data}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    with pytest.raises(mlaccel.MLAccelError, match="run notebook 02"):
        workflows.serve_monitored_model(product, places, connection=conn)
    validation = pd.DataFrame(np.column_stack([labels[300:], rows[300:]]))
    conn.client("s3").put_object(
        Bucket=conn.bucket,
        Key=f"features/{name}/validation/validation.csv",
        Body=validation.to_csv(header=False, index=False),
    )
    served = workflows.serve_monitored_model(product, places, connection=conn)
    try:
        assert (served.source, served.deployed) == ("model registry", True)
        assert served.places.endpoint_name == f"{places.endpoint_name}-registered"
        again = workflows.serve_monitored_model(product, places, connection=conn)
        assert not again.deployed, "an endpoint in service is used as it is"
        table = pd.DataFrame(rows[:50], columns=FEATURES).assign(id=range(50))
        table["label"] = np.where(labels[:50] == 1, "yes", "no")
        table.loc[[0, 1], "label"] = None  # labels that never arrive
        prepared = table[["id", *FEATURES]]
        since, ids = workflows.send_rows(
            served.places, product, prepared, table, feature_names=FEATURES, connection=conn
        )
        traffic = workflows.read_traffic(
            served.places,
            product,
            feature_names=FEATURES,
            since=since,
            inference_ids=ids,
            connection=conn,
        )
        # 80 % of the 50 rows get their labels sent, less the two blank ones
        assert traffic.counts == {"captured": 50, "with ground truth": 38}
        quality = workflows.endpoint_model_quality(product, traffic, served.places, connection=conn)
        assert set(quality.metrics().index) >= {"accuracy", "auc", "f1"}
        assert quality.baseline["binary_classification_metrics"]["accuracy"]["value"] > 0.8
        with pytest.raises(MLAccelInputError, match="repeats 1 ids"):
            workflows.send_rows(
                served.places,
                product,
                pd.concat([prepared.head(2), prepared.head(1)]),
                table,
                feature_names=FEATURES,
                connection=conn,
            )
    finally:
        removed = workflows.stop_serving(served, connection=conn)
    assert f"endpoint:{served.places.endpoint_name}" in removed


def test_the_pipelines_model_is_served_again_and_kept_when_stopped(
    conn: mlaccel.Connection,
) -> None:
    name = unique_name("served").replace("-", "_")
    product = _binary_product(name)
    model_data, _, _ = _binary_model(conn, name)
    model = inference.create_model(
        model_data=model_data, name=unique_name("pipeline-model"), connection=conn
    )
    conn.client("ssm").put_parameter(
        Name=workflows.model_name_parameter(name), Value=model, Type="String", Overwrite=True
    )
    places = workflows.pipeline_places(name, connection=conn)
    served = workflows.serve_monitored_model(product, places, connection=conn)
    try:
        assert (served.source, served.model, served.deployed) == ("training pipeline", model, True)
        assert served.places == places
        answers = inference.predict(places.endpoint_name, [[0.5, 0.0, 0.0]], connection=conn)
        assert 0 < float(answers[0]) < 1
    finally:
        removed = workflows.stop_serving(served, connection=conn)
    assert f"endpoint:{places.endpoint_name}" in removed
    assert f"model:{model}" not in removed
    conn.client("sagemaker").describe_model(ModelName=model)  # still there, as SSM names it
