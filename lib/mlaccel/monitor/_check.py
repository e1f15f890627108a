"""Checking a data set against a baseline: constraint_violations.json in Model Monitor's shape.

Drift is decided on distances against thresholds (effect sizes): at a million rows every
p-value is tiny, so p-values are reported for information only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._baseline import column_workers, run_all
from mlaccel.monitor._formats import (
    BASELINE_DRIFT_CHECK,
    CATEGORICAL_VALUES_CHECK,
    COMPLETENESS_CHECK,
    DATA_TYPE_CHECK,
    EXTRA_COLUMN_CHECK,
    FRACTIONAL,
    INTEGRAL,
    MISSING_COLUMN_CHECK,
    NUMERIC_TYPES,
    STATISTICS_FILE,
    STRING,
    UNKNOWN,
    VIOLATIONS_FILE,
    Baseline,
    MonitoringConfig,
    dumps,
    feature_overrides,
)
from mlaccel.monitor._io import DEFAULT_BATCH_ROWS, iter_chunks, write_text
from mlaccel.monitor._profile import TEXT, ColumnStats, source_kind
from mlaccel.monitor._sketch import (
    Binner,
    NumericReference,
    ks_distance,
    ks_p_value,
    reference_from_statistics,
    robust_distance,
)

log = logging.getLogger(__name__)

_EXAMPLES = 5
# With the Robust method a completeness shortfall within this many standard errors of the
# checked batch's completeness is taken as sampling noise.
_COMPLETENESS_Z = 3.0


@dataclass(frozen=True)
class Violation:
    """One entry of constraint_violations.json."""

    feature_name: str
    constraint_check_type: str
    description: str

    def to_json(self) -> dict[str, str]:
        """The entry as Model Monitor writes it."""
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


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
    p_value
        Kolmogorov-Smirnov or chi-squared p-value, for information only.
    baseline_count, current_count
        Values compared on each side.
    """

    feature_name: str
    kind: str
    method: str
    distance: float
    raw_distance: float
    threshold: float
    p_value: float | None
    baseline_count: float
    current_count: float

    @property
    def drifted(self) -> bool:
        """Whether the distance exceeds the threshold."""
        return self.distance > self.threshold


@dataclass(frozen=True)
class Violations:
    """What a check found: violations, every drift comparison, and the data's statistics.

    ``len(result)`` is the number of violations, so ``if result:`` reads "if violated".

    Attributes
    ----------
    violations
        The constraint_violations.json entries.
    drift
        Every feature's distribution comparison.
    statistics
        statistics.json of the data that was checked.
    """

    violations: tuple[Violation, ...]
    drift: tuple[FeatureDrift, ...]
    statistics: dict[str, Any]

    def __len__(self) -> int:
        return len(self.violations)

    def to_json(self) -> dict[str, Any]:
        """The constraint_violations.json body."""
        return {"violations": [violation.to_json() for violation in self.violations]}

    @property
    def flagged_features(self) -> set[str]:
        """Names of the features with at least one violation."""
        return {violation.feature_name for violation in self.violations}

    def by_check(self, check_type: str) -> list[Violation]:
        """The violations of one ``constraint_check_type``."""
        return [v for v in self.violations if v.constraint_check_type == check_type]

    def drift_frame(self) -> Any:
        """Every drift comparison as a pandas DataFrame, most drifted first."""
        import pandas as pd

        rows = [
            {
                "feature": d.feature_name,
                "kind": d.kind,
                "method": d.method,
                "distance": d.distance,
                "raw_distance": d.raw_distance,
                "threshold": d.threshold,
                "drifted": d.drifted,
                "p_value": d.p_value,
                "baseline_count": d.baseline_count,
                "current_count": d.current_count,
            }
            for d in self.drift
        ]
        frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["feature"])
        return frame.sort_values("distance", ascending=False, ignore_index=True) if rows else frame

    def write(self, location: str | Path, *, boto3_session: Any | None = None) -> dict[str, str]:
        """Write constraint_violations.json and statistics.json to a directory or S3 prefix.

        Parameters
        ----------
        location
            A directory (created if needed) or ``s3://bucket/prefix``.
        boto3_session
            Session for ``s3://`` locations.

        Returns
        -------
        dict[str, str]
            File name → where it was written.
        """
        return {
            VIOLATIONS_FILE: write_text(
                location, VIOLATIONS_FILE, dumps(self.to_json()), boto3_session=boto3_session
            ),
            STATISTICS_FILE: write_text(
                location, STATISTICS_FILE, dumps(self.statistics), boto3_session=boto3_session
            ),
        }


