"""A seeded data set with known drift, for demonstrations, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mlaccel.errors import MLAccelInputError


@dataclass(frozen=True)
class DriftExample:
    """A baseline sample, a current sample, and which current columns were shifted.

    Attributes
    ----------
    baseline
        The "training" data: 20 numeric and 5 categorical columns.
    current
        New data from the same process, except the ``shifted`` columns.
    shifted
        Columns whose distribution (or completeness, or categories) changed.
    """

    baseline: pa.Table
    current: pa.Table
    shifted: frozenset[str]


_CATEGORIES = {
    "cat_00": ["red", "green", "blue"],
    "cat_01": ["a", "b", "c", "d"],
    "cat_02": [f"region_{i:02d}" for i in range(12)],
    "cat_03": ["petrol", "diesel", "hybrid"],
    "cat_04": [f"model_{i:03d}" for i in range(200)],
}
_SHIFTED = frozenset({"num_02", "num_07", "num_13", "num_18", "cat_01", "cat_03"})


def make_drift_example(rows: int, *, seed: int = 0) -> DriftExample:
    """Generate a baseline and a current table with six known shifted columns.

    Numeric columns follow normal, log-normal, uniform, exponential, gamma, beta, Poisson
    and mixture distributions (two with 5 % missing values in both tables). Shifted: a mean
    shift (``num_02``), a wider spread (``num_07``), a larger Poisson rate (``num_13``),
    20 % missing values (``num_18``), swapped category shares (``cat_01``) and a new
    category (``cat_03``). The rest differ only by sampling noise.

    Parameters
    ----------
    rows
        Rows of each table.
    seed
        Seed of the random generator; the same seed gives the same tables.

    Returns
    -------
    DriftExample

    Examples
    --------
    >>> example = make_drift_example(1000)
    >>> example.current.num_columns, sorted(example.shifted)[:2]
    (25, ['cat_01', 'cat_03'])
    """
    if not isinstance(rows, int) or rows < 1:
        raise MLAccelInputError(f"rows must be a positive integer, got {rows!r}")
    baseline = _table(rows, np.random.default_rng([seed, 0]), shifted=False)
    current = _table(rows, np.random.default_rng([seed, 1]), shifted=True)
    return DriftExample(baseline, current, _SHIFTED)


def _table(rows: int, rng: np.random.Generator, *, shifted: bool) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for index in range(20):
        name = f"num_{index:02d}"
        values = _numeric(index, rows, rng, shifted and name in _SHIFTED)
        columns[name] = pa.array(values)
    for name, labels in _CATEGORIES.items():
        columns[name] = _categorical(name, labels, rows, rng, shifted and name in _SHIFTED)
    return pa.table(columns)


def _numeric(index: int, rows: int, rng: np.random.Generator, shift: bool) -> np.ndarray:
    kind = index % 10
    values: np.ndarray
    if index == 2:
        values = rng.normal(50.0 + (5.0 if shift else 0.0), 10.0, rows)
    elif index == 7:
        values = rng.lognormal(1.0, 2.0 if shift else 1.0, rows)
    elif index == 13:
        values = rng.poisson(4.0 if shift else 3.0, rows)
    elif kind in (0, 1):
        values = rng.normal(index * 3.0, 1.0 + index % 4, rows)
    elif kind == 3:
        values = rng.uniform(-5.0, 5.0 + index, rows)
    elif kind == 4:
        values = rng.exponential(2.0 + index, rows)
    elif kind == 5:
        values = rng.gamma(2.0, 3.0, rows)
    elif kind == 6:
        values = rng.beta(2.0, 5.0, rows)
    elif kind == 7:
        values = rng.lognormal(0.0, 0.5, rows)
    elif kind == 8:
        values = rng.integers(0, 100, rows)
    else:
        mixture = rng.random(rows) < 0.3
        values = np.where(mixture, rng.normal(-4.0, 1.0, rows), rng.normal(6.0, 2.0, rows))
    if index in (5, 15):
        values = values.astype(np.float64)
        values[rng.random(rows) < 0.05] = np.nan
    if index == 18 and shift:
        values = values.astype(np.float64)
        values[rng.random(rows) < 0.2] = np.nan
    return values


def _categorical(
    name: str, labels: list[str], rows: int, rng: np.random.Generator, shift: bool
) -> pa.DictionaryArray:
    weights = np.linspace(2.0, 1.0, len(labels))
    shares = weights / weights.sum()
    labels = list(labels)
    if name == "cat_01":
        shares = np.array([0.5, 0.3, 0.15, 0.05])
        if shift:
            shares = np.array([0.3, 0.5, 0.15, 0.05])
    if name == "cat_03" and shift:
        labels.append("electric")
        shares = np.append(shares * 0.85, 0.15)
    codes = rng.choice(len(labels), size=rows, p=shares).astype(np.int32)
    return pa.DictionaryArray.from_arrays(codes, pa.array(labels))
