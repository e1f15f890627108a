"""What a check found, in constraint_violations.json's shape, and the rule behind each entry.

Each ``*_violation`` function decides one constraint from counts a check gathered and words
the entry as Model Monitor's analyzer does (consumers parse these descriptions, so they carry
nothing else: the method, p-values and unseen values are in :class:`Violations`); it returns
``None`` when the constraint holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel.monitor._drift import FeatureDrift
from mlaccel.monitor._formats import (
    BASELINE_DRIFT_CHECK,
    CATEGORICAL_VALUES_CHECK,
    COMPLETENESS_CHECK,
    DATA_TYPE_CHECK,
    EXTRA_COLUMN_CHECK,
    FRACTIONAL,
    INTEGRAL,
    MISSING_COLUMN_CHECK,
    STATISTICS_FILE,
    STRING,
    VIOLATIONS_FILE,
    MonitoringConfig,
    dumps,
)
from mlaccel.monitor._locations import write_text

_EXAMPLES = 5
# With the Robust method a completeness shortfall within this many standard errors of the
# checked batch's completeness is taken as sampling noise.
_COMPLETENESS_Z = 3.0
# Shares are compared with this tolerance, so 100 % required is met by 100 % observed.
_TOLERANCE = 1e-12


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
    unseen_values
        Per feature with a ``categorical_values_check`` violation, its most frequent values
        outside the baseline domain.
    """

    violations: tuple[Violation, ...]
    drift: tuple[FeatureDrift, ...]
    statistics: dict[str, Any]
    unseen_values: dict[str, list[str]] = field(default_factory=dict)

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


def completeness_violation(
    name: str, required: float | None, present: int, item_count: int, settings: MonitoringConfig
) -> Violation | None:
    """``completeness_check``: the share of rows with a value is below the baseline's.

    Examples
    --------
    >>> from mlaccel.monitor import MonitoringConfig
    >>> found = completeness_violation("x", 1.0, 90, 100, MonitoringConfig())
    >>> found.description.split(". ")[1]
    'Expected: 100.0%, Observed: Only 90.0% of data is present.'
    >>> completeness_violation("x", 1.0, 100, 100, MonitoringConfig()) is None
    True
    """
    if required is None or not item_count:
        return None
    observed = present / item_count
    slack = 0.0
    if settings.comparison_method == "Robust" and 0.0 < required < 1.0:
        slack = _COMPLETENESS_Z * math.sqrt(required * (1 - required) / item_count)
    if observed >= required - slack - _TOLERANCE:
        return None
    return Violation(
        name,
        COMPLETENESS_CHECK,
        f"Data completeness requirement is not met. Expected: {_percent(required)}, "
        f"Observed: Only {_percent(observed)} of data is present.",
    )


def data_type_violation(
    name: str, kind: str, matched: int, present: int, settings: MonitoringConfig
) -> Violation | None:
    """``data_type_check``: too few present values have the baseline's type."""
    if kind not in (INTEGRAL, FRACTIONAL, STRING) or not present:
        return None
    share = matched / present
    if share >= settings.datatype_check_threshold - _TOLERANCE:
        return None
    return Violation(
        name,
        DATA_TYPE_CHECK,
        f"Data type match requirement is not met. Expected data type: {kind}, Expected match: "
        f"{_percent(settings.datatype_check_threshold)}. Observed: Only {_percent(share)} of "
        f"data is {kind}.",
    )


def negative_values_violation(name: str, negative: int, count: int) -> Violation | None:
    """``data_type_check`` of a feature the baseline found non-negative: negatives appeared."""
    if not negative:
        return None
    # Deequ's isNonNegative: the share of values >= 0 must be 1.
    return Violation(name, DATA_TYPE_CHECK, _not_met(1.0 - negative / max(count, 1)))


def domain_violation(
    name: str,
    domain: frozenset[str] | None,
    in_domain: int,
    present: int,
    counts: dict[str, int],
    settings: MonitoringConfig,
) -> Violation | None:
    """``categorical_values_check``: too few values are in the baseline's domain.

    ``domain`` is ``None`` when the baseline sets none; ``counts`` are the checked values'
    category counts.
    """
    if domain is None or not present:
        return None
    share = in_domain / present
    if share >= settings.domain_content_threshold - _TOLERANCE:
        return None
    return Violation(name, CATEGORICAL_VALUES_CHECK, _not_met(share))


def unseen_values(domain: frozenset[str], counts: dict[str, int]) -> list[str]:
    """The most frequent checked values outside a baseline domain (a few examples)."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [label for label, _ in ordered if label not in domain][:_EXAMPLES]


def drift_violation(drift: FeatureDrift | None) -> Violation | None:
    """``baseline_drift_check``: the distribution distance exceeds its threshold."""
    if drift is None or not drift.drifted:
        return None
    return Violation(
        drift.feature_name,
        BASELINE_DRIFT_CHECK,
        f"Baseline drift distance: {drift.distance!r} exceeds threshold: {drift.threshold!r}",
    )


def missing_column_violation(name: str, current_columns: int, baseline_columns: int) -> Violation:
    """``missing_column_check``: a baseline feature is not in the checked data."""
    return Violation(
        name,
        MISSING_COLUMN_CHECK,
        f"There are missing columns in current dataset. Number of columns in current dataset: "
        f"{current_columns}, Number of columns in baseline constraints: {baseline_columns}",
    )


def extra_column_violation(name: str, current_columns: int, baseline_columns: int) -> Violation:
    """``extra_column_check``: the checked data has a column the baseline does not know."""
    return Violation(
        name,
        EXTRA_COLUMN_CHECK,
        f"There are extra columns in current dataset. Number of columns in current dataset: "
        f"{current_columns}, Number of columns in baseline constraints: {baseline_columns}",
    )


def _not_met(value: float) -> str:
    # Deequ's wording for a constraint whose metric fails its assertion.
    return f"Value: {value!r} does not meet the constraint requirement!"


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"
