"""Deterministic distribution summaries: a quantile compactor, a fast binner and CDF distances.

The baseline keeps a fine grid of quantile edges (stored as the KLL sketch's data); a check
counts the current values between those edges with one vectorized pass and compares the two
CDFs there. Nothing is random, so a verdict never changes from run to run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlaccel.monitor._formats import KLL_PARAMETERS

# Quantile points stored per numeric feature: resolution of the CDF comparison is ~1/GRID.
GRID_POINTS = 1000
# A column with at most this many distinct values (the k Model Monitor writes) is stored
# exactly, its counts written in binary over the sketch's levels: discrete data then has an
# exact baseline CDF. Columns with more distinct values keep the quantile grid.
EXACT_DISTINCT = 2048
# Items per compactor level; the rank error of the summary is about levels / (2 * capacity).
COMPACTOR_CAPACITY = 1 << 14
HISTOGRAM_BUCKETS = 10


class QuantileSummary:
    """A deterministic, bounded-memory summary of a stream of numbers.

    Levels of sorted items; an item on level ``i`` stands for ``2**i`` values. When a level
    outgrows ``2 * capacity`` items it keeps every other one (alternating which) and passes
    them up. Up to ``2 * capacity`` values the summary is exact.

    Parameters
    ----------
    capacity
        Items a level holds before it is compacted.

    Examples
    --------
    >>> summary = QuantileSummary()
    >>> summary.add(np.arange(10.0))
    >>> summary.count
    10
    """

    def __init__(self, capacity: int = COMPACTOR_CAPACITY) -> None:
        self._capacity = capacity
        self._levels: list[np.ndarray] = []
        self._flips: list[int] = []
        self.count = 0
        # Exact (distinct values, counts) while there are few distinct values, else None.
        self.exact: tuple[np.ndarray, np.ndarray] | None = (np.empty(0), np.empty(0, np.int64))

    def add(self, values: np.ndarray) -> None:
        """Add finite float64 values (any order)."""
        if values.size == 0:
            return
        self.count += int(values.size)
        ordered = np.sort(values)
        if self.exact is not None:
            self._count_distinct(ordered)
        self._merge(0, ordered)

    def _count_distinct(self, ordered: np.ndarray) -> None:
        # On sorted values the distinct ones are where the value changes: one linear pass.
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        if starts.size > EXACT_DISTINCT:
            self.exact = None
            return
        counts = np.diff(np.append(starts, ordered.size))
        self._add_exact(ordered[starts], counts)

    def _add_exact(self, values: np.ndarray, counts: np.ndarray) -> None:
        assert self.exact is not None
        held_values, held_counts = self.exact
        joined = np.concatenate((held_values, values))
        distinct, inverse = np.unique(joined, return_inverse=True)
        if distinct.size > EXACT_DISTINCT:
            self.exact = None
            return
        summed = np.bincount(inverse, weights=np.concatenate((held_counts, counts)))
        self.exact = distinct, summed.astype(np.int64)

    def merge(self, other: QuantileSummary) -> None:
        """Add another summary's values (a shard's): the result summarizes both streams."""
        self.count += other.count
        if self.exact is not None and other.exact is not None:
            self._add_exact(*other.exact)
        else:
            self.exact = None
        for level, items in enumerate(other._levels):
            if items.size:
                self._merge(level, items)

    def to_json(self) -> dict[str, Any]:
        """The summary's state as JSON-ready lists (a shard's partial result)."""
        exact = None if self.exact is None else [self.exact[0].tolist(), self.exact[1].tolist()]
        return {
            "capacity": self._capacity,
            "count": self.count,
            "levels": [level.tolist() for level in self._levels],
            "flips": list(self._flips),
            "exact": exact,
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> QuantileSummary:
        """A summary from :meth:`to_json`'s output."""
        summary = cls(int(state["capacity"]))
        summary.count = int(state["count"])
        summary._levels = [np.asarray(level, dtype=np.float64) for level in state["levels"]]
        summary._flips = [int(flip) for flip in state["flips"]]
        exact = state.get("exact")
        summary.exact = (
            None
            if exact is None
            else (np.asarray(exact[0], dtype=np.float64), np.asarray(exact[1], dtype=np.int64))
        )
        return summary

    def _merge(self, level: int, items: np.ndarray) -> None:
        while True:
            if level == len(self._levels):
                self._levels.append(np.empty(0))
                self._flips.append(0)
            held = self._levels[level]
            # Both runs are sorted: the stable sort (timsort) merges them in linear time.
            merged = (
                items if held.size == 0 else np.sort(np.concatenate((held, items)), kind="stable")
            )
            if merged.size <= 2 * self._capacity:
                self._levels[level] = merged
                return
            odd = merged.size % 2
            offset = self._flips[level]
            self._flips[level] ^= 1
            # The largest item stays when the count is odd, so total weight is kept exactly.
            self._levels[level] = merged[merged.size - odd :].copy()
            items = merged[offset : merged.size - odd : 2].copy()
            level += 1

    def weighted_items(self) -> tuple[np.ndarray, np.ndarray]:
        """All items, sorted, with their weights (which add up to ``count``)."""
        if not self._levels:
            return np.empty(0), np.empty(0)
        values = np.concatenate(self._levels)
        weights = np.concatenate(
            [np.full(level.size, float(2**i)) for i, level in enumerate(self._levels)]
        )
        order = np.argsort(values, kind="stable")
        return values[order], weights[order]


