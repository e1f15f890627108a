"""Checking a data set against a baseline, the way a Model Monitor monitoring job does.

The data is read once, in batches; each baseline feature gathers counts and a binned or
categorical distribution (:class:`_FeatureCheck`), which then become violations
(:mod:`._violations`) and drift comparisons (:mod:`._drift`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._baseline import column_workers, run_all
from mlaccel.monitor._drift import FeatureDrift, categorical_drift, numeric_drift
from mlaccel.monitor._formats import (
    CATEGORICAL_VALUES_CHECK,
    FRACTIONAL,
    INTEGRAL,
    NUMERIC_TYPES,
    STRING,
    UNKNOWN,
    Baseline,
    MonitoringConfig,
    feature_overrides,
)
from mlaccel.monitor._io import DEFAULT_BATCH_ROWS, iter_chunks, read_ahead, system_allocator
from mlaccel.monitor._profile import ColumnStats
from mlaccel.monitor._sketch import Binner, NumericReference, reference_from_statistics
from mlaccel.monitor._violations import (
    Violation,
    Violations,
    completeness_violation,
    data_type_violation,
    domain_violation,
    drift_violation,
    extra_column_violation,
    missing_column_violation,
    negative_values_violation,
    unseen_values,
)

log = logging.getLogger(__name__)


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
        if kind in NUMERIC_TYPES and numeric_stats:
            reference = reference_from_statistics(numeric_stats)
            if reference is None:
                log.warning("baseline feature %r has no sketch or buckets: no drift check", name)
        categories, baseline_present = None, 0.0
        if kind == STRING and string_stats:
            categories, baseline_present = _categories(string_stats)
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
                    feature_overrides(constraint),
                    source=f"feature {name!r} overrides",
                    keep_unknown=True,
                ),
            )
        )
    return expectations


def _categories(string_stats: dict[str, Any]) -> tuple[dict[str, float] | None, float]:
    """The baseline's category counts (``None`` without buckets) and its present values."""
    buckets = (string_stats.get("distribution") or {}).get("categorical", {}).get("buckets")
    categories = {str(b["value"]): float(b["count"]) for b in buckets} if buckets else None
    common = string_stats.get("common") or {}
    listed = sum(categories.values()) if categories else 0.0
    return categories, float(common.get("num_present", listed) or listed)


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
            # Each value is typed on its own, as Model Monitor types CSV text: "3.0" is a
            # number whether it arrives as text or as a float, so verdicts do not depend on
            # the file format.
            self.matched += values.text
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
        """The feature's violations and drift comparison, once every batch was seen."""
        expectation, stats = self.expectation, self.stats
        drift = self._drift()
        if not expectation.settings.evaluate_constraints:
            return [], drift
        name, settings, present = expectation.name, expectation.settings, stats.present
        moments = stats.moments
        found = [
            completeness_violation(name, expectation.completeness, present, item_count, settings),
            data_type_violation(name, expectation.kind, self.matched, present, settings),
            negative_values_violation(name, moments.negative, moments.count)
            if expectation.non_negative
            else None,
            domain_violation(
                name, expectation.domain, self.in_domain, present, stats.categories.counts, settings
            ),
            drift_violation(drift),
        ]
        return [violation for violation in found if violation is not None], drift

    def _drift(self) -> FeatureDrift | None:
        expectation, stats = self.expectation, self.stats
        settings = expectation.settings
        if not settings.perform_comparison:
            return None
        if expectation.numeric is not None and stats.slots is not None:
            return numeric_drift(expectation.name, expectation.numeric, stats.slots, settings)
        if expectation.categories is None or expectation.kind != STRING:
            return None
        if stats.categories.overflowed or not stats.categories.counts:
            return None
        return categorical_drift(
            expectation.name,
            expectation.categories,
            expectation.baseline_present,
            stats.categories.counts,
            float(stats.present),
            settings,
        )


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
    gathered = gather_check(
        data,
        baseline,
        settings,
        dataset_format=dataset_format,
        batch_rows=batch_rows,
        boto3_session=boto3_session,
        column_names=column_names,
    )
    return report_check(gathered, settings)


@dataclass
class CheckCounts:
    """What a check gathered over a data set (or a shard): per feature, and the rows."""

    checks: dict[str, _FeatureCheck]
    extras: dict[str, ColumnStats]
    seen: list[str]
    item_count: int


def gather_check(
    data: Any,
    baseline: Baseline,
    settings: MonitoringConfig,
    *,
    dataset_format: Any = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    boto3_session: Any | None = None,
    column_names: list[str] | None = None,
) -> CheckCounts:
    """Read the data once and gather each feature's counts and distribution."""
    checks = new_checks(baseline, settings)
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
    with system_allocator(), column_workers() as pool:
        for new_rows, batch in read_ahead(chunks):
            item_count += new_rows
            tasks: list[Callable[[], None]] = []
            for name, column in zip(batch.schema.names, batch.columns, strict=True):
                if name not in checks and name not in extras:
                    extras[name] = ColumnStats(name)
                if name not in seen:
                    seen.append(name)
                tasks.append(_task(checks.get(name), extras.get(name), column))
            run_all(pool, tasks)
    return CheckCounts(checks, extras, seen, item_count)


def new_checks(baseline: Baseline, settings: MonitoringConfig) -> dict[str, _FeatureCheck]:
    """An empty accumulator per baseline feature."""
    return {e.name: _FeatureCheck(e) for e in _expectations(baseline, settings)}


def report_check(gathered: CheckCounts, settings: MonitoringConfig) -> Violations:
    """Violations, drift and statistics from what a check gathered."""
    if gathered.item_count == 0:
        raise MLAccelInputError(
            "the data set to check has no rows; check the monitoring window or the data path"
        )
    return _report(gathered.checks, gathered.extras, gathered.seen, gathered.item_count, settings)


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
    unseen: dict[str, list[str]] = {}
    features = []
    for name in seen:
        check = checks.get(name)
        if check is None:
            features.append(extras[name].statistics(item_count))
            continue
        found, comparison = check.findings(item_count)
        violations.extend(found)
        domain = check.expectation.domain
        kinds = {violation.constraint_check_type for violation in found}
        if domain is not None and CATEGORICAL_VALUES_CHECK in kinds:
            unseen[name] = unseen_values(domain, check.stats.categories.counts)
        if comparison is not None:
            drift.append(comparison)
        features.append(check.stats.statistics(item_count, reference=check.expectation.numeric))
    if settings.evaluate_constraints:
        columns = (len(seen), len(checks))
        violations += [missing_column_violation(n, *columns) for n in checks if n not in seen]
        violations += [extra_column_violation(n, *columns) for n in extras]
    statistics = {"version": 0.0, "dataset": {"item_count": item_count}, "features": features}
    log.info("checked %d rows: %d violations", item_count, len(violations))
    return Violations(tuple(violations), tuple(drift), statistics, unseen)
