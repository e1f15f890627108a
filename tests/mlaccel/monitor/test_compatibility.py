"""Model Monitor files in every shape real accounts hold: loaded, checked against, round-tripped.

The files are written here from the documented schemas (the developer guide's constraints,
statistics and violations schemas, and the settings the SageMaker SDK and its check steps
write beyond them); none is copied from elsewhere.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlaccel import monitor
from mlaccel.errors import MLAccelInputError
from tests.support import import_script

FIXTURES = Path(__file__).parent / "fixtures" / "model_monitor"
sample = import_script(FIXTURES / "make_fixtures.py", "make_fixtures").sample


def _body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return body


def _with_undocumented_settings() -> dict[str, Any]:
    """constraints.json with every documented setting and the undocumented ones seen in use."""
    body = _body("constraints.json")
    config = body["monitoring_config"]
    config["enable_comparisons"] = "Enabled"
    config["distribution_constraints"]["min_domain_mass"] = 0.9
    config["distribution_constraints"]["enable_comparisons"] = True
    features = {feature["name"]: feature for feature in body["features"]}
    # Both places feature-level overrides are written, one with a setting the engine ignores.
    features["income"]["monitoringConfigOverrides"] = {
        "comparison_threshold": 0.5,
        "min_domain_mass": 0.8,
    }
    features["plan"]["string_constraints"]["monitoring_config_overrides"] = {
        "evaluate_constraints": "Disabled"
    }
    return body


def _developer_guide_shape() -> dict[str, Any]:
    """The developer guide's constraints example: integer version, empty overrides."""
    body = _body("constraints.json")
    body["version"] = 0
    for feature in body["features"]:
        feature["monitoringConfigOverrides"] = {}
    body["monitoring_config"]["datatype_check_threshold"] = 0.1
    body["monitoring_config"]["domain_content_threshold"] = 0.1
    body["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    return body


def _write(folder: Path, constraints: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "statistics.json").write_text((FIXTURES / "statistics.json").read_text())
    (folder / "constraints.json").write_text(json.dumps(constraints, indent=1))
    return folder


@pytest.mark.parametrize(
    "constraints",
    [_with_undocumented_settings(), _developer_guide_shape()],
    ids=["undocumented-settings", "developer-guide"],
)
def test_real_constraints_load_check_and_round_trip(
    constraints: dict[str, Any], tmp_path: Path
) -> None:
    baseline = monitor.load_baseline(directory=_write(tmp_path / "in", constraints))
    same = monitor.check_against_baseline(sample(4_000, seed=31), baseline)
    assert same.by_check("baseline_drift_check") == []
    moved = monitor.check_against_baseline(sample(4_000, seed=32, shifted=True), baseline)
    assert "state" in moved.flagged_features
    monitor.write_baseline(baseline, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "constraints.json").read_text())
    assert written == constraints


def test_unused_settings_are_named_once_and_used_ones_apply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _write(tmp_path, _with_undocumented_settings())
    with caplog.at_level(logging.INFO, logger="mlaccel.monitor"):
        baseline = monitor.load_baseline(directory=folder)
    notes = [r.getMessage() for r in caplog.records if "does not use" in r.getMessage()]
    assert len(notes) == 1
    for name in (
        "monitoring_config.enable_comparisons",
        "monitoring_config.distribution_constraints.min_domain_mass",
        "features['income'].min_domain_mass",
    ):
        assert name in notes[0]
    # The income override (threshold 0.5) holds; plan's constraints are switched off.
    moved = monitor.check_against_baseline(sample(4_000, seed=33, shifted=True), baseline)
    assert "income" not in moved.flagged_features
    drift = {d.feature_name: d for d in moved.drift}
    assert drift["income"].threshold == 0.5