def quantile_grid(values: np.ndarray, weights: np.ndarray, points: int = GRID_POINTS) -> np.ndarray:
    """Quantiles ``(j + 1) / points`` of weighted sorted items (the last one is the maximum).

    Read back as equally weighted items, the share of grid points ``<= grid[j]`` is
    ``(j + 1) / points``, which is the share of values ``<= grid[j]``: the stored CDF has
    no offset. When the items are few (at most ``points`` values of weight 1) they are
    returned as they are, so small baselines keep their exact distribution.
    """
    if values.size == 0:
        return values
    total = float(weights.sum())
    if total <= points and bool(np.all(weights == 1.0)):
        return values.copy()
    cumulative = np.cumsum(weights)
    targets = (np.arange(points) + 1.0) / points * total
    index = np.searchsorted(cumulative, targets * (1 - 1e-12), side="left")
    return values[np.minimum(index, values.size - 1)]


def equal_width_buckets(
    values: np.ndarray,
    weights: np.ndarray,
    low: float,
    high: float,
    buckets: int = HISTOGRAM_BUCKETS,
) -> list[dict[str, float]]:
    """Model Monitor's ``distribution.kll.buckets``: equal-width buckets from min to max."""
    bounds = [low + (high - low) * i / buckets for i in range(buckets + 1)]
    bounds[-1] = high
    if values.size == 0:
        counts = np.zeros(buckets)
    elif high <= low:
        counts = np.zeros(buckets)
        counts[0] = float(weights.sum())
    else:
        inner = np.asarray(bounds[1:-1])
        index = np.searchsorted(inner, values, side="right")
        counts = np.bincount(index, weights=weights, minlength=buckets).astype(np.float64)
    return [
        {"lower_bound": bounds[i], "upper_bound": bounds[i + 1], "count": float(counts[i])}
        for i in range(buckets)
    ]


def kll_sketch(grid: np.ndarray) -> dict[str, Any]:
    """The ``sketch`` object: one level of equally weighted quantile points."""
    return {"parameters": dict(KLL_PARAMETERS), "data": [grid.tolist()]}