@dataclass
class _Expectation:
    """What the baseline says about one feature."""

    name: str
    kind: str
    completeness: float | None
    non_negative: bool
    domain: frozenset[str] | None
    numeric: NumericReference | None
    categories: dict[str, float] | None
    baseline_present: float
    settings: MonitoringConfig


def _expectations(baseline: Baseline, settings: MonitoringConfig) -> list[_Expectation]:
    expectations = []
    for name in baseline.feature_names:
        constraint = baseline.constraints_feature(name) or {}
        statistic = baseline.statistics_feature(name) or {}
        kind = constraint.get("inferred_type") or statistic.get("inferred_type") or UNKNOWN
        numeric_stats = statistic.get("numerical_statistics")
        string_stats = statistic.get("string_statistics")
        reference = None
        categories = None
        baseline_present = 0.0
        if kind in NUMERIC_TYPES and numeric_stats:
            reference = reference_from_statistics(numeric_stats)
            if reference is None:
                log.warning("baseline feature %r has no sketch or buckets: no drift check", name)
        if kind == STRING and string_stats:
            buckets = (string_stats.get("distribution") or {}).get("categorical", {}).get("buckets")
            if buckets:
                categories = {str(b["value"]): float(b["count"]) for b in buckets}
            common = string_stats.get("common") or {}
            listed = sum(categories.values()) if categories else 0.0
            baseline_present = float(common.get("num_present", listed) or listed)
        domains = (constraint.get("string_constraints") or {}).get("domains")
        completeness = constraint.get("completeness")
        expectations.append(
            _Expectation(
                name=name,
                kind=kind,
                completeness=float(completeness) if completeness is not None else None,
                non_negative=bool((constraint.get("num_constraints") or {}).get("is_non_negative")),
                domain=frozenset(str(value) for value in domains) if domains else None,
                numeric=reference,
                categories=categories,
                baseline_present=baseline_present,
                settings=settings.with_overrides(
                    feature_overrides(constraint), source=f"feature {name!r} overrides"
                ),
            )
        )
    return expectations