def test_known_settings_are_still_validated_and_caller_typos_refused(tmp_path: Path) -> None:
    body = _with_undocumented_settings()
    body["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Fancy"
    with pytest.raises(MLAccelInputError, match=r"comparison_method must be one of"):
        monitor.load_baseline(directory=_write(tmp_path, body))
    baseline = monitor.load_baseline(directory=FIXTURES)
    with pytest.raises(MLAccelInputError, match=r"unknown monitoring settings \['comparison'\]"):
        monitor.check_against_baseline(sample(100, seed=1), baseline, config={"comparison": 1})


def test_analyzer_statistics_round_trip_and_sketch_parameters(tmp_path: Path) -> None:
    baseline = monitor.load_baseline(directory=FIXTURES)
    monitor.write_baseline(baseline, tmp_path)
    assert json.loads((tmp_path / "statistics.json").read_text()) == _body("statistics.json")
    own = monitor.compute_baseline(sample(3_000, seed=34))
    for feature in own.statistics["features"]:
        numeric = feature.get("numerical_statistics")
        if numeric:
            assert numeric["distribution"]["kll"]["sketch"]["parameters"] == {
                "c": 0.64,
                "k": 2048.0,
            }


_DESCRIPTIONS = {
    "data_type_check": r"Data type match requirement is not met\. Expected data type: \w+, "
    r"Expected match: [\d.]+%\. Observed: Only [\d.]+% of data is \w+\.",
    "completeness_check": r"Data completeness requirement is not met\. Expected: [\d.]+%, "
    r"Observed: Only [\d.]+% of data is present\.",
    "baseline_drift_check": r"Baseline drift distance: [\d.e-]+ exceeds threshold: [\d.]+",
    "categorical_values_check": r"Value: [\d.e-]+ does not meet the constraint requirement!",
    "missing_column_check": r"There are missing columns in current dataset\. Number of columns "
    r"in current dataset: \d+, Number of columns in baseline constraints: \d+",
    "extra_column_check": r"There are extra columns in current dataset\. Number of columns in "
    r"current dataset: \d+, Number of columns in baseline constraints: \d+",
}


def test_violations_file_is_worded_as_the_analyzer_writes_it(tmp_path: Path) -> None:
    baseline = monitor.load_baseline(directory=FIXTURES)
    frame = sample(3_000, seed=35, shifted=True).drop(columns=["balance"])
    frame["age"] = frame["age"].astype(str).where(frame.index % 10 != 0, "unknown")
    frame.loc[: len(frame) // 4, "tenure_months"] = None
    frame.loc[:99, "state"] = "ZZ"
    frame["extra"] = 1.0
    result = monitor.check_against_baseline(frame, baseline)
    result.write(tmp_path)
    body = json.loads((tmp_path / "constraint_violations.json").read_text())
    kinds = {entry["constraint_check_type"] for entry in body["violations"]}
    assert kinds == set(_DESCRIPTIONS)
    for entry in body["violations"]:
        assert set(entry) == {"feature_name", "constraint_check_type", "description"}
        assert re.fullmatch(_DESCRIPTIONS[entry["constraint_check_type"]], entry["description"])


def _formats(frame: pd.DataFrame, folder: Path) -> dict[str, Any]:
    folder.mkdir()
    frame.to_csv(folder / "data.csv", index=False)
    frame.to_json(folder / "data.jsonl", orient="records", lines=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "data.parquet")
    return {
        "frame": frame,
        "csv": folder / "data.csv",
        "json": folder / "data.jsonl",
        "parquet": folder / "data.parquet",
    }


def test_one_data_set_gets_the_same_violations_in_four_formats(tmp_path: Path) -> None:
    rng = np.random.default_rng(36)
    rows = 2_000
    constraints = {
        "version": 0.0,
        "features": [
            # A String constraint on a numeric column: Model Monitor's analyzer fails it.
            {"name": "amount", "inferred_type": "String", "completeness": 1.0},
            {"name": "count", "inferred_type": "Integral", "completeness": 1.0},
            {"name": "ratio", "inferred_type": "Fractional", "completeness": 1.0},
            {
                "name": "colour",
                "inferred_type": "String",
                "completeness": 1.0,
                "string_constraints": {"domains": ["red", "blue"]},
            },
        ],
    }
    baseline = monitor.Baseline(None, constraints)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(10, 2, rows).round(1),
            "count": rng.integers(0, 9, rows),
            "ratio": np.where(np.arange(rows) % 50 == 0, np.nan, rng.random(rows)),
            "colour": rng.choice(["red", "blue", "green"], rows, p=[0.5, 0.45, 0.05]),
        }
    )
    verdicts = {
        name: monitor.check_against_baseline(data, baseline).to_json()
        for name, data in _formats(frame, tmp_path / "data").items()
    }
    assert verdicts["csv"] == verdicts["frame"] == verdicts["json"] == verdicts["parquet"]
    found = {(v["feature_name"], v["constraint_check_type"]) for v in verdicts["csv"]["violations"]}
    assert found == {
        ("amount", "data_type_check"),
        ("ratio", "completeness_check"),
        ("colour", "categorical_values_check"),
    }


