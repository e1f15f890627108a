"""Traffic through a pipeline's endpoint, read back as Model Monitor reads it: one request per
record with its inference id, labels for some, the deployed model's quality against its own
baseline."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

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
