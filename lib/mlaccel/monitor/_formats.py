"""SageMaker Model Monitor's file formats: statistics.json, constraints.json and their settings.

The shapes follow the public Model Monitor documentation (the "bring your own container"
schemas). Files SageMaker's analyzer wrote and files this engine wrote load the same way;
optional parts (sketches, domains, the monitoring_config) may be absent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from mlaccel.errors import MLAccelInputError

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
INFERRED_TYPES = (INTEGRAL, FRACTIONAL, STRING, UNKNOWN)
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)

DATA_TYPE_CHECK = "data_type_check"
COMPLETENESS_CHECK = "completeness_check"
BASELINE_DRIFT_CHECK = "baseline_drift_check"
MISSING_COLUMN_CHECK = "missing_column_check"
EXTRA_COLUMN_CHECK = "extra_column_check"
CATEGORICAL_VALUES_CHECK = "categorical_values_check"

COMPARISON_METHODS = ("Robust", "Simple")
CATEGORICAL_DRIFT_METHODS = ("LInfinity", "ChiSquared")

# The KLL sketch parameters Model Monitor's analyzer writes into statistics.json.
KLL_PARAMETERS = {"c": 0.64, "k": 2048.0}


@dataclass(frozen=True)
class MonitoringConfig:
    """The ``monitoring_config`` of a constraints.json: what a check evaluates and how strictly.

    Attributes
    ----------
    evaluate_constraints
        ``False`` skips every constraint check (statistics are still computed).
    emit_metrics
        Kept for the file format; the engine writes no CloudWatch metrics.
    datatype_check_threshold
        Least share of present values that must have the baseline's type (1.0: all of them).
    domain_content_threshold
        Least share of present values of a string column that must be in its baseline domain.
    perform_comparison
        ``False`` skips the distribution (drift) comparison.
    comparison_threshold
        Largest numeric drift distance allowed.
    comparison_method
        ``"Robust"`` subtracts the two-sample Kolmogorov-Smirnov critical value from the
        L-infinity distance between the CDFs, so small samples do not raise false alarms
        (and lets a completeness below 100 % fall short by up to three standard errors of
        the checked batch); ``"Simple"`` uses the distance and the completeness as they are.
    categorical_comparison_threshold
        Largest categorical drift distance allowed.
    categorical_drift_method
        ``"LInfinity"`` (largest difference in a category's share) or ``"ChiSquared"``
        (decided on Cramér's V, the chi-squared statistic's effect size; the p-value is
        reported for information only).
    robust_critical_value
        The ``c`` of the Robust correction ``c * sqrt((n + m) / (n * m))``; not part of the
        file format (1.8 ≈ a 0.3 % two-sided KS test).
    """

    evaluate_constraints: bool = True
    emit_metrics: bool = True
    datatype_check_threshold: float = 1.0
    domain_content_threshold: float = 1.0
    perform_comparison: bool = True
    comparison_threshold: float = 0.1
    comparison_method: str = "Robust"
    categorical_comparison_threshold: float = 0.1
    categorical_drift_method: str = "LInfinity"
    robust_critical_value: float = 1.8

    def to_json(self) -> dict[str, Any]:
        """The ``monitoring_config`` object as Model Monitor writes it."""
        return {
            "evaluate_constraints": _enabled(self.evaluate_constraints),
            "emit_metrics": _enabled(self.emit_metrics),
            "datatype_check_threshold": self.datatype_check_threshold,
            "domain_content_threshold": self.domain_content_threshold,
            "distribution_constraints": {
                "perform_comparison": _enabled(self.perform_comparison),
                "comparison_threshold": self.comparison_threshold,
                "comparison_method": self.comparison_method,
                "categorical_comparison_threshold": self.categorical_comparison_threshold,
                "categorical_drift_method": self.categorical_drift_method,
            },
        }

    def with_overrides(
        self,
        overrides: Mapping[str, Any] | MonitoringConfig | None,
        *,
        source: str = "config",
        keep_unknown: bool = False,
    ) -> MonitoringConfig:
        """A copy with the settings in ``overrides`` (flat or nested as in the file) applied.

        Parameters
        ----------
        overrides
            A ``MonitoringConfig`` (replaces this one), or a mapping in the file's shape
            (``{"distribution_constraints": {"comparison_method": "Simple"}}``) or flat
            (``{"comparison_method": "Simple"}``). Unknown keys are an error.
        source
            Names the input in error messages.
        keep_unknown
            ``True`` for files Model Monitor wrote or users edited: settings the engine does
            not use are left out of the result (the file keeps them, see
            :func:`unused_settings`); ``False`` (a caller's overrides) makes them an error,
            so a misspelt setting is not silently ignored.

        Returns
        -------
        MonitoringConfig

        Examples
        --------
        >>> MonitoringConfig().with_overrides({"comparison_method": "Simple"}).comparison_method
        'Simple'
        """
        if overrides is None:
            return self
        if isinstance(overrides, MonitoringConfig):
            return overrides
        if not isinstance(overrides, Mapping):
            raise MLAccelInputError(
                f"{source} must be a mapping of monitoring_config settings or a "
                f"MonitoringConfig, not {type(overrides).__name__}"
            )
        flat: dict[str, Any] = {}
        for key, value in overrides.items():
            if key == "distribution_constraints":
                if not isinstance(value, Mapping):
                    raise MLAccelInputError(
                        f"{source}.distribution_constraints must be an object, got {value!r}"
                    )
                flat.update(value)
            else:
                flat[key] = value
        known = {f.name for f in fields(MonitoringConfig)}
        unknown = sorted(set(flat) - known)
        if unknown and not keep_unknown:
            raise MLAccelInputError(
                f"{source} has unknown monitoring settings {unknown}; known settings are "
                f"{sorted(known)}"
            )
        changes = {
            key: _parse_setting(key, value, source) for key, value in flat.items() if key in known
        }
        return replace(self, **changes)


_CONFIG_KEYS = frozenset(f.name for f in fields(MonitoringConfig)) | {"distribution_constraints"}


def unused_settings(constraints: Mapping[str, Any]) -> list[str]:
    """Settings of a constraints.json body the engine does not use, as dotted paths.

    Model Monitor and the SageMaker SDK write settings beyond the documented ones (and users
    add their own); a baseline keeps them and writes them back unchanged.

    Examples
    --------
    >>> unused_settings({"features": [], "monitoring_config": {
    ...     "distribution_constraints": {"enable_comparisons": True}}})
    ['monitoring_config.distribution_constraints.enable_comparisons']
    """
    found: list[str] = []
    places: list[tuple[str, Any]] = [("monitoring_config", constraints.get("monitoring_config"))]
    for feature in constraints.get("features") or []:
        if isinstance(feature, Mapping):
            places.append((f"features[{feature.get('name')!r}]", feature_overrides(feature)))
    for where, config in places:
        if not isinstance(config, Mapping):
            continue
        found += [f"{where}.{key}" for key in config if key not in _CONFIG_KEYS]
        nested = config.get("distribution_constraints")
        if isinstance(nested, Mapping):
            found += [
                f"{where}.distribution_constraints.{key}"
                for key in nested
                if key not in _CONFIG_KEYS
            ]
    return found


def _enabled(flag: bool) -> str:
    return "Enabled" if flag else "Disabled"


def _parse_setting(key: str, value: Any, source: str) -> Any:
    where = f"{source}.{key}"
    if key in ("evaluate_constraints", "emit_metrics", "perform_comparison"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("enabled", "disabled"):
            return value.lower() == "enabled"
        raise MLAccelInputError(f"{where} must be 'Enabled' or 'Disabled', got {value!r}")
    if key == "comparison_method":
        return _pick(value, COMPARISON_METHODS, where)
    if key == "categorical_drift_method":
        return _pick(value, CATEGORICAL_DRIFT_METHODS, where)
    number = _number(value, where)
    if key == "robust_critical_value":
        if number <= 0:
            raise MLAccelInputError(f"{where} must be positive, got {value!r}")
        return number
    if number < 0:
        raise MLAccelInputError(f"{where} must be a non-negative number, got {value!r}")
    return number


def _pick(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if isinstance(value, str):
        for name in allowed:
            if name.lower() == value.lower():
                return name
    raise MLAccelInputError(f"{where} must be one of {list(allowed)}, got {value!r}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MLAccelInputError(f"{where} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise MLAccelInputError(f"{where} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise MLAccelInputError(f"{where} must be a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class Baseline:
    """A data-quality baseline: the bodies of statistics.json and constraints.json.

    Either body may be missing (``None``) when only one file is at hand: without statistics
    there is no drift comparison; without constraints the statistics' features and inferred
    types are the expectations and the default monitoring_config applies.

    Attributes
    ----------
    statistics
        The statistics.json body (``version``, ``dataset``, ``features``).
    constraints
        The constraints.json body (``version``, ``features``, ``monitoring_config``).
    """

    statistics: dict[str, Any] | None
    constraints: dict[str, Any] | None
    _source: str = field(default="baseline", repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.statistics is None and self.constraints is None:
            raise MLAccelInputError(
                "a baseline needs statistics.json, constraints.json or both; neither was given"
            )
        if self.statistics is not None:
            validate_statistics(self.statistics, f"{self._source} statistics")
        if self.constraints is not None:
            validate_constraints(self.constraints, f"{self._source} constraints")

    @property
    def feature_names(self) -> list[str]:
        """Names of the baseline's features, in file order (constraints first)."""
        body = self.constraints if self.constraints is not None else self.statistics
        assert body is not None
        return [str(feature["name"]) for feature in body["features"]]

    @property
    def monitoring_config(self) -> MonitoringConfig:
        """The constraints' monitoring_config (defaults for missing settings)."""
        if self.constraints is None or "monitoring_config" not in self.constraints:
            return MonitoringConfig()
        return MonitoringConfig().with_overrides(
            self.constraints["monitoring_config"],
            source=f"{self._source} monitoring_config",
            keep_unknown=True,
        )

    def statistics_feature(self, name: str) -> dict[str, Any] | None:
        """The statistics.json entry of feature ``name``, if any."""
        return _find(self.statistics, name)

    def constraints_feature(self, name: str) -> dict[str, Any] | None:
        """The constraints.json entry of feature ``name``, if any."""
        return _find(self.constraints, name)


def _find(body: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if body is None:
        return None
    for feature in body["features"]:
        if feature["name"] == name:
            return dict(feature)
    return None


def validate_statistics(body: Any, source: str) -> None:
    """Raise MLAccelInputError unless ``body`` has the statistics.json shape the engine reads."""
    features = _features(body, source)
    for index, feature in enumerate(features):
        where = f"{source} features[{index}] ({feature['name']!r})"
        _optional_type(feature, where)
        numeric = feature.get("numerical_statistics")
        strings = feature.get("string_statistics")
        for key, part in (("numerical_statistics", numeric), ("string_statistics", strings)):
            if part is None:
                continue
            if not isinstance(part, Mapping):
                raise MLAccelInputError(f"{where}.{key} must be an object, got {part!r}")
            common = part.get("common")
            if common is not None and not isinstance(common, Mapping):
                raise MLAccelInputError(f"{where}.{key}.common must be an object")
            for count in ("num_present", "num_missing"):
                if common is not None and count in common:
                    _count(common[count], f"{where}.{key}.common.{count}")
        if numeric is not None:
            _validate_kll(numeric.get("distribution"), f"{where}.numerical_statistics")
        if strings is not None:
            _validate_categorical(strings.get("distribution"), f"{where}.string_statistics")


def validate_constraints(body: Any, source: str) -> None:
    """Raise MLAccelInputError unless ``body`` has the constraints.json shape the engine reads."""
    features = _features(body, source)
    for index, feature in enumerate(features):
        where = f"{source} features[{index}] ({feature['name']!r})"
        _optional_type(feature, where)
        if "completeness" in feature:
            completeness = _number(feature["completeness"], f"{where}.completeness")
            if not 0.0 <= completeness <= 1.0:
                raise MLAccelInputError(
                    f"{where}.completeness must be between 0 and 1, got {completeness}"
                )
        numeric = feature.get("num_constraints")
        if numeric is not None:
            if not isinstance(numeric, Mapping):
                raise MLAccelInputError(f"{where}.num_constraints must be an object")
            flag = numeric.get("is_non_negative")
            if flag is not None and not isinstance(flag, bool):
                raise MLAccelInputError(
                    f"{where}.num_constraints.is_non_negative must be true or false, got {flag!r}"
                )
        strings = feature.get("string_constraints")
        if strings is not None:
            if not isinstance(strings, Mapping):
                raise MLAccelInputError(f"{where}.string_constraints must be an object")
            domains = strings.get("domains")
            if domains is not None and not isinstance(domains, list):
                raise MLAccelInputError(f"{where}.string_constraints.domains must be a list")
        overrides = feature_overrides(feature)
        if overrides:
            MonitoringConfig().with_overrides(
                overrides, source=f"{where} overrides", keep_unknown=True
            )
    if "monitoring_config" in body:
        MonitoringConfig().with_overrides(
            body["monitoring_config"], source=f"{source} config", keep_unknown=True
        )


def feature_overrides(feature: Mapping[str, Any]) -> Mapping[str, Any]:
    """A feature's monitoring_config overrides (both spellings seen in the wild).

    SageMaker SDKs before 2.254 (``Constraints.set_monitoring``) write them inside the feature's
    ``string_constraints``; later ones, and Model Monitor itself, on the feature.

    Examples
    --------
    >>> feature_overrides({"name": "a", "monitoring_config_overrides": {"evaluate_constraints": "Disabled"}})
    {'evaluate_constraints': 'Disabled'}
    >>> feature_overrides({"name": "b", "string_constraints": {
    ...     "domains": ["x"], "monitoring_config_overrides": {"evaluate_constraints": "Disabled"}}})
    {'evaluate_constraints': 'Disabled'}
    """  # noqa: E501
    strings = feature.get("string_constraints")
    places = [feature, strings if isinstance(strings, Mapping) else {}]
    for place in places:
        for key in ("monitoringConfigOverrides", "monitoring_config_overrides"):
            value = place.get(key)
            if value:
                if not isinstance(value, Mapping):
                    raise MLAccelInputError(
                        f"feature {feature.get('name')!r}: {key} must be an object"
                    )
                return value
    return {}


def _features(body: Any, source: str) -> list[Mapping[str, Any]]:
    if not isinstance(body, Mapping):
        raise MLAccelInputError(f"{source} must be a JSON object, got {type(body).__name__}")
    features = body.get("features")
    if not isinstance(features, list):
        raise MLAccelInputError(
            f"{source} has no 'features' list; it is not a Model Monitor statistics or "
            "constraints file (regenerate it with compute_baseline or a baselining job)"
        )
    names = set()
    for index, feature in enumerate(features):
        if not isinstance(feature, Mapping) or not isinstance(feature.get("name"), str):
            raise MLAccelInputError(
                f"{source} features[{index}] has no 'name'; every feature needs a string name"
            )
        if feature["name"] in names:
            raise MLAccelInputError(f"{source} lists feature {feature['name']!r} twice")
        names.add(feature["name"])
    return features


def _optional_type(feature: Mapping[str, Any], where: str) -> None:
    kind = feature.get("inferred_type")
    if kind is not None and kind not in INFERRED_TYPES:
        raise MLAccelInputError(
            f"{where}.inferred_type must be one of {list(INFERRED_TYPES)}, got {kind!r}"
        )


def _count(value: Any, where: str) -> None:
    number = _number(value, where)
    if number < 0:
        raise MLAccelInputError(f"{where} must not be negative, got {value!r}")


def _validate_kll(distribution: Any, where: str) -> None:
    if distribution is None:
        return
    kll = distribution.get("kll") if isinstance(distribution, Mapping) else None
    if kll is None:
        return
    if not isinstance(kll, Mapping):
        raise MLAccelInputError(f"{where}.distribution.kll must be an object")
    buckets = kll.get("buckets")
    if buckets is not None:
        if not isinstance(buckets, list):
            raise MLAccelInputError(f"{where}.distribution.kll.buckets must be a list")
        for index, bucket in enumerate(buckets):
            bucket_where = f"{where}.distribution.kll.buckets[{index}]"
            if not isinstance(bucket, Mapping):
                raise MLAccelInputError(f"{bucket_where} must be an object")
            for key in ("lower_bound", "upper_bound", "count"):
                if key not in bucket:
                    raise MLAccelInputError(f"{bucket_where} misses {key!r}")
                _number(bucket[key], f"{bucket_where}.{key}")
    sketch = kll.get("sketch")
    if sketch is not None:
        data = sketch.get("data") if isinstance(sketch, Mapping) else None
        if not isinstance(data, list) or not all(isinstance(level, list) for level in data):
            raise MLAccelInputError(
                f"{where}.distribution.kll.sketch.data must be a list of lists of numbers"
            )
        for level_index, level in enumerate(data):
            for item in level:
                if isinstance(item, bool) or not isinstance(item, int | float):
                    raise MLAccelInputError(
                        f"{where}.distribution.kll.sketch.data[{level_index}] holds {item!r}, "
                        "not a number"
                    )


def _validate_categorical(distribution: Any, where: str) -> None:
    if distribution is None:
        return
    categorical = distribution.get("categorical") if isinstance(distribution, Mapping) else None
    if categorical is None:
        return
    buckets = categorical.get("buckets") if isinstance(categorical, Mapping) else None
    if not isinstance(buckets, list):
        raise MLAccelInputError(f"{where}.distribution.categorical.buckets must be a list")
    for index, bucket in enumerate(buckets):
        if not isinstance(bucket, Mapping) or "value" not in bucket or "count" not in bucket:
            raise MLAccelInputError(
                f"{where}.distribution.categorical.buckets[{index}] needs 'value' and 'count'"
            )
        _count(bucket["count"], f"{where}.distribution.categorical.buckets[{index}].count")


def parse_json_text(text: str | bytes, source: str) -> Any:
    """``json.loads`` that names the file when it is not JSON."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MLAccelInputError(
            f"{source} is not valid JSON ({error}); point to the file a baselining job wrote"
        ) from None


def dumps(body: Any) -> str:
    """JSON text as Model Monitor writes it (indented, no NaN literals)."""
    return json.dumps(_json_safe(body), indent=2) + "\n"


def _json_safe(value: Any) -> Any:
    # Standard JSON has no NaN or Infinity; Model Monitor writes them as strings.
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value
