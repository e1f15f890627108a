"""Sentences that read what notebooks 05 and 06 show, computed from the results, so they stay
true for any data product (regression, binary, multiclass; any column names).

Each function returns Markdown for :func:`mlaccel.report.show_markdown`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlaccel.errors import MLAccelInputError

# What each constraint_check_type of constraint_violations.json means for the data.
CHECK_MEANINGS = {
    "data_type_check": "values of another type than in training (text where numbers were)",
    "completeness_check": "more missing values than the baseline allows",
    "baseline_drift_check": "the distribution moved further from training than allowed",
    "missing_column_check": "a column the baseline has is absent",
    "extra_column_check": "a column the baseline does not know appeared",
    "categorical_values_check": "values outside the categories seen in training",
}
DECLARED_KINDS = {
    "shifted": "shifted numbers",
    "new_category": "a category never seen in training",
    "extra_missing": "extra missing values",
}


def _columns(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"


def drift_reading(
    declared: Mapping[str, Any],
    drift: Sequence[Any],
    violations: Sequence[Any],
    origin: Mapping[str, str],
) -> str:
    """Why each declared drift was, or was not, flagged, and what was flagged undeclared.

    Parameters
    ----------
    declared
        ``batch.attrs["drift"]`` of :func:`mlaccel.drift_batch.drifted_batch` (``shifted``,
        ``new_category``, ``extra_missing``: column names), or a description of a source
        whose drift nobody declared (``{"source": ...}``, ``{"captured": ...}``).
    drift
        The check's feature comparisons (``result.drift``: ``feature_name``, ``method``,
        ``distance``, ``raw_distance``, ``threshold``, ``current_count``).
    violations
        The check's violations (``result.violations``: ``feature_name``,
        ``constraint_check_type``).
    origin
        Each model input → the table column it comes from (``price_missing`` → ``price``);
        a declared column with no input is one the model does not receive.

    Returns
    -------
    str
        Markdown: one bullet per declared column, then the undeclared flags.

    Examples
    --------
    >>> print(drift_reading({"shifted": ["a"]}, [], [], {}))  # doctest: +NORMALIZE_WHITESPACE
    - `a` (shifted numbers): **not flagged**, and it cannot be: the model receives no input
      made from it, so the check never sees it.
    """
    if not isinstance(declared, Mapping):
        raise MLAccelInputError(
            f"declared must be a mapping such as batch.attrs['drift'], got {type(declared)}"
        )
    flagged_by_column: dict[str, set[str]] = {}
    for violation in violations:
        column = origin.get(violation.feature_name, violation.feature_name)
        flagged_by_column.setdefault(column, set()).add(violation.constraint_check_type)
    kinds = {key: _columns(declared.get(key)) for key in DECLARED_KINDS}
    declared_columns = {c for columns in kinds.values() for c in columns}
    lines: list[str] = []
    if not declared_columns:
        described = ", ".join(f"{k}: {v}" for k, v in declared.items()) or "no description"
        lines.append(
            f"Nobody declared drift in this data ({described}): every flag below is what the "
            "data itself shows."
        )
    for key, columns in kinds.items():
        for column in columns:
            lines.append(
                _declared_line(column, DECLARED_KINDS[key], drift, origin, flagged_by_column)
            )
    undeclared = sorted(set(flagged_by_column) - declared_columns)
    if undeclared and declared_columns:
        named = ", ".join(f"`{c}`" for c in undeclared)
        lines.append(
            f"- Flagged without being declared: {named}. A change in one column moves the "
            "inputs made with it (its missing-value flag, its one-hot categories), or the "
            "held-out rows differ from training by chance at this sample size."
        )
    elif not flagged_by_column and not declared_columns:
        lines.append("Nothing was flagged: the data is within every constraint of the baseline.")
    return "\n".join(lines)


def _declared_line(
    column: str,
    kind: str,
    drift: Sequence[Any],
    origin: Mapping[str, str],
    flagged_by_column: Mapping[str, set[str]],
) -> str:
    inputs = [name for name, source in origin.items() if source == column]
    if not inputs:
        return (
            f"- `{column}` ({kind}): **not flagged**, and it cannot be: the model receives no "
            "input made from it, so the check never sees it."
        )
    comparisons = [d for d in drift if d.feature_name in inputs]
    largest = max(comparisons, key=lambda d: d.distance - d.threshold, default=None)
    if column in flagged_by_column:
        checks = ", ".join(sorted(flagged_by_column[column]))
        detail = ""
        if largest is not None and largest.distance > largest.threshold:
            detail = (
                f"; its input `{largest.feature_name}` moved a distance of "
                f"{_number(largest.distance)} against an allowance of "
                f"{_number(largest.threshold)}"
            )
        return f"- `{column}` ({kind}): **flagged** by {checks}{detail}."
    if largest is None:
        return (
            f"- `{column}` ({kind}): **not flagged**: its inputs "
            f"({', '.join(f'`{n}`' for n in inputs)}) kept their types, completeness and "
            "categories, and none has a distribution to compare."
        )
    noise = ""
    if largest.method == "Robust":
        noise = (
            f" after subtracting the {_number(largest.raw_distance - largest.distance)} that "
            f"sampling noise explains with {largest.current_count:,.0f} rows"
        )
    blanks = ""
    if kind == DECLARED_KINDS["extra_missing"]:
        blanks = (
            " The fitted preprocessor fills missing values before the model sees them, so extra "
            "blanks show only as a move of the filled values (and of a `_missing` input where "
            "the model has one)."
        )
    return (
        f"- `{column}` ({kind}): **not flagged**: the largest move, on `{largest.feature_name}`, "
        f"is a distance of {_number(largest.distance)}{noise}, within the allowance of "
        f"{_number(largest.threshold)}. A larger change, or a smaller allowance "
        f"(`comparison_threshold`), would flag it.{blanks}"
    )


def violations_table(violations: Iterable[Any]) -> Any:
    """One row per kind of violation: how many, on which inputs, and what it means.

    Examples
    --------
    >>> from types import SimpleNamespace as V
    >>> table = violations_table([V(feature_name="a", constraint_check_type="completeness_check")])
    >>> table.loc["completeness_check", "meaning"]
    'more missing values than the baseline allows'
    """
    import pandas as pd

    by_check: dict[str, list[str]] = {}
    for violation in violations:
        by_check.setdefault(violation.constraint_check_type, []).append(violation.feature_name)
    rows = [
        {
            "check": check,
            "violations": len(names),
            "inputs": ", ".join(sorted(names)),
            "meaning": CHECK_MEANINGS.get(check, "a constraint of the baseline was not met"),
        }
        for check, names in sorted(by_check.items(), key=lambda item: -len(item[1]))
    ]
    columns = ["check", "violations", "inputs", "meaning"]
    return pd.DataFrame(rows, columns=columns).set_index("check")


def quality_reading(scores: Mapping[str, float], *, metric: str, lower_is_better: bool) -> str:
    """Which model scores best on ``metric``, and by how much (05's comparison table).

    Examples
    --------
    >>> quality_reading({"a": 2.0, "b": 3.0}, metric="rmse", lower_is_better=True)
    '**a** scores best on rmse (2, lower is better); b is 50% worse (3).'
    """
    if not scores:
        raise MLAccelInputError("scores is empty: pass each model's score by its name")
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=not lower_is_better)
    (best, top), rest = ranked[0], ranked[1:]
    direction = "lower" if lower_is_better else "higher"
    text = f"**{best}** scores best on {metric} ({_number(top)}, {direction} is better)"
    gaps = []
    for name, value in rest:
        if top == 0 or value == top:
            gaps.append(f"{name} scores the same" if value == top else f"{name} {_number(value)}")
            continue
        change = abs(value - top) / abs(top)
        gaps.append(f"{name} is {change:.0%} worse ({_number(value)})")
    return text + ("; " + "; ".join(gaps) if gaps else "") + "."


def latency_reading(single: Any, bulk: Any) -> str:
    """What the latency figures mean for a caller: one record against large requests.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> one = R(p50_ms=2.0, p99_ms=8.0, rows_per_second=400.0, rows_per_request=1)
    >>> many = R(p50_ms=20.0, p99_ms=30.0, rows_per_second=40_000.0, rows_per_request=1000)
    >>> print(latency_reading(one, many))  # doctest: +NORMALIZE_WHITESPACE
    Half the single-record requests took under 2.0 ms and 99% under 8.0 ms (the tail is 4.0× the
    median). Sending 1,000 rows per request scores 40,000 rows a second, 100× the 400 of one
    record at a time: bulk callers should batch.
    """
    tail = single.p99_ms / single.p50_ms if single.p50_ms else float("nan")
    speedup = bulk.rows_per_second / single.rows_per_second if single.rows_per_second else 0.0
    advice = "bulk callers should batch" if speedup > 1.5 else "batching gains little here"
    return (
        f"Half the single-record requests took under {single.p50_ms:.1f} ms and 99% under "
        f"{single.p99_ms:.1f} ms (the tail is {tail:.1f}× the median). Sending "
        f"{bulk.rows_per_request:,} rows per request scores {bulk.rows_per_second:,.0f} rows a "
        f"second, {speedup:,.0f}× the {single.rows_per_second:,.0f} of one record at a time: "
        f"{advice}."
    )


def drift_figure(baseline: Any, current: Any, feature: str, comparison: Any = None) -> Any:
    """The drift engine's baseline-against-current plot of ``feature``, with labelled axes and
    a sentence describing it (its alternative text), the distance against the allowance
    included when the check's ``comparison`` (a ``result.drift`` entry) is given.

    Examples
    --------
    >>> fig = drift_figure(train_inputs, current_inputs, "x", drift_of["x"])  # doctest: +SKIP
    >>> report.show_figure(fig)  # doctest: +SKIP
    """
    import pandas as pd

    from mlaccel.monitor import plot_feature_drift

    fig = plot_feature_drift(baseline, current, feature)
    ax = fig.axes[0]
    # the engine plots histograms when both sides are numeric, category shares otherwise
    types = pd.api.types
    if types.is_numeric_dtype(baseline[feature]) and types.is_numeric_dtype(current[feature]):
        _as_shares_per_bin(ax)
        ax.set(xlabel=feature, ylabel="share of rows per bin")
        shape = "Overlaid histograms"
    else:
        ax.set(xlabel=f"{feature} (most frequent categories)", ylabel="share of rows")
        shape = "Bars of the share of rows per category"
    text = f"{shape} of {feature}, baseline against current data"
    if comparison is not None:
        verdict = "flagged" if comparison.distance > comparison.threshold else "within it"
        text += (
            f": distance {_number(comparison.distance)} against an allowance of "
            f"{_number(comparison.threshold)}, {verdict}"
        )
    fig.set_label(text + ".")
    return fig


def _as_shares_per_bin(ax: Any) -> None:
    # The engine draws densities (per unit of the feature: 1e-5 per mile reads badly); a bar's
    # height times its width is the share of rows in its bin, between 0 and 1 for any unit.
    from matplotlib.ticker import FuncFormatter

    for bar in ax.patches:
        bar.set_height(bar.get_height() * bar.get_width())
    ax.relim()
    ax.autoscale_view()
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:.0%}"))
    low, high = ax.get_xlim()
    if max(abs(low), abs(high)) >= 10_000:  # 250k, not 250,000 squeezed between its neighbours
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: compact_number(x)))


def compact_number(value: float) -> str:
    """A tick label short enough not to overlap its neighbours.

    Examples
    --------
    >>> [compact_number(v) for v in (0, 950, 250_000, 1_500_000, -20_000)]
    ['0', '950', '250k', '1.5M', '-20k']
    """
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def quality_violations_reading(violations: Mapping[str, Any], *, compared: bool = True) -> str:
    """What the model-quality check found (``monitor.check_model_quality``'s result).

    Examples
    --------
    >>> quality_violations_reading({"violations": []}).startswith("The model's quality")
    True
    >>> quality_violations_reading({"violations": []}, compared=False)
    'No labels arrived for the current data, so its quality could not be compared.'
    """
    if not compared:
        return "No labels arrived for the current data, so its quality could not be compared."
    found = violations.get("violations")
    if not isinstance(found, list):
        raise MLAccelInputError(
            "violations must be check_model_quality's result, {'violations': [...]}"
        )
    if not found:
        return (
            "The model's quality on the current data stays within every constraint suggested "
            "from its quality on the training rows."
        )
    lines = [f"{len(found)} model-quality constraint(s) broken:"]
    lines += [f"- `{v.get('metric_name', '?')}`: {v.get('description', '')}" for v in found]
    return "\n".join(lines)