def _exact_ks(first: np.ndarray, second: np.ndarray) -> float:
    first, second = np.sort(first), np.sort(second)
    points = np.concatenate((first, second))
    left = np.searchsorted(first, points, side="right") / first.size
    right = np.searchsorted(second, points, side="right") / second.size
    return float(np.max(np.abs(left - right)))


@pytest.mark.slow
def test_distances_match_the_exact_ks_statistic_at_a_million_rows() -> None:
    rng = np.random.default_rng(37)
    rows = 1_000_000
    baseline_frame = pd.DataFrame(
        {
            "same": rng.normal(size=rows),
            "shifted": rng.lognormal(size=rows),
            "scaled": rng.exponential(size=rows),
            "rounded": rng.normal(size=rows).round(2),
        }
    )
    current = pd.DataFrame(
        {
            "same": rng.normal(size=rows),
            "shifted": rng.lognormal(0.02, 1, size=rows),
            "scaled": rng.exponential(1.3, size=rows),
            "rounded": rng.normal(0.01, 1, size=rows).round(2),
        }
    )
    baseline = monitor.compute_baseline(baseline_frame)
    result = monitor.check_against_baseline(current, baseline)
    for drift in result.drift:
        exact = _exact_ks(
            baseline_frame[drift.feature_name].to_numpy(), current[drift.feature_name]
        )
        assert drift.raw_distance == pytest.approx(exact, abs=1e-4), drift.feature_name
    same = {d.feature_name: d for d in result.drift}["same"]
    assert same.distance == 0.0  # Robust: no offset pushes an unchanged column above zero


