"""The drift check's compiled pass gives exactly what its numpy path gives.

Every batch shape the check meets: floats with NaN, infinities and nulls, integers with nulls,
sliced arrays (an offset into Arrow's buffers), few edges (no lookup table), heavy tails (many
edges in one table cell), values beyond the baseline's range, whole numbers in a float column.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pytest

from mlaccel import monitor
from mlaccel.monitor import _kernel
from mlaccel.monitor._profile import ColumnStats
from mlaccel.monitor._sketch import Binner
from tests.support import needs_tool


@contextmanager
def numpy_path() -> Iterator[None]:
    """The check as it runs where the compiled pass could not be built."""
    compiled = _kernel._SCAN
    _kernel._SCAN = None
    try:
        yield
    finally:
        _kernel._SCAN = compiled


@needs_tool("cc", "apt-get install gcc (pip builds the drift check's compiled pass with it)")
def test_the_compiled_pass_is_built_where_a_compiler_is() -> None:
    assert _kernel.COMPILED, "reinstall the package (pip install -e .) with a C compiler on PATH"


def _stats(edges: np.ndarray, batches: list[pa.Array], count_whole: bool) -> ColumnStats:
    stats = ColumnStats("x", keep_summary=False, binner=Binner(edges))
    for batch in batches:
        stats.update(batch, count_whole=count_whole)
    return stats


def _gathered(stats: ColumnStats) -> dict[str, object]:
    assert stats.tails is not None
    tail_values, tail_weights = stats.tails.weighted_items()
    moments = stats.moments
    return {
        "counts": (stats.rows, stats.integral, stats.fractional, stats.text, stats.whole),
        "slots": None if stats.slots is None else stats.slots.tolist(),
        "extremes": (moments.count, moments.low, moments.high, moments.negative),
        "tails": (sorted(zip(tail_values.tolist(), tail_weights.tolist(), strict=True))),
    }


def _float_batch(rng: np.random.Generator, size: int) -> pa.Array:
    values = rng.standard_t(2, size) * 3
    # whole numbers, NaN and infinities among the values
    values[:20] = np.floor(values[:20])
    values[20:28] = np.nan
    values[28:40] = [np.inf, -np.inf] * 6
    rng.shuffle(values)
    nulls = rng.random(size) < 0.05
    return pa.array(values, mask=nulls, type=pa.float64())


def _int_batch(rng: np.random.Generator, size: int) -> pa.Array:
    values = rng.integers(-50, 500, size)
    return pa.array(values, mask=rng.random(size) < 0.1, type=pa.int64())


EDGE_CASES = {
    "quantile edges": np.quantile(
        np.random.default_rng(0).normal(0, 3, 20_000), np.linspace(0, 1, 2049)
    ),
    "heavy tails": np.sort(np.concatenate([np.linspace(-1, 1, 300), [1e6, 2e6, 3e6], [-1e7]])),
    "few edges": np.array([-1.0, 0.0, 2.5]),
    "one edge": np.array([0.0]),
    "repeated edges": np.array([-2.0, 0.0, 0.0, 0.0, 1.0, 1.0, 3.0, 7.0]),
}


@pytest.mark.skipif(not _kernel.COMPILED, reason="the compiled pass is not built here")
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
@pytest.mark.parametrize("kind", ["float", "int"])
def test_the_compiled_pass_and_the_numpy_path_gather_the_same(case: str, kind: str) -> None:
    rng = np.random.default_rng(7)
    make = _float_batch if kind == "float" else _int_batch
    whole = make(rng, 30_000)
    # Batches as the reader hands them: whole arrays and slices into a larger one.
    batches = [
        make(rng, 5_000),
        whole.slice(3, 10_001),
        whole.slice(10_004, 19_990),
        whole.slice(29_999),
    ]
    edges = EDGE_CASES[case]
    slots = np.zeros(edges.size + 1, dtype=np.int64)
    assert _kernel.scan_numeric(batches[0], Binner(edges), slots, want_whole=False) is not None
    compiled = _stats(edges, batches, count_whole=kind == "float")
    with numpy_path():
        reference = _stats(edges, batches, count_whole=kind == "float")
    assert _gathered(compiled) == _gathered(reference)
    assert compiled.moments.total == pytest.approx(reference.moments.total, rel=1e-12, abs=1e-9)
    assert compiled.moments.std_dev == pytest.approx(reference.moments.std_dev, rel=1e-12)


@pytest.mark.skipif(not _kernel.COMPILED, reason="the compiled pass is not built here")
def test_a_check_gives_the_same_verdicts_and_distances_either_way() -> None:
    example = monitor.make_drift_example(50_000, seed=3)
    baseline = monitor.compute_baseline(example.baseline)
    compiled = monitor.check_against_baseline(example.current, baseline)
    with numpy_path():
        reference = monitor.check_against_baseline(example.current, baseline)
    assert compiled.violations == reference.violations
    distances = {d.feature_name: d.distance for d in compiled.drift}
    assert distances == {d.feature_name: d.distance for d in reference.drift}
    assert compiled.flagged_features == example.shifted
    features = zip(compiled.statistics["features"], reference.statistics["features"], strict=True)
    for ours, theirs in features:
        numbers = ours.get("numerical_statistics")
        if numbers is None:
            assert ours == theirs
            continue
        expected = theirs["numerical_statistics"]
        assert numbers["distribution"] == expected["distribution"], ours["name"]
        for key in ("mean", "sum", "std_dev", "min", "max"):
            assert numbers[key] == pytest.approx(expected[key], rel=1e-12), (ours["name"], key)