class _FeatureCheck:
    """Accumulates one baseline feature over the batches of the checked data."""

    def __init__(self, expectation: _Expectation) -> None:
        self.expectation = expectation
        reference = expectation.numeric
        binner = Binner(reference.edges) if reference is not None else None
        self.stats = ColumnStats(expectation.name, keep_summary=reference is None, binner=binner)
        self.matched = 0
        self.in_domain = 0

    def update(self, column: pa.Array) -> None:
        kind = self.expectation.kind
        as_text = kind == STRING
        typed = source_kind(column.type)
        values = self.stats.update(
            column,
            want_numbers=kind != STRING,
            count_whole=kind == INTEGRAL,
            as_text=as_text,
        )
        present = values.integral + values.fractional + values.text
        if kind == INTEGRAL:
            self.matched += values.integral + values.whole
        elif kind == FRACTIONAL:
            self.matched += values.integral + values.fractional
        elif kind == STRING:
            # Numbers stored as numbers where the baseline had text: the type changed.
            self.matched += present if typed == TEXT else 0
        else:
            self.matched += present
        domain = self.expectation.domain
        if domain is not None and values.categories is not None:
            labels, counts = values.categories
            self.in_domain += int(
                sum(
                    count
                    for label, count in zip(labels, counts.tolist(), strict=True)
                    if str(label) in domain
                )
            )

    def findings(self, item_count: int) -> tuple[list[Violation], FeatureDrift | None]:
        expectation = self.expectation
        settings = expectation.settings
        stats = self.stats
        drift = self._drift()
        if not settings.evaluate_constraints:
            return [], drift
        name = expectation.name
        found = []
        present = stats.present
        if expectation.completeness is not None and item_count:
            observed = present / item_count
            required = expectation.completeness
            slack = 0.0
            if settings.comparison_method == "Robust" and 0.0 < required < 1.0:
                slack = _COMPLETENESS_Z * math.sqrt(required * (1 - required) / item_count)
            if observed < required - slack - 1e-12:
                found.append(
                    Violation(
                        name,
                        COMPLETENESS_CHECK,
                        f"Data completeness requirement is not met. Expected: "
                        f"{_percent(expectation.completeness)}, Observed: Only "
                        f"{_percent(observed)} of data is present.",
                    )
                )
        if expectation.kind in (INTEGRAL, FRACTIONAL, STRING) and present:
            share = self.matched / present
            if share < settings.datatype_check_threshold - 1e-12:
                found.append(
                    Violation(
                        name,
                        DATA_TYPE_CHECK,
                        f"Data type match requirement is not met. Expected data type: "
                        f"{expectation.kind}, Expected match: "
                        f"{_percent(settings.datatype_check_threshold)}. Observed: Only "
                        f"{_percent(share)} of data is {expectation.kind}.",
                    )
                )
        if expectation.non_negative and stats.moments.negative:
            share = stats.moments.negative / max(stats.moments.count, 1)
            found.append(
                Violation(
                    name,
                    DATA_TYPE_CHECK,
                    f"Non-negativity requirement is not met. {_percent(share)} of the values "
                    f"are negative (minimum {stats.moments.low:g}); the baseline had none.",
                )
            )
        if expectation.domain is not None and present:
            share = self.in_domain / present
            if share < settings.domain_content_threshold - 1e-12:
                unexpected = [
                    label
                    for label, _ in sorted(stats.categories.counts.items(), key=lambda i: -i[1])
                    if label not in expectation.domain
                ][:_EXAMPLES]
                found.append(
                    Violation(
                        name,
                        CATEGORICAL_VALUES_CHECK,
                        f"Value: {share:.6g} does not meet the constraint requirement! "
                        f"{_percent(settings.domain_content_threshold)} of the values are "
                        f"expected in the baseline domain; values outside it include "
                        f"{unexpected}.",
                    )
                )
        if drift is not None and drift.drifted and settings.perform_comparison:
            found.append(Violation(name, BASELINE_DRIFT_CHECK, _drift_description(drift)))
        return found, drift

    def _drift(self) -> FeatureDrift | None:
        expectation = self.expectation
        settings = expectation.settings
        if not settings.perform_comparison:
            return None
        stats = self.stats
        if expectation.numeric is not None and stats.slots is not None:
            current = float(stats.slots.sum())
            if current == 0:
                return None
            reference = expectation.numeric
            raw = ks_distance(reference, stats.slots)
            n = reference.count
            method = settings.comparison_method
            distance = (
                robust_distance(raw, n, current, settings.robust_critical_value)
                if method == "Robust"
                else raw
            )
            return FeatureDrift(
                expectation.name,
                "numerical",
                method,
                distance,
                raw,
                settings.comparison_threshold,
                ks_p_value(raw, n, current),
                n,
                current,
            )
        if expectation.categories is not None and expectation.kind == STRING:
            if stats.categories.overflowed or not stats.categories.counts:
                return None
            return _categorical_drift(
                expectation, stats.categories.counts, float(stats.present), settings
            )
        return None


