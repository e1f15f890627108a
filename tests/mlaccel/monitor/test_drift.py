"""Drift engine: shifted columns are flagged and unshifted ones are not, at 10k and 1M rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlaccel import monitor
from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._sketch import Binner, QuantileSummary, quantile_grid


def _assert_exactly_shifted_flagged(example: monitor.DriftExample, result: monitor.Violations):
    assert result.flagged_features == set(example.shifted), result.to_json()


def test_shifted_columns_flagged_at_10k_rows() -> None:
    example = monitor.make_drift_example(10_000, seed=1)
    baseline = monitor.compute_baseline(example.baseline)
    result = monitor.check_against_baseline(example.current, baseline)
    _assert_exactly_shifted_flagged(example, result)
    checks = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert ("num_18", "completeness_check") in checks
    assert ("cat_03", "categorical_values_check") in checks
    for name in ("num_02", "num_07", "num_13", "cat_01", "cat_03"):
        assert (name, "baseline_drift_check") in checks


@pytest.mark.slow
def test_shifted_columns_flagged_at_1m_rows() -> None:
    example = monitor.make_drift_example(1_000_000, seed=2)
    baseline = monitor.compute_baseline(example.baseline)
    result = monitor.check_against_baseline(example.current, baseline)
    _assert_exactly_shifted_flagged(example, result)
    unshifted = [d for d in result.drift if d.feature_name not in example.shifted]
    # A million rows on each side: unshifted distances are sampling noise plus the grid's
    # 1/2000 resolution.
    assert max(d.raw_distance for d in unshifted) < 0.005


def test_a_data_set_checked_against_its_own_baseline_has_no_violations() -> None:
    example = monitor.make_drift_example(5_000, seed=3)
    baseline = monitor.compute_baseline(example.baseline)
    result = monitor.check_against_baseline(example.baseline, baseline)
    assert len(result) == 0 and not result
    assert max(d.distance for d in result.drift) == 0.0


def test_results_are_deterministic() -> None:
    example = monitor.make_drift_example(40_000, seed=4)
    first = monitor.compute_baseline(example.baseline, batch_rows=7_000)
    second = monitor.compute_baseline(example.baseline, batch_rows=7_000)
    assert first.statistics == second.statistics
    runs = [monitor.check_against_baseline(example.current, first) for _ in range(2)]
    assert runs[0].to_json() == runs[1].to_json()
    assert runs[0].drift == runs[1].drift


def test_parquet_and_csv_folders_give_the_same_verdicts(tmp_path: Path) -> None:
    example = monitor.make_drift_example(10_000, seed=5)
    for name, table in (("baseline", example.baseline), ("current", example.current)):
        folder = tmp_path / name
        folder.mkdir()
        half = table.num_rows // 2
        pq.write_table(table.slice(0, half), folder / "part-0.parquet", row_group_size=2_000)
        pq.write_table(table.slice(half), folder / "part-1.parquet", row_group_size=2_000)
        (folder / "_SUCCESS").write_text("")
        table.to_pandas().to_csv(tmp_path / f"{name}.csv", index=False)
    from_parquet = monitor.compute_baseline(tmp_path / "baseline")
    assert from_parquet.statistics["dataset"]["item_count"] == 10_000
    parquet_result = monitor.check_against_baseline(tmp_path / "current", from_parquet)
    _assert_exactly_shifted_flagged(example, parquet_result)

    from_csv = monitor.compute_baseline(tmp_path / "baseline.csv", batch_rows=3_000)
    csv_result = monitor.check_against_baseline(tmp_path / "current.csv", from_csv)
    _assert_exactly_shifted_flagged(example, csv_result)
    types = {f["name"]: f["inferred_type"] for f in from_csv.statistics["features"]}
    assert types["num_13"] == "Integral" and types["num_00"] == "Fractional"
    assert types["cat_01"] == "String"


def test_baseline_statistics_follow_model_monitor_schema() -> None:
    frame = pd.DataFrame(
        {
            "count": [1, 2, 3, 4, None] * 40,
            "price": np.linspace(-1.0, 1.0, 200),
            "fuel": ["petrol", "diesel"] * 100,
            "empty": [None] * 200,
        }
    )
    baseline = monitor.compute_baseline(frame)
    stats = {f["name"]: f for f in baseline.statistics["features"]}
    assert baseline.statistics["dataset"] == {"item_count": 200}
    numeric = stats["count"]["numerical_statistics"]
    assert stats["count"]["inferred_type"] == "Fractional"  # pandas stores it as float
    assert numeric["common"] == {"num_present": 160, "num_missing": 40}
    assert numeric["mean"] == pytest.approx(2.5) and numeric["sum"] == pytest.approx(400)
    assert numeric["std_dev"] == pytest.approx(np.std([1, 2, 3, 4]))
    assert (numeric["min"], numeric["max"]) == (1.0, 4.0)
    buckets = numeric["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == 160
    assert buckets[0]["lower_bound"] == 1.0 and buckets[-1]["upper_bound"] == 4.0
    sketch = numeric["distribution"]["kll"]["sketch"]
    assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
    # Four distinct values, 40 each: written exactly, an item on level i weighing 2**i.
    weights: dict[float, int] = {}
    for level, items in enumerate(sketch["data"]):
        for item in items:
            weights[item] = weights.get(item, 0) + 2**level
    assert weights == {1.0: 40, 2.0: 40, 3.0: 40, 4.0: 40}
    fuel = stats["fuel"]["string_statistics"]
    assert stats["fuel"]["inferred_type"] == "String" and fuel["distinct_count"] == 2.0
    assert {b["value"]: b["count"] for b in fuel["distribution"]["categorical"]["buckets"]} == {
        "petrol": 100,
        "diesel": 100,
    }
    assert stats["empty"]["inferred_type"] == "Unknown"

    constraints = {f["name"]: f for f in baseline.constraints["features"]}
    assert constraints["price"]["num_constraints"] == {"is_non_negative": False}
    assert constraints["count"]["num_constraints"] == {"is_non_negative": True}
    assert constraints["count"]["completeness"] == pytest.approx(0.74)
    assert constraints["price"]["completeness"] == 1.0
    assert constraints["fuel"]["string_constraints"] == {"domains": ["diesel", "petrol"]}
    assert constraints["empty"]["completeness"] == 0.0
    config = baseline.constraints["monitoring_config"]
    assert config["distribution_constraints"] == {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    }


def test_robust_method_tolerates_small_samples_that_simple_flags() -> None:
    rng = np.random.default_rng(6)
    baseline = monitor.compute_baseline(pd.DataFrame({"x": rng.normal(0, 1, 5_000)}))
    small = pd.DataFrame({"x": rng.normal(0, 1, 30)})
    simple = monitor.check_against_baseline(small, baseline, config={"comparison_method": "Simple"})
    robust = monitor.check_against_baseline(small, baseline)
    assert simple.drift[0].raw_distance == robust.drift[0].raw_distance
    assert robust.drift[0].distance < robust.drift[0].raw_distance
    assert simple.drift[0].distance > 0.1 and len(simple) == 1
    assert len(robust) == 0


def test_chi_squared_method_decides_on_effect_size_not_p_value() -> None:
    rng = np.random.default_rng(7)
    base = pd.DataFrame({"kind": rng.choice(["a", "b", "c"], 200_000, p=[0.5, 0.3, 0.2])})
    slightly = pd.DataFrame({"kind": rng.choice(["a", "b", "c"], 200_000, p=[0.49, 0.31, 0.2])})
    baseline = monitor.compute_baseline(base, config={"categorical_drift_method": "ChiSquared"})
    result = monitor.check_against_baseline(slightly, baseline)
    drift = result.drift[0]
    assert drift.method == "ChiSquared"
    assert drift.p_value is not None and drift.p_value < 1e-6  # "significant"...
    assert drift.distance < 0.1 and len(result) == 0  # ...but a negligible effect
    moved = pd.DataFrame({"kind": rng.choice(["a", "b", "c"], 200_000, p=[0.2, 0.3, 0.5])})
    assert monitor.check_against_baseline(moved, baseline).flagged_features == {"kind"}


def test_config_overrides_and_disabled_evaluation() -> None:
    example = monitor.make_drift_example(5_000, seed=8)
    baseline = monitor.compute_baseline(example.baseline)
    loose = monitor.check_against_baseline(
        example.current, baseline, config={"comparison_threshold": 0.5}
    )
    assert not {"num_02", "num_07", "num_13"} & loose.flagged_features
    off = monitor.check_against_baseline(
        example.current, baseline, config={"evaluate_constraints": "Disabled"}
    )
    assert len(off) == 0 and off.drift  # distances are still measured
    with pytest.raises(MLAccelInputError, match="comparison_method"):
        monitor.check_against_baseline(
            example.current, baseline, config={"comparison_method": "KL"}
        )
    with pytest.raises(MLAccelInputError, match="unknown monitoring settings"):
        monitor.check_against_baseline(example.current, baseline, config={"threshold": 1})


def test_feature_level_overrides_apply_to_one_feature() -> None:
    example = monitor.make_drift_example(5_000, seed=9)
    baseline = monitor.compute_baseline(example.baseline)
    for feature in baseline.constraints["features"]:
        if feature["name"] == "num_02":
            feature["monitoringConfigOverrides"] = {"evaluate_constraints": "Disabled"}
    result = monitor.check_against_baseline(example.current, baseline)
    assert "num_02" not in result.flagged_features and "num_07" in result.flagged_features


def test_missing_and_extra_columns() -> None:
    example = monitor.make_drift_example(2_000, seed=10)
    baseline = monitor.compute_baseline(example.baseline)
    current = example.baseline.to_pandas().drop(columns=["num_04"]).assign(brand_new=1.0)
    result = monitor.check_against_baseline(current, baseline)
    assert [(v.feature_name, v.constraint_check_type) for v in result.violations] == [
        ("num_04", "missing_column_check"),
        ("brand_new", "extra_column_check"),
    ]
    names = [f["name"] for f in result.statistics["features"]]
    assert "brand_new" in names and "num_04" not in names


def test_check_statistics_describe_the_current_data() -> None:
    rng = np.random.default_rng(11)
    baseline = monitor.compute_baseline(pd.DataFrame({"x": rng.normal(0, 1, 20_000)}))
    current = rng.normal(3, 2, 50_000)
    result = monitor.check_against_baseline(pd.DataFrame({"x": current}), baseline)
    (feature,) = result.statistics["features"]
    numeric = feature["numerical_statistics"]
    assert numeric["mean"] == pytest.approx(current.mean())
    assert numeric["std_dev"] == pytest.approx(current.std())
    assert numeric["min"] == current.min() and numeric["max"] == current.max()
    counts = [b["count"] for b in numeric["distribution"]["kll"]["buckets"]]
    exact = np.histogram(current, bins=np.linspace(current.min(), current.max(), 11))[0]
    assert sum(counts) == pytest.approx(50_000)
    assert np.abs(np.array(counts) - exact).max() < 0.02 * 50_000


def test_violations_write_model_monitor_files(tmp_path: Path) -> None:
    example = monitor.make_drift_example(2_000, seed=12)
    baseline = monitor.compute_baseline(example.baseline)
    result = monitor.check_against_baseline(example.current, baseline)
    written = result.write(tmp_path / "out")
    assert set(written) == {"constraint_violations.json", "statistics.json"}
    body = pd.read_json(tmp_path / "out" / "constraint_violations.json", typ="series")
    assert {"feature_name", "constraint_check_type", "description"} == set(body["violations"][0])
    frame = result.drift_frame()
    assert list(frame["feature"][:1]) and frame["distance"].is_monotonic_decreasing


def test_quantile_summary_is_bounded_and_accurate() -> None:
    rng = np.random.default_rng(13)
    values = rng.lognormal(0, 1, 1_000_000)
    summary = QuantileSummary(capacity=4096)
    for chunk in np.array_split(values, 37):
        summary.add(chunk)
    items, weights = summary.weighted_items()
    assert weights.sum() == values.size and items.size < 2 * 4096 * 12
    grid = quantile_grid(items, weights, 1000)
    # Point j is the (j + 1) / 1000 quantile: read back, its CDF has no half-step offset.
    exact = np.quantile(values, (np.arange(1000) + 1.0) / 1000)
    ranks = np.searchsorted(np.sort(values), grid, side="right") / values.size
    assert np.abs(ranks - (np.arange(1000) + 1.0) / 1000).max() < 0.003
    assert grid[500] == pytest.approx(exact[500], rel=0.01)


@pytest.mark.parametrize("few", [False, True], ids=["heavy-tail", "fifteen-integers"])
def test_binner_matches_binary_search_including_ties_and_tails(few: bool) -> None:
    rng = np.random.default_rng(14)
    edges = np.unique(np.concatenate([rng.pareto(1.0, 800), np.arange(50.0)]))
    values = np.concatenate([rng.pareto(1.0, 100_000), np.arange(60.0), edges[:100]])
    if few:
        edges = np.arange(15.0)
        values = np.concatenate([rng.poisson(4.0, 100_000).astype(float), [-1.0, 0.5, 99.0]])
    binner = Binner(edges)
    expected = np.bincount(np.searchsorted(edges, values, side="left"), minlength=edges.size + 1)
    assert np.array_equal(binner.count(values), expected)


def test_arrow_tables_and_batches_are_accepted() -> None:
    table = pa.table({"x": pa.array(np.arange(1000.0)), "c": pa.array(["a", "b"] * 500)})
    baseline = monitor.compute_baseline(table.to_batches(max_chunksize=100))
    assert baseline.statistics["dataset"]["item_count"] == 1000
    assert len(monitor.check_against_baseline(table, baseline)) == 0


def test_parquet_is_read_a_few_columns_at_a_time(tmp_path: Path) -> None:
    from mlaccel.monitor._io import PARQUET_COLUMNS_PER_READ, iter_chunks

    example = monitor.make_drift_example(20_000, seed=15)
    pq.write_table(example.baseline, tmp_path / "one-row-group.parquet")  # 1 row group
    chunks = list(iter_chunks(tmp_path / "one-row-group.parquet", batch_rows=5_000))
    assert sum(rows for rows, _ in chunks) == 20_000  # every row counted once
    assert max(batch.num_columns for _, batch in chunks) <= PARQUET_COLUMNS_PER_READ
    assert max(batch.num_rows for _, batch in chunks) <= 5_000
    seen = {name for _, batch in chunks for name in batch.schema.names}
    assert seen == set(example.baseline.column_names)
