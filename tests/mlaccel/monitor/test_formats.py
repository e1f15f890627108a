"""Model Monitor's files: read SageMaker's own baselines, write files the SageMaker SDK loads."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import mlaccel
from mlaccel import monitor
from mlaccel.errors import MLAccelInputError
from tests.support import import_script

FIXTURES = Path(__file__).parent / "fixtures" / "model_monitor"


def _fixture_module() -> ModuleType:
    """The script that wrote the fixtures: its ``sample`` draws fresh data the same way."""
    return import_script(FIXTURES / "make_fixtures.py", "make_fixtures")


sample = _fixture_module().sample


@pytest.mark.parametrize("folder", [FIXTURES, FIXTURES / "minimal"], ids=["full", "minimal"])
def test_sagemaker_written_baseline_checks_new_data(folder: Path) -> None:
    baseline = monitor.load_baseline(folder / "statistics.json", folder / "constraints.json")
    assert baseline.feature_names == ["age", "income", "tenure_months", "balance", "state", "plan"]
    same = monitor.check_against_baseline(sample(5_000, seed=21), baseline)
    assert len(same) == 0, same.to_json()
    assert {d.feature_name for d in same.drift} == set(baseline.feature_names)
    moved = monitor.check_against_baseline(sample(5_000, seed=22, shifted=True), baseline)
    assert moved.flagged_features == {"income", "state"}
    assert {v.constraint_check_type for v in moved.violations} == {"baseline_drift_check"}


def test_multi_level_kll_sketch_is_weighted_by_level() -> None:
    baseline = monitor.load_baseline(directory=FIXTURES)
    income = baseline.statistics_feature("income")
    assert income is not None
    levels = income["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
    assert len(levels) > 1  # a real multi-level sketch, not one flat list
    result = monitor.check_against_baseline(sample(200_000, seed=23), baseline)
    # Level weights 2**i make the sketch's CDF match fresh data within KLL's ~1 % error.
    assert max(d.raw_distance for d in result.drift if d.kind == "numerical") < 0.03


def test_sagemaker_domains_and_completeness_are_enforced() -> None:
    baseline = monitor.load_baseline(directory=FIXTURES)
    frame = sample(3_000, seed=24)
    frame.loc[:99, "state"] = "ZZ"
    frame["tenure_months"] = frame["tenure_months"].astype("Float64")
    frame.loc[: len(frame) // 5, "tenure_months"] = None
    result = monitor.check_against_baseline(frame, baseline)
    checks = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert ("state", "categorical_values_check") in checks
    assert ("tenure_months", "completeness_check") in checks
    (unseen,) = result.by_check("categorical_values_check")
    in_domain = 1 - 100 / 3_000
    assert unseen.description == f"Value: {in_domain!r} does not meet the constraint requirement!"
    assert result.unseen_values == {"state": ["ZZ"]}


def test_written_files_round_trip(tmp_path: Path) -> None:
    example = monitor.make_drift_example(3_000, seed=25)
    baseline = monitor.compute_baseline(example.baseline)
    written = monitor.write_baseline(baseline, tmp_path)
    assert set(written) == {"statistics.json", "constraints.json"}
    again = monitor.load_baseline(directory=tmp_path)
    assert again.statistics == json.loads(json.dumps(baseline.statistics))
    first = monitor.check_against_baseline(example.current, baseline)
    second = monitor.check_against_baseline(example.current, again)
    assert first.to_json() == second.to_json()


def test_files_load_with_the_sagemaker_sdk(tmp_path: Path, conn: mlaccel.Connection) -> None:
    from sagemaker.model_monitor import Constraints, ConstraintViolations, Statistics

    example = monitor.make_drift_example(2_000, seed=26)
    baseline = monitor.compute_baseline(example.baseline)
    monitor.write_baseline(baseline, tmp_path / "baseline")
    monitor.check_against_baseline(example.current, baseline).write(tmp_path / "check")
    session = conn.sagemaker_session
    statistics = Statistics.from_file_path(
        str(tmp_path / "baseline" / "statistics.json"), sagemaker_session=session
    )
    constraints = Constraints.from_file_path(
        str(tmp_path / "baseline" / "constraints.json"), sagemaker_session=session
    )
    violations = ConstraintViolations.from_file_path(
        str(tmp_path / "check" / "constraint_violations.json"), sagemaker_session=session
    )
    assert statistics.body_dict["dataset"]["item_count"] == 2_000
    assert len(statistics.body_dict["features"]) == 25
    # a string feature: SDKs before 2.254 can switch off only those (see feature_overrides)
    constraints.set_monitoring(False, feature_name="cat_01")
    distribution = constraints.body_dict["monitoring_config"]["distribution_constraints"]
    assert distribution["comparison_method"] == "Robust"
    flagged = {v["feature_name"] for v in violations.body_dict["violations"]}
    assert flagged == set(example.shifted)
    assert "cat_01" in flagged
    # The SDK's own per-feature switch is honoured by the check.
    edited = monitor.Baseline(statistics.body_dict, constraints.body_dict)
    assert "cat_01" not in monitor.check_against_baseline(example.current, edited).flagged_features


def test_baseline_and_data_on_s3(conn: mlaccel.Connection, tmp_path: Path) -> None:
    example = monitor.make_drift_example(4_000, seed=27)
    s3 = conn.client("s3")
    pq.write_table(example.baseline, tmp_path / "baseline.parquet", row_group_size=1_000)
    s3.upload_file(str(tmp_path / "baseline.parquet"), conn.bucket, "drift/train/part-0.parquet")
    body = example.current.to_pandas().to_csv(index=False).encode()
    s3.put_object(Bucket=conn.bucket, Key="drift/new/batch.csv", Body=body)
    session = conn.boto3_session
    baseline = monitor.compute_baseline(conn.s3_uri("drift/train"), boto3_session=session)
    assert baseline.statistics["dataset"]["item_count"] == 4_000
    monitor.write_baseline(baseline, conn.s3_uri("drift/baseline"), boto3_session=session)
    loaded = monitor.load_baseline(directory=conn.s3_uri("drift/baseline"), boto3_session=session)
    result = monitor.check_against_baseline(
        conn.s3_uri("drift/new/"), loaded, boto3_session=session
    )
    assert result.flagged_features == set(example.shifted)
    written = result.write(conn.s3_uri("drift/report"), boto3_session=session)
    assert written["constraint_violations.json"].startswith(f"s3://{conn.bucket}/drift/report/")
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=conn.bucket, Prefix="drift/report")["Contents"]
    ]
    assert sorted(keys) == [
        "drift/report/constraint_violations.json",
        "drift/report/statistics.json",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 0.0, "features": [', "not valid JSON"),
        ('{"version": 0.0}', "no 'features' list"),
        ('{"features": [{"inferred_type": "Integral"}]}', "has no 'name'"),
        ('{"features": [{"name": "x", "inferred_type": "Decimal"}]}', "inferred_type"),
        ('{"features": [{"name": "x", "completeness": 1.5}]}', "between 0 and 1"),
        (
            '{"features": [], "monitoring_config": {"distribution_constraints": '
            '{"comparison_method": "Fancy"}}}',
            "comparison_method",
        ),
    ],
)
def test_broken_constraints_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "constraints.json"
    path.write_text(text)
    with pytest.raises(MLAccelInputError, match=message) as caught:
        monitor.load_baseline(constraints_path=path)
    assert "constraints.json" in str(caught.value)


def test_broken_statistics_files_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "statistics.json"
    path.write_text(
        json.dumps(
            {
                "features": [
                    {
                        "name": "x",
                        "numerical_statistics": {
                            "distribution": {"kll": {"sketch": {"data": [[1.0, "two"]]}}}
                        },
                    }
                ]
            }
        )
    )
    with pytest.raises(MLAccelInputError, match=r"sketch.data\[0\] holds 'two'"):
        monitor.load_baseline(path)
    with pytest.raises(MLAccelInputError, match="does not exist"):
        monitor.load_baseline(tmp_path / "nope.json")
    with pytest.raises(MLAccelInputError, match="neither was given"):
        monitor.Baseline(None, None)


def test_dataset_format_accepts_model_monitor_shapes() -> None:
    parse = monitor.parse_dataset_format
    assert parse('{"csv": {"header": false}}') == monitor.DatasetFormat("csv", header=False)
    assert parse({"Csv": {"Header": "true"}}).header is True
    assert parse('{"json": {"lines": true}}').kind == "json"
    assert parse({"parquet": {}}).kind == "parquet"
    capture = parse('{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}')
    assert capture.capture_index_names == ("endpointInput",)
    for bad in ('{"avro": {}}', '{"csv": {"header": "maybe"}}', "{not json", {"a": 1, "b": 2}):
        with pytest.raises(MLAccelInputError):
            parse(bad)


def test_numbers_written_are_plain_json(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.r_[np.arange(50.0), [np.nan, np.inf, -np.inf]]})
    baseline = monitor.compute_baseline(frame)
    monitor.write_baseline(baseline, tmp_path)
    text = (tmp_path / "statistics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    feature = json.loads(text)["features"][0]["numerical_statistics"]
    assert feature["common"] == {"num_present": 50, "num_missing": 3}