def _categorical_drift(
    expectation: _Expectation,
    current: dict[str, int],
    current_present: float,
    settings: MonitoringConfig,
) -> FeatureDrift | None:
    baseline = expectation.categories or {}
    baseline_present = expectation.baseline_present or sum(baseline.values())
    if baseline_present <= 0 or current_present <= 0:
        return None
    labels = sorted(set(baseline) | set(current))
    expected = np.asarray([baseline.get(label, 0.0) for label in labels])
    observed = np.asarray([float(current.get(label, 0)) for label in labels])
    linf = float(np.max(np.abs(expected / baseline_present - observed / current_present)))
    method = settings.categorical_drift_method
    if method == "LInfinity":
        p_value = _chi_squared(expected, observed)[1]
        return FeatureDrift(
            expectation.name,
            "categorical",
            method,
            linf,
            linf,
            settings.categorical_comparison_threshold,
            p_value,
            baseline_present,
            current_present,
        )
    statistic, p_value = _chi_squared(expected, observed)
    total = float(expected.sum() + observed.sum())
    # Cramér's V of the 2 x k table: an effect size on the scale of a share difference.
    cramers_v = math.sqrt(statistic / total) if total > 0 else 0.0
    return FeatureDrift(
        expectation.name,
        "categorical",
        method,
        cramers_v,
        statistic,
        settings.categorical_comparison_threshold,
        p_value,
        baseline_present,
        current_present,
    )


def _chi_squared(expected: np.ndarray, observed: np.ndarray) -> tuple[float, float | None]:
    """Pearson's chi-squared test of homogeneity of the 2 x k table (baseline, current)."""
    from scipy.special import chdtrc  # scipy.special imports in milliseconds, scipy.stats not

    table = np.vstack([expected, observed])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    total = table.sum()
    fitted = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    statistic = float(((table - fitted) ** 2 / fitted).sum())
    return statistic, float(chdtrc(table.shape[1] - 1, statistic))