def _model_quality_files() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Statistics and constraints as the model-quality check step writes them."""
    binary = {
        "version": 0.0,
        "dataset": {"item_count": 1000, "evaluation_time": "2024-01-01T00:00:00.000Z"},
        "binary_classification_metrics": {
            "confusion_matrix": {"0": {"0": 400, "1": 100}, "1": {"0": 50, "1": 450}},
            "recall": {"value": 0.9, "standard_deviation": 0.01},
            "precision": {"value": 0.818, "standard_deviation": 0.01},
            "accuracy": {"value": 0.85, "standard_deviation": 0.01},
            "auc": {"value": 0.91, "standard_deviation": "NaN"},
            "receiver_operating_characteristic_curve": {
                "false_positive_rates": [0.0, 1.0],
                "true_positive_rates": [0.0, 1.0],
            },
        },
    }
    binary_limits = {
        "version": 0.0,
        "binary_classification_constraints": {
            "recall": {"threshold": 0.95, "comparison_operator": "LessThanThreshold"},
            "auc": {"threshold": 0.8, "comparison_operator": "LessThanThreshold"},
        },
    }
    regression = {
        "version": 0.0,
        "dataset": {"item_count": 300},
        "regression_metrics": {
            "mae": {"value": 2.5, "standard_deviation": 0.1},
            "rmse": {"value": 3.1, "standard_deviation": 0.1},
            "r2": {"value": 0.7, "standard_deviation": 0.02},
        },
    }
    regression_limits = {
        "version": 0.0,
        "regression_constraints": {
            "mae": {"threshold": 2.0, "comparison_operator": "GreaterThanThreshold"},
            "r2": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"},
        },
    }
    multiclass = monitor.model_quality_metrics(
        [0, 1, 2, 2, 1, 0] * 50,
        y_prob=np.tile(
            [
                *([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]]),
                *([[0.5, 0.1, 0.4], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]),
            ],
            (50, 1),
        ),
        problem_type="MulticlassClassification",
    )
    multiclass_limits = {
        "version": 0.0,
        "multiclass_classification_constraints": {
            "accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"},
            "log_loss": {"threshold": 1.0, "comparison_operator": "GreaterThanThreshold"},
        },
    }
    return [
        ("binary", binary, binary_limits),
        ("regression", regression, regression_limits),
        ("multiclass", multiclass, multiclass_limits),
    ]


@pytest.mark.parametrize(
    ("statistics", "constraints", "broken"),
    [
        (stats, limits, expected)
        for (_, stats, limits), expected in zip(
            _model_quality_files(), [{"recall"}, {"mae"}, {"accuracy"}], strict=True
        )
    ],
    ids=["binary", "regression", "multiclass"],
)
def test_model_quality_check_step_files_are_checked(
    statistics: dict[str, Any], constraints: dict[str, Any], broken: set[str]
) -> None:
    result = monitor.check_model_quality(copy.deepcopy(statistics), constraints)
    assert {v["metric_name"] for v in result["violations"]} == broken


def test_multiclass_metrics_follow_model_monitor_format() -> None:
    truth = np.array([0, 1, 2, 2, 1, 0, 2, 1] * 40)
    prob = np.tile(
        [
            *([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.6, 0.1, 0.3]]),
            *([[0.3, 0.4, 0.3], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.2, 0.3, 0.5]]),
        ],
        (40, 1),
    )
    stats = monitor.model_quality_metrics(
        truth, y_prob=prob, problem_type="MulticlassClassification"
    )
    section = stats["multiclass_classification_metrics"]
    predicted = prob.argmax(axis=1)
    assert section["accuracy"]["value"] == pytest.approx(np.mean(predicted == truth))
    assert section["log_loss"]["value"] == pytest.approx(
        -np.mean(np.log(prob[np.arange(truth.size), truth]))
    )
    from sklearn.metrics import f1_score

    assert section["macro_f1"]["value"] == pytest.approx(
        f1_score(truth, predicted, average="macro")
    )
    for key in ("weighted_precision", "weighted_recall", "weighted_f0_5", "weighted_f1"):
        assert isinstance(section[key]["value"], float)
    assert section["confusion_matrix"]["2"]["0"] == 40  # the [0.6, 0.1, 0.3] row of class 2
    suggested = monitor.suggest_model_quality_constraints(stats)
    limits = suggested["multiclass_classification_constraints"]
    assert limits["log_loss"]["comparison_operator"] == "GreaterThanThreshold"
    assert limits["macro_f1"]["comparison_operator"] == "LessThanThreshold"
    labelled = monitor.model_quality_metrics(
        np.array(["a", "b"] * 10),
        y_prob=np.tile([[0.9, 0.1], [0.3, 0.7]], (10, 1)),
        problem_type="MulticlassClassification",
        class_labels=["a", "b"],
    )
    assert labelled["multiclass_classification_metrics"]["accuracy"]["value"] == 1.0
    # One score per record (an analyzer's probability_attribute): metrics without log_loss.
    scored = monitor.model_quality_metrics(
        [0, 1, 2] * 10, [0, 1, 1] * 10, y_prob=[0.9] * 30, problem_type="MulticlassClassification"
    )
    assert "log_loss" not in scored["multiclass_classification_metrics"]
    with pytest.raises(MLAccelInputError, match="one row of class probabilities per record"):
        monitor.model_quality_metrics(
            [0, 1], y_prob=[0.5, 0.5], problem_type="MulticlassClassification"
        )
    with pytest.raises(MLAccelInputError, match="class_labels names 3 classes but y_prob has 2"):
        monitor.model_quality_metrics(
            [0, 1],
            y_prob=[[0.5, 0.5], [0.5, 0.5]],
            problem_type="MulticlassClassification",
            class_labels=[0, 1, 2],
        )
