"""Bias metrics per facet, in SageMaker Clarify's analysis.json shape, computed with fairlearn.

Group sizes and positive rates come from ``fairlearn.metrics.MetricFrame`` (``count`` and
``selection_rate``); Clarify's metrics are then read off them, facet ``d`` (the group) against
``a`` (everyone else):

- CI, class imbalance: ``(n_a - n_d) / (n_a + n_d)``
- DPL, difference in positive proportions in labels: ``q_a - q_d``
- DI, disparate impact of predictions: ``q'_d / q'_a``
- DPPL, difference in positive proportions in predicted labels: ``q'_a - q'_d``
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mlaccel.errors import MLAccelInputError

_DESCRIPTIONS = {
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
}


def _fairlearn() -> Any:
    try:
        import fairlearn.metrics as fairness
    except ImportError:  # pragma: no cover - fairlearn is a pinned dependency
        raise MLAccelInputError(
            "bias metrics need fairlearn; install it with `pip install fairlearn`"
        ) from None
    return fairness


def bias_metrics(
    data: Any,
    *,
    label: str,
    facet: str,
    positive_label_values: Sequence[Any] | float = (1,),
    facet_values: Iterable[Any] | float | None = None,
    predicted_label: str | None = None,
) -> dict[str, Any]:
    """Pre-training (CI, DPL) and post-training (DI, DPPL) bias metrics of one facet.

    Parameters
    ----------
    data
        A pandas DataFrame holding the label, the facet and optionally the predicted label.
    label
        Column of observed labels.
    facet
        Column of the sensitive attribute.
    positive_label_values
        Label values that count as the positive outcome, or a number: labels above it are
        positive.
    facet_values
        Facet values to report (each against the rest), or a number: the group is
        ``facet > value``. Every distinct value when ``None``.
    predicted_label
        Column of predicted labels; adds the post-training metrics.

    Returns
    -------
    dict
        Clarify's analysis.json shape: ``pre_training_bias_metrics`` (and
        ``post_training_bias_metrics``), each with ``facets[facet]`` listing
        ``{"value_or_threshold", "metrics": [{"name", "description", "value"}]}``.

    Raises
    ------
    MLAccelInputError
        If a column is missing or a facet group is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [1, 0, 1, 1], "sex": ["f", "f", "m", "m"]})
    >>> result = bias_metrics(frame, label="y", facet="sex", facet_values=["f"])
    >>> [m["name"] for m in result["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]]
    ['CI', 'DPL']
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise MLAccelInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for role, column in (("label", label), ("facet", facet), ("predicted_label", predicted_label)):
        if column is not None and column not in data.columns:
            raise MLAccelInputError(
                f"{role} column {column!r} is not in the data; columns are {list(data.columns)}"
            )
    rows = data.dropna(subset=[c for c in (label, facet, predicted_label) if c is not None])
    if rows.empty:
        raise MLAccelInputError("no row has the label and the facet; bias needs labelled rows")
    observed = _positive(rows[label].to_numpy(), positive_label_values)
    facet_column = rows[facet].to_numpy()
    groups = _groups(facet_column, facet_values)
    predicted = (
        _positive(rows[predicted_label].to_numpy(), positive_label_values)
        if predicted_label is not None
        else None
    )
    pre: list[dict[str, Any]] = []
    post: list[dict[str, Any]] = []
    for name, members in groups:
        if not members.any() or members.all():
            raise MLAccelInputError(
                f"facet {facet!r} value {name!r} covers {'no' if not members.any() else 'every'} "
                "row; a facet needs rows both in and out of the group"
            )
        labelled = _group_rates(observed, members)
        n_d, n_a = labelled["d"]["count"], labelled["a"]["count"]
        q_d, q_a = labelled["d"]["selection_rate"], labelled["a"]["selection_rate"]
        pre.append(_entry(name, {"CI": (n_a - n_d) / (n_a + n_d), "DPL": q_a - q_d}))
        if predicted is not None:
            scored = _group_rates(predicted, members)
            p_d, p_a = scored["d"]["selection_rate"], scored["a"]["selection_rate"]
            post.append(_entry(name, {"DI": p_d / p_a if p_a else math.nan, "DPPL": p_a - p_d}))
    label_text = _describe_positive(positive_label_values)
    result: dict[str, Any] = {
        "version": "1.0",
        "pre_training_bias_metrics": {
            "label": label,
            "facets": {facet: pre},
            "label_value_or_threshold": label_text,
        },
    }
    if predicted is not None:
        result["post_training_bias_metrics"] = {
            "label": label,
            "facets": {facet: post},
            "label_value_or_threshold": label_text,
        }
    return result


def _positive(values: np.ndarray, positive: Sequence[Any] | float) -> np.ndarray:
    if isinstance(positive, bool):
        raise MLAccelInputError(
            f"positive_label_values={positive!r}: give the positive labels as a list, e.g. [True]"
        )
    if isinstance(positive, int | float):
        try:
            return np.asarray(values, dtype=np.float64) > float(positive)
        except (TypeError, ValueError):
            raise MLAccelInputError(
                "a numeric positive_label_values threshold needs numeric labels"
            ) from None
    wanted = list(positive)
    if not wanted:
        raise MLAccelInputError("positive_label_values must name at least one label value")
    return np.isin(values, wanted)


def _groups(
    facet_column: np.ndarray, facet_values: Iterable[Any] | float | None
) -> list[tuple[str, np.ndarray]]:
    if isinstance(facet_values, bool):
        raise MLAccelInputError(
            f"facet_values={facet_values!r}: give the facet values as a list, e.g. [True]"
        )
    if isinstance(facet_values, int | float):
        try:
            numbers = np.asarray(facet_column, dtype=np.float64)
        except (TypeError, ValueError):
            raise MLAccelInputError("a numeric facet threshold needs a numeric facet") from None
        return [(f"(>{facet_values})", numbers > float(facet_values))]
    values = list(facet_values) if facet_values is not None else sorted(set(facet_column), key=str)
    return [(str(value), facet_column == value) for value in values]


def _group_rates(outcome: np.ndarray, members: np.ndarray) -> dict[str, dict[str, float]]:
    fairness = _fairlearn()
    frame = fairness.MetricFrame(
        metrics={"count": fairness.count, "selection_rate": fairness.selection_rate},
        y_true=outcome.astype(int),
        y_pred=outcome.astype(int),
        sensitive_features=np.where(members, "d", "a"),
    )
    by_group = frame.by_group
    return {
        group: {
            "count": float(by_group.loc[group, "count"]),
            "selection_rate": float(by_group.loc[group, "selection_rate"]),
        }
        for group in ("a", "d")
    }


def _entry(value: str, metrics: dict[str, float]) -> dict[str, Any]:
    return {
        "value_or_threshold": value,
        "metrics": [
            {"name": name, "description": _DESCRIPTIONS[name], "value": number}
            for name, number in metrics.items()
        ],
    }


def _describe_positive(positive: Sequence[Any] | float) -> str:
    if isinstance(positive, int | float):
        return f"(>{positive})"
    return ",".join(str(value) for value in positive)