def exact_kll_sketch(values: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """The ``sketch`` object of exactly counted distinct values.

    An item on level ``i`` weighs ``2**i``, so a value counted ``c`` times is written on the
    levels of the bits set in ``c``: the sketch's CDF is the data's exact CDF.

    Examples
    --------
    >>> exact_kll_sketch(np.array([1.0, 2.0]), np.array([3, 4]))["data"]
    [[1.0], [1.0], [2.0]]
    """
    levels = int(counts.max()).bit_length() if counts.size else 0
    data = [values[(counts >> level) & 1 == 1].tolist() for level in range(levels)]
    return {"parameters": dict(KLL_PARAMETERS), "data": data}


@dataclass(frozen=True)
class NumericReference:
    """A baseline numeric distribution as a step CDF.

    Attributes
    ----------
    edges
        Distinct values, ascending.
    cdf
        Baseline share of values ``<= edges[k]``.
    count
        Baseline values behind the distribution (``n`` of the Robust correction).
    coarse
        True when only the 10 histogram buckets were available (no sketch).
    """

    edges: np.ndarray
    cdf: np.ndarray
    count: float
    coarse: bool = False


def reference_from_statistics(numerical: dict[str, Any]) -> NumericReference | None:
    """The baseline CDF of a feature's ``numerical_statistics``, from its sketch or buckets.

    Sketch levels follow KLL's convention: an item on level ``i`` weighs ``2**i``.
    """
    common = numerical.get("common") or {}
    kll = (numerical.get("distribution") or {}).get("kll") or {}
    sketch = kll.get("sketch") or {}
    levels: Sequence[Sequence[float]] = sketch.get("data") or []
    values_parts = [np.asarray(level, dtype=np.float64) for level in levels if len(level)]
    if values_parts:
        weights = np.concatenate(
            [np.full(len(level), float(2**i)) for i, level in enumerate(levels) if len(level)]
        )
        values = np.concatenate(values_parts)
        finite = np.isfinite(values)
        values, weights = values[finite], weights[finite]
        coarse = False
    else:
        buckets = kll.get("buckets") or []
        if not buckets:
            return None
        values = np.asarray([float(b["upper_bound"]) for b in buckets])
        weights = np.asarray([float(b["count"]) for b in buckets])
        coarse = True
    if values.size == 0 or float(weights.sum()) <= 0:
        return None
    edges, inverse = np.unique(values, return_inverse=True)
    summed = np.bincount(inverse, weights=weights)
    cdf = np.cumsum(summed) / summed.sum()
    count = float(common.get("num_present", summed.sum()) or summed.sum())
    return NumericReference(edges=edges, cdf=cdf, count=count, coarse=coarse)


class Binner:
    """Counts values by how many baseline edges lie below them, without a binary search.

    A uniform lookup table over the edges' range maps a value to its cell; a cell holding at
    most one edge needs one comparison. The cell function is applied to the edges too, and it
    is monotone, so the result equals ``np.searchsorted(edges, v, side="left")`` exactly; the
    few values in cells with several edges (heavy tails) fall back to the binary search.
    """

    def __init__(self, edges: np.ndarray, cells: int = 1 << 16) -> None:
        self.edges = np.ascontiguousarray(edges, dtype=np.float64)
        edges = self.edges
        self.size = int(edges.size)
        self.tail_start = tail_start(edges)
        self.origin, self.scale = 0.0, 1.0
        # For the compiled pass (mlaccel.monitor._kernel): edges below each cell, and cells.
        self.kernel_table: tuple[np.ndarray, int] = (np.zeros(1, dtype=np.int32), 0)
        # A binary search over even a dozen edges costs more than the table lookup.
        self._table = self.size > 4
        if not self._table:
            return
        low, high = float(edges[0]), float(edges[-1])
        width = (high - low) / cells if high > low else 1.0
        self.origin = low - width
        self.scale = 1.0 / width
        self._cells = cells + 2
        cell_of_edge = self._cell(edges)
        per_cell = np.bincount(cell_of_edge, minlength=self._cells)
        cumulative = np.concatenate(([0], np.cumsum(per_cell)))
        # int32: half the table's cache footprint (a sketch has far fewer than 2**31 edges)
        self.kernel_table = (cumulative.astype(np.int32), self._cells)
        self._below = cumulative[:-1].astype(np.intp)
        self._edge = np.full(self._cells, np.inf)
        single = per_cell[cell_of_edge] == 1
        self._edge[cell_of_edge[single]] = edges[single]
        self._several = per_cell > 1
        self._any_several = bool(self._several.any())

    def _cell(self, values: np.ndarray) -> np.ndarray:
        position = values - self.origin
        position *= self.scale
        np.clip(position, 0, self._cells - 1, out=position)
        return position.astype(np.intp)

    def count(self, values: np.ndarray) -> np.ndarray:
        """Counts per slot ``0..size``: slot ``k`` holds values in ``(edges[k-1], edges[k]]``."""
        if not self._table:
            slots = np.searchsorted(self.edges, values, side="left")
            return np.bincount(slots, minlength=self.size + 1)
        cell = self._cell(values)
        slots = self._below[cell]
        slots += values > self._edge[cell]
        if self._any_several:
            crowded = self._several[cell]
            if crowded.any():
                slots[crowded] = np.searchsorted(self.edges, values[crowded], side="left")
        return np.bincount(slots, minlength=self.size + 1)


def ks_distance(reference: NumericReference, slot_counts: np.ndarray) -> float:
    """Largest gap between the baseline and current CDFs, read at the baseline edges."""
    total = float(slot_counts.sum())
    if total <= 0:
        return 0.0
    current = np.cumsum(slot_counts[:-1]) / total
    gaps = np.abs(current - reference.cdf)
    return float(gaps.max()) if gaps.size else 0.0


def robust_distance(distance: float, n: float, m: float, critical_value: float) -> float:
    """``max(0, distance - c * sqrt((n + m) / (n * m)))``: the KS critical value removed."""
    if n <= 0 or m <= 0:
        return distance
    return max(0.0, distance - critical_value * math.sqrt((n + m) / (n * m)))


def ks_p_value(distance: float, n: float, m: float) -> float:
    """Asymptotic two-sample Kolmogorov-Smirnov p-value (for information only)."""
    from scipy.special import kolmogorov

    if n <= 0 or m <= 0:
        return 1.0
    effective = math.sqrt(n * m / (n + m))
    return float(kolmogorov(distance * effective))


def current_distribution(
    reference: NumericReference,
    slot_counts: np.ndarray,
    tail_values: np.ndarray,
    tail_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted items describing current values from a check's slot counts and tails.

    Values inside the baseline's range stand at the upper edge of their slot (exact for
    discrete data, within a 1/1000 quantile slot otherwise); values beyond it (below the
    first edge, above the last but one: the top slot reaches the baseline's maximum and
    can be wide) come from their own summary, so a distribution that moved away is still
    described well.
    """
    edges = reference.edges
    below = float(tail_weights[tail_values < edges[0]].sum()) if tail_values.size else 0.0
    at_first_edge = max(float(slot_counts[0]) - below, 0.0)
    last_inner = edges.size - 1 if edges.size < 2 else edges.size - 2
    inner = slot_counts[1 : last_inner + 1].astype(np.float64)
    values = np.concatenate((tail_values, [edges[0]], edges[1 : last_inner + 1]))
    weights = np.concatenate((tail_weights, [at_first_edge], inner))
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    order = np.argsort(values, kind="stable")
    return values[order], weights[order]


def tail_start(edges: np.ndarray) -> float:
    """Checked values above this edge are summarized on their own (see current_distribution)."""
    return float(edges[-2] if edges.size >= 2 else edges[-1])
