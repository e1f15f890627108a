"""Model quality (Model Monitor's output shape) and bias metrics (fairlearn underneath)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from mlaccel import monitor
from mlaccel.errors import MLAccelInputError


def test_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(41)
    truth = rng.normal(100, 20, 1_000)
    pred = truth + rng.normal(0, 5, 1_000)
    stats = monitor.model_quality_metrics(truth, pred, problem_type="Regression")
    section = stats["regression_metrics"]
    assert stats["dataset"] == {"item_count": 1_000}
    assert set(section) == {"mae", "mse", "rmse", "r2"}
    assert section["mae"]["value"] == pytest.approx(metrics.mean_absolute_error(truth, pred))
    assert section["mse"]["value"] == pytest.approx(metrics.mean_squared_error(truth, pred))
    assert section["rmse"]["value"] == pytest.approx(np.sqrt(section["mse"]["value"]))
    assert section["r2"]["value"] == pytest.approx(metrics.r2_score(truth, pred))
    assert 0 < section["mae"]["standard_deviation"] < 0.5
    again = monitor.model_quality_metrics(truth, pred, problem_type="regression")
    assert again == stats  # deterministic, standard deviations included


def test_binary_metrics_in_model_monitor_shape() -> None:
    truth = np.array([0, 0, 0, 1])
    pred = np.array([0, 1, 1, 1])
    prob = np.array([0.1, 0.6, 0.7, 0.9])
    section = monitor.model_quality_metrics(
        truth, pred, y_prob=prob, problem_type="BinaryClassification"
    )["binary_classification_metrics"]
    # Rows are actual labels, columns predicted ones: two false positives.
    assert section["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    assert section["recall"]["value"] == 1.0
    assert section["precision"]["value"] == pytest.approx(1 / 3)
    assert section["accuracy"]["value"] == 0.5
    assert section["recall"]["standard_deviation"] == "NaN"  # under 200 rows
    assert section["false_positive_rate"]["value"] == pytest.approx(2 / 3)
    assert section["true_negative_rate"]["value"] == pytest.approx(1 / 3)
    assert section["auc"]["value"] == 1.0
    assert section["f1"]["value"] == pytest.approx(0.5)
    assert section["f2"]["value"] == pytest.approx(metrics.fbeta_score(truth, pred, beta=2))
    assert section["accuracy_best_constant_classifier"]["value"] == 0.25
    assert section["f1_best_constant_classifier"]["value"] == pytest.approx(0.4)
    curve = section["receiver_operating_characteristic_curve"]
    assert len(curve["false_positive_rates"]) == len(curve["true_positive_rates"])
    assert set(section["precision_recall_curve"]) == {"precisions", "recalls"}


def test_binary_labels_from_probabilities_and_text_labels() -> None:
    rng = np.random.default_rng(42)
    truth = rng.integers(0, 2, 500)
    prob = np.clip(truth * 0.6 + rng.normal(0.2, 0.2, 500), 0, 1)
    stats = monitor.model_quality_metrics(
        truth, y_prob=prob, probability_threshold=0.5, problem_type="BinaryClassification"
    )
    expected = metrics.accuracy_score(truth, prob >= 0.5)
    assert stats["binary_classification_metrics"]["accuracy"]["value"] == pytest.approx(expected)
    words = np.where(truth == 1, "yes", "no")
    with pytest.raises(MLAccelInputError, match="positive_label"):
        monitor.model_quality_metrics(words, words, problem_type="BinaryClassification")
    ok = monitor.model_quality_metrics(
        words, words, problem_type="BinaryClassification", positive_label="yes"
    )
    assert ok["binary_classification_metrics"]["recall"]["value"] == 1.0


def test_multiclass_metrics() -> None:
    truth = np.array(["a", "b", "c", "a", "b", "c", "a", "a"])
    pred = np.array(["a", "b", "b", "a", "c", "c", "a", "b"])
    section = monitor.model_quality_metrics(truth, pred, problem_type="MulticlassClassification")[
        "multiclass_classification_metrics"
    ]
    assert section["accuracy"]["value"] == pytest.approx(metrics.accuracy_score(truth, pred))
    assert section["weighted_f1"]["value"] == pytest.approx(
        metrics.f1_score(truth, pred, average="weighted")
    )
    assert section["accuracy_best_constant_classifier"]["value"] == 0.5
    assert section["confusion_matrix"]["a"] == {"a": 3, "b": 1, "c": 0}


def test_suggested_constraints_and_violations() -> None:
    rng = np.random.default_rng(43)
    truth = rng.integers(0, 2, 2_000)
    good = np.where(rng.random(2_000) < 0.9, truth, 1 - truth)
    bad = np.where(rng.random(2_000) < 0.6, truth, 1 - truth)
    baseline = monitor.model_quality_metrics(truth, good, problem_type="BinaryClassification")
    constraints = monitor.suggest_model_quality_constraints(baseline)
    section = constraints["binary_classification_constraints"]
    assert section["accuracy"]["comparison_operator"] == "LessThanThreshold"
    assert section["false_positive_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert (
        section["accuracy"]["threshold"]
        < baseline["binary_classification_metrics"]["accuracy"]["value"]
    )
    assert "recall_best_constant_classifier" not in section
    assert monitor.check_model_quality(baseline, constraints) == {"violations": []}
    current = monitor.model_quality_metrics(truth, bad, problem_type="BinaryClassification")
    violations = monitor.check_model_quality(current, constraints)["violations"]
    names = {v["metric_name"] for v in violations}
    assert {"accuracy", "f1", "false_positive_rate"} <= names
    first = violations[0]
    assert set(first) == {"constraint_check_type", "description", "metric_name"}
    assert first["description"].startswith(f"Metric {first['metric_name']} with ")


def test_quality_bad_input() -> None:
    with pytest.raises(MLAccelInputError, match="problem_type"):
        monitor.model_quality_metrics([1], [1], problem_type="Ranking")
    with pytest.raises(MLAccelInputError, match="same length"):
        monitor.model_quality_metrics([1, 2], [1], problem_type="Regression")
    with pytest.raises(MLAccelInputError, match="no row has both"):
        monitor.model_quality_metrics([np.nan], [1.0], problem_type="Regression")
    with pytest.raises(MLAccelInputError, match="MulticlassClassification"):
        monitor.model_quality_metrics([0, 1, 2], [0, 1, 1], problem_type="BinaryClassification")
    with pytest.raises(MLAccelInputError, match="regression_constraints"):
        stats = monitor.model_quality_metrics([1.0, 2.0], [1.0, 2.0], problem_type="Regression")
        monitor.check_model_quality(stats, {"binary_classification_constraints": {}})


def test_bias_metrics_match_clarify_definitions() -> None:
    frame = pd.DataFrame(
        {
            "approved": [1, 1, 0, 1, 0, 0, 1, 0, 1, 1],
            "predicted": [1, 1, 0, 1, 1, 0, 0, 0, 1, 1],
            "sex": ["f", "f", "f", "f", "m", "m", "m", "m", "m", "m"],
            "age": [22, 35, 41, 63, 19, 28, 33, 52, 47, 38],
        }
    )
    result = monitor.bias_metrics(
        frame, label="approved", facet="sex", facet_values=["f"], predicted_label="predicted"
    )
    pre = result["pre_training_bias_metrics"]["facets"]["sex"][0]
    assert pre["value_or_threshold"] == "f"
    values = {m["name"]: m["value"] for m in pre["metrics"]}
    # n_f = 4, n_m = 6; approved: f 3/4, m 3/6.
    assert values["CI"] == pytest.approx((6 - 4) / 10)
    assert values["DPL"] == pytest.approx(3 / 6 - 3 / 4)
    post = {
        m["name"]: m["value"]
        for m in result["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]
    }
    # predicted approvals: f 3/4, m 3/6.
    assert post["DI"] == pytest.approx((3 / 4) / (3 / 6))
    assert post["DPPL"] == pytest.approx(3 / 6 - 3 / 4)
    assert result["pre_training_bias_metrics"]["label_value_or_threshold"] == "1"

    by_age = monitor.bias_metrics(frame, label="approved", facet="age", facet_values=40)
    group = by_age["pre_training_bias_metrics"]["facets"]["age"][0]
    assert group["value_or_threshold"] == "(>40)"
    every = monitor.bias_metrics(frame, label="approved", facet="sex")
    assert [
        g["value_or_threshold"] for g in every["pre_training_bias_metrics"]["facets"]["sex"]
    ] == [
        "f",
        "m",
    ]
    with pytest.raises(MLAccelInputError, match="not in the data"):
        monitor.bias_metrics(frame, label="approved", facet="race")
    with pytest.raises(MLAccelInputError, match="covers no row"):
        monitor.bias_metrics(frame, label="approved", facet="sex", facet_values=["x"])