def _drift_description(drift: FeatureDrift) -> str:
    information = (
        f"p-value {drift.p_value:.3g}, for information" if drift.p_value is not None else ""
    )
    if drift.kind == "numerical":
        how = f"{drift.method} L-infinity distance between CDFs; two-sample KS {information}"
    elif drift.method == "ChiSquared":
        how = f"Cramér's V of the chi-squared statistic {drift.raw_distance:.6g}; {information}"
    else:
        how = f"L-infinity distance between category shares; chi-squared {information}"
    return (
        f"Baseline drift distance: {drift.distance:.6g} exceeds threshold: "
        f"{drift.threshold:g} ({how})"
    )


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def check_against_baseline(
    data: Any,
    baseline: Baseline,
    *,
    config: Any = None,
    dataset_format: Any = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    boto3_session: Any | None = None,
    column_names: list[str] | None = None,
) -> Violations:
    """Check a data set against a baseline the way a Model Monitor monitoring job does.

    Checks, per baseline feature: ``missing_column_check``, ``completeness_check``,
    ``data_type_check`` (share of values of the baseline type, and non-negativity),
    ``categorical_values_check`` (share of values in the baseline domain) and
    ``baseline_drift_check`` (numeric: L-infinity distance between CDFs, "Robust" or
    "Simple"; categorical: "LInfinity" or "ChiSquared"); and ``extra_column_check`` for
    columns the baseline does not know. Data is read in batches.

    Parameters
    ----------
    data
        A pandas DataFrame, an Arrow table, or a local path / ``s3://`` URI of Parquet, CSV or
        JSON Lines files.
    baseline
        From :func:`compute_baseline` or :func:`load_baseline` (also SageMaker's own files).
    config
        Overrides of the baseline's ``monitoring_config`` (e.g. ``{"comparison_threshold":
        0.2}``), or a ``MonitoringConfig``.
    dataset_format
        See :func:`compute_baseline`.
    batch_rows
        Rows read per batch.
    boto3_session
        Session for ``s3://`` data.
    column_names
        Names for header-less CSV columns (e.g. the baseline's feature names).

    Returns
    -------
    Violations

    Raises
    ------
    MLAccelInputError
        If the data set has no rows or cannot be read, or the baseline is not a Baseline.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlaccel.monitor import compute_baseline
    >>> baseline = compute_baseline(pd.DataFrame({"x": [1.0, 2.0, 3.0] * 50}))
    >>> result = check_against_baseline(pd.DataFrame({"x": [10.0, 20.0] * 50}), baseline)
    >>> [v.constraint_check_type for v in result.violations]
    ['baseline_drift_check']
    """
    if not isinstance(baseline, Baseline):
        raise MLAccelInputError(
            f"baseline must be a Baseline (from compute_baseline or load_baseline), got "
            f"{type(baseline).__name__}"
        )
    settings = baseline.monitoring_config.with_overrides(config)
    checks = {e.name: _FeatureCheck(e) for e in _expectations(baseline, settings)}
    extras: dict[str, ColumnStats] = {}
    seen: list[str] = []
    item_count = 0
    chunks = iter_chunks(
        data,
        dataset_format=dataset_format,
        batch_rows=batch_rows,
        boto3_session=boto3_session,
        column_names=column_names,
    )
    with column_workers() as pool:
        for new_rows, batch in chunks:
            item_count += new_rows
            tasks: list[Callable[[], None]] = []
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                if name not in checks and name not in extras:
                    extras[name] = ColumnStats(name)
                if name not in seen:
                    seen.append(name)
                tasks.append(_task(checks.get(name), extras.get(name), column))
            run_all(pool, tasks)
    if item_count == 0:
        raise MLAccelInputError(
            "the data set to check has no rows; check the monitoring window or the data path"
        )
    return _report(checks, extras, seen, item_count, settings)


def _task(
    check: _FeatureCheck | None, extra: ColumnStats | None, column: pa.Array
) -> Callable[[], None]:
    def task() -> None:
        if check is not None:
            check.update(column)
        elif extra is not None:
            extra.update(column, want_numbers=extra.text == 0)

    return task


def _report(
    checks: dict[str, _FeatureCheck],
    extras: dict[str, ColumnStats],
    seen: Iterable[str],
    item_count: int,
    settings: MonitoringConfig,
) -> Violations:
    seen = list(seen)
    violations: list[Violation] = []
    drift: list[FeatureDrift] = []
    features = []
    current_columns = len(seen)
    baseline_columns = len(checks)
    for name in seen:
        check = checks.get(name)
        if check is not None:
            found, comparison = check.findings(item_count)
            violations.extend(found)
            if comparison is not None:
                drift.append(comparison)
            features.append(check.stats.statistics(item_count, reference=check.expectation.numeric))
        else:
            features.append(extras[name].statistics(item_count))
    if settings.evaluate_constraints:
        for name in checks:
            if name not in seen:
                violations.append(
                    Violation(
                        name,
                        MISSING_COLUMN_CHECK,
                        f"There are missing columns in current dataset. Number of columns in "
                        f"current dataset: {current_columns}, Number of columns in baseline "
                        f"constraints: {baseline_columns}. Column {name!r} is missing.",
                    )
                )
        for name in extras:
            violations.append(
                Violation(
                    name,
                    EXTRA_COLUMN_CHECK,
                    f"There are extra columns in current dataset. Number of columns in current "
                    f"dataset: {current_columns}, Number of columns in baseline constraints: "
                    f"{baseline_columns}. Column {name!r} is not in the baseline.",
                )
            )
    statistics = {"version": 0.0, "dataset": {"item_count": item_count}, "features": features}
    log.info("checked %d rows: %d violations", item_count, len(violations))
    return Violations(tuple(violations), tuple(drift), statistics)
