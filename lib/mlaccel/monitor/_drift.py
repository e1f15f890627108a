"""Distribution distances between a baseline feature and the data being checked.

Drift is decided on distances against thresholds (effect sizes): at a million rows every
p-value is tiny, so p-values are reported for information only, and computed when first
read (the special functions behind them take longer to import than a check takes to run).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np

from mlaccel.monitor._formats import MonitoringConfig
from mlaccel.monitor._sketch import NumericReference, ks_distance, ks_p_value, robust_distance


@dataclass(frozen=True)
class FeatureDrift:
    """The distribution comparison of one feature (made whether or not it drifted).

    Attributes
    ----------
    feature_name
        The feature.
    kind
        ``"numerical"`` or ``"categorical"``.
    method
        ``"Robust"`` / ``"Simple"`` (numeric) or ``"LInfinity"`` / ``"ChiSquared"``.
    distance
        The distance the verdict is based on.
    raw_distance
        L-infinity distance before the Robust correction (numeric), L-infinity between
        category shares (LInfinity) or the chi-squared statistic (ChiSquared).
    threshold
        Largest distance allowed.
    baseline_count, current_count
        Values compared on each side.
    p_value_of
        Computes :attr:`p_value` when it is first read.
    """

    feature_name: str
    kind: str
    method: str
    distance: float
    raw_distance: float
    threshold: float
    baseline_count: float
    current_count: float
    p_value_of: Callable[[], float | None] = field(default=lambda: None, repr=False, compare=False)

    @cached_property
    def p_value(self) -> float | None:
        """Kolmogorov-Smirnov or chi-squared p-value, for information only."""
        return self.p_value_of()

    @property
    def drifted(self) -> bool:
        """Whether the distance exceeds the threshold."""
        return self.distance > self.threshold


def numeric_drift(
    name: str, reference: NumericReference, slots: np.ndarray, settings: MonitoringConfig
) -> FeatureDrift | None:
    """L-infinity distance between the baseline CDF and the checked values' (binned) CDF.

    ``slots`` counts the checked values between the reference's edges; ``None`` when it counts
    none. ``"Robust"`` subtracts the two-sample Kolmogorov-Smirnov critical value.
    """
    current = float(slots.sum())
    if current == 0:
        return None
    raw = ks_distance(reference, slots)
    n = reference.count
    method = settings.comparison_method
    distance = (
        robust_distance(raw, n, current, settings.robust_critical_value)
        if method == "Robust"
        else raw
    )
    return FeatureDrift(
        name,
        "numerical",
        method,
        distance,
        raw,
        settings.comparison_threshold,
        n,
        current,
        partial(ks_p_value, raw, n, current),
    )


def categorical_drift(
    name: str,
    baseline: dict[str, float],
    baseline_present: float,
    current: dict[str, int],
    current_present: float,
    settings: MonitoringConfig,
) -> FeatureDrift | None:
    """Distance between category shares: ``"LInfinity"`` or Cramér's V (``"ChiSquared"``).

    Examples
    --------
    >>> from mlaccel.monitor import MonitoringConfig
    >>> drift = categorical_drift(
    ...     "colour", {"red": 50.0, "blue": 50.0}, 100.0, {"red": 90, "blue": 10}, 100.0,
    ...     MonitoringConfig(),
    ... )
    >>> round(drift.distance, 2), drift.drifted
    (0.4, True)
    """
    baseline_present = baseline_present or sum(baseline.values())
    if baseline_present <= 0 or current_present <= 0:
        return None
    labels = sorted(set(baseline) | set(current))
    expected = np.asarray([baseline.get(label, 0.0) for label in labels])
    observed = np.asarray([float(current.get(label, 0)) for label in labels])
    method = settings.categorical_drift_method
    statistic, freedom = chi_squared_statistic(expected, observed)
    if method == "LInfinity":
        distance = float(np.max(np.abs(expected / baseline_present - observed / current_present)))
        raw = distance
    else:
        total = float(expected.sum() + observed.sum())
        # Cramér's V of the 2 x k table: an effect size on the scale of a share difference.
        distance = math.sqrt(statistic / total) if total > 0 else 0.0
        raw = statistic
    return FeatureDrift(
        name,
        "categorical",
        method,
        distance,
        raw,
        settings.categorical_comparison_threshold,
        baseline_present,
        current_present,
        partial(chi_squared_p_value, statistic, freedom),
    )


def chi_squared(expected: np.ndarray, observed: np.ndarray) -> tuple[float, float | None]:
    """Pearson's chi-squared test of homogeneity of the 2 x k table (baseline, current).

    Examples
    --------
    >>> statistic, p = chi_squared(np.array([50.0, 50.0]), np.array([50.0, 50.0]))
    >>> statistic, round(p, 3)
    (0.0, 1.0)
    """
    statistic, freedom = chi_squared_statistic(expected, observed)
    return statistic, chi_squared_p_value(statistic, freedom)


def chi_squared_statistic(expected: np.ndarray, observed: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic of the 2 x k table and its degrees of freedom (0: nothing to test)."""
    table = np.vstack([expected, observed])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 0
    total = table.sum()
    fitted = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    return float(((table - fitted) ** 2 / fitted).sum()), table.shape[1] - 1


def chi_squared_p_value(statistic: float, freedom: int) -> float:
    """Upper tail of the chi-squared distribution (1.0 when there is nothing to test)."""
    if freedom <= 0:
        return 1.0
    from scipy.special import chdtrc

    return float(chdtrc(freedom, statistic))
