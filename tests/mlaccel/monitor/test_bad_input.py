"""Bad input gives a violation or a clear MLAccelInputError, never a bare crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlaccel import monitor
from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._io import read_ahead


@pytest.fixture
def baseline() -> monitor.Baseline:
    rng = np.random.default_rng(31)
    return monitor.compute_baseline(
        pd.DataFrame(
            {
                "doors": rng.integers(2, 6, 1_000),
                "price": rng.normal(20_000, 3_000, 1_000),
                "fuel": rng.choice(["petrol", "diesel"], 1_000),
            }
        )
    )


def _current(rows: int = 1_000, seed: int = 32) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "doors": rng.integers(2, 6, rows),
            "price": rng.normal(20_000, 3_000, rows),
            "fuel": rng.choice(["petrol", "diesel"], rows),
        }
    )


def _checks(result: monitor.Violations) -> set[tuple[str, str]]:
    return {(v.feature_name, v.constraint_check_type) for v in result.violations}


def test_a_column_whose_type_changed_is_a_data_type_violation(baseline: monitor.Baseline) -> None:
    current = _current().astype({"doors": object})
    current.loc[:299, "doors"] = "two"
    current["price"] = current["price"].round(0).astype(int).astype(str) + " EUR"
    current["fuel"] = np.arange(len(current))  # text became numbers
    result = monitor.check_against_baseline(current, baseline)
    checks = _checks(result)
    assert {("doors", "data_type_check"), ("price", "data_type_check")} <= checks
    assert ("fuel", "data_type_check") in checks
    message = next(v.description for v in result.violations if v.feature_name == "doors")
    assert "Expected data type: Integral" in message and "70.0%" in message
    types = {f["name"]: f["inferred_type"] for f in result.statistics["features"]}
    assert types == {"doors": "String", "price": "String", "fuel": "Integral"}


def test_whole_floats_still_match_an_integral_baseline(baseline: monitor.Baseline) -> None:
    current = _current().astype({"doors": float})
    current.loc[:9, "doors"] = np.nan  # pandas turns an int column with gaps into floats
    result = monitor.check_against_baseline(current, baseline)
    assert ("doors", "data_type_check") not in _checks(result)
    assert ("doors", "completeness_check") in _checks(result)


def test_empty_data_sets_are_input_errors(tmp_path: Path, baseline: monitor.Baseline) -> None:
    empty = _current().iloc[:0]
    with pytest.raises(MLAccelInputError, match="no rows"):
        monitor.compute_baseline(empty)
    with pytest.raises(MLAccelInputError, match="no rows"):
        monitor.check_against_baseline(empty, baseline)
    (tmp_path / "header_only.csv").write_text("doors,price,fuel\n")
    with pytest.raises(MLAccelInputError, match="no rows"):
        monitor.check_against_baseline(tmp_path / "header_only.csv", baseline)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(MLAccelInputError, match="holds no data files"):
        monitor.compute_baseline(tmp_path / "nothing")
    with pytest.raises(MLAccelInputError, match="does not exist"):
        monitor.compute_baseline(tmp_path / "missing.parquet")


def test_all_missing_columns(baseline: monitor.Baseline) -> None:
    frame = _current().assign(notes=None)
    with_empty = monitor.compute_baseline(frame)
    notes = next(f for f in with_empty.statistics["features"] if f["name"] == "notes")
    assert notes["inferred_type"] == "Unknown"
    assert notes["string_statistics"]["common"] == {"num_present": 0, "num_missing": 1_000}
    assert len(monitor.check_against_baseline(frame, with_empty)) == 0

    current = _current()
    current["price"] = np.nan
    result = monitor.check_against_baseline(current, baseline)
    assert _checks(result) == {("price", "completeness_check")}
    assert "Only 0.0%" in result.violations[0].description


def test_nan_and_infinities_count_as_missing(baseline: monitor.Baseline) -> None:
    current = _current()
    current.loc[:49, "price"] = np.inf
    current.loc[50:99, "price"] = -np.inf
    current.loc[100:149, "price"] = np.nan
    result = monitor.check_against_baseline(current, baseline)
    assert _checks(result) == {("price", "completeness_check")}
    price = next(f for f in result.statistics["features"] if f["name"] == "price")
    assert price["numerical_statistics"]["common"] == {"num_present": 850, "num_missing": 150}
    assert np.isfinite(price["numerical_statistics"]["max"])


def test_text_nan_and_empty_strings_are_missing() -> None:
    frame = pd.DataFrame({"x": ["1", "2", "", "nan", "NaN", " 3 ", None, "inf"]})
    stats = monitor.compute_baseline(frame).statistics["features"][0]
    assert stats["inferred_type"] == "Integral"
    assert stats["numerical_statistics"]["common"] == {"num_present": 3, "num_missing": 5}


def test_mixed_object_columns_are_read_as_text() -> None:
    frame = pd.DataFrame({"code": [1, "A", 2.5, None] * 10})
    stats = monitor.compute_baseline(frame).statistics["features"][0]
    assert stats["inferred_type"] == "String"
    values = {
        b["value"] for b in stats["string_statistics"]["distribution"]["categorical"]["buckets"]
    }
    assert values == {"1", "A", "2.5"}


def test_csv_whose_column_turns_to_text_half_way(tmp_path: Path) -> None:
    lines = ["n,label"] + [f"{i},a" for i in range(20_000)] + ["oops,b"] * 10
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    baseline = monitor.compute_baseline(tmp_path / "data.csv", batch_rows=1_000)
    types = {f["name"]: f["inferred_type"] for f in baseline.statistics["features"]}
    assert types == {"n": "String", "label": "String"}


def test_wrong_arguments_name_the_fix(baseline: monitor.Baseline, tmp_path: Path) -> None:
    with pytest.raises(MLAccelInputError, match="must be a Baseline"):
        monitor.check_against_baseline(_current(), "baseline/")  # type: ignore[arg-type]
    with pytest.raises(MLAccelInputError, match="cannot read a data set from int"):
        monitor.compute_baseline(42)
    with pytest.raises(MLAccelInputError, match="batch_rows"):
        monitor.compute_baseline(_current(), batch_rows=0)
    with pytest.raises(MLAccelInputError, match="duplicate column names"):
        monitor.compute_baseline(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    with pytest.raises(MLAccelInputError, match="dataset_format"):
        monitor.compute_baseline(tmp_path / "data.bin")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(MLAccelInputError, match=r"cannot read .*broken\.parquet"):
        monitor.compute_baseline(tmp_path / "broken.parquet")
    with pytest.raises(MLAccelInputError, match="pyarrow RecordBatches"):
        monitor.compute_baseline([{"x": 1}])
    nested = pa.table({"x": pa.array([[1, 2], [3]])})
    with pytest.raises(MLAccelInputError, match="column 'x' has Arrow type list"):
        monitor.compute_baseline(nested)


def test_read_ahead_hands_reader_errors_to_the_caller_and_stops_early() -> None:
    def failing() -> Iterator[tuple[int, str]]:
        yield 1, "first"
        raise MLAccelInputError("data.parquet is truncated")

    chunks = read_ahead(failing())
    assert next(chunks) == (1, "first")
    with pytest.raises(MLAccelInputError, match="truncated"):
        next(chunks)

    endless = read_ahead((index, "batch") for index in iter(int, 1))
    assert next(endless) == (0, "batch")
    endless.close()  # the caller stops: the reader thread ends too
    assert not any(t.name == "mlaccel-monitor-read" for t in threading.enumerate())


def test_a_check_leaves_arrows_default_memory_pool_as_it_was(tmp_path: Path) -> None:
    before = pa.default_memory_pool().backend_name
    baseline = monitor.compute_baseline(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(MLAccelInputError, match=r"broken\.parquet"):
        monitor.check_against_baseline(tmp_path / "broken.parquet", baseline)
    assert pa.default_memory_pool().backend_name == before
