"""Model quality against ground truth, in Model Monitor's model-quality output shape.

Metrics come from scikit-learn. Standard deviations (for at least 200 rows) are taken over
five deterministic 80 % subsets — every row but one fifth, by position — so the numbers do
not change from run to run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mlaccel.errors import MLAccelInputError

log = logging.getLogger(__name__)

REGRESSION = "Regression"
BINARY = "BinaryClassification"
MULTICLASS = "MulticlassClassification"
PROBLEM_TYPES = (REGRESSION, BINARY, MULTICLASS)

_SECTIONS = {
    REGRESSION: "regression_metrics",
    BINARY: "binary_classification_metrics",
    MULTICLASS: "multiclass_classification_metrics",
}
_CONSTRAINT_SECTIONS = {
    REGRESSION: "regression_constraints",
    BINARY: "binary_classification_constraints",
    MULTICLASS: "multiclass_classification_constraints",
}
# Metrics that get worse as they grow; every other suggested constraint is a lower bound.
_LOWER_IS_BETTER = {
    "mae",
    "mse",
    "rmse",
    "false_positive_rate",
    "false_negative_rate",
    "log_loss",
}
_MIN_ROWS_FOR_DEVIATION = 200
_FOLDS = 5
_CURVE_POINTS = 200

# A metric over the rows a boolean mask selects (all rows, or one of the deviation folds).
Rows = Callable[[np.ndarray], float]


def _problem(problem_type: str) -> str:
    for known in PROBLEM_TYPES:
        if isinstance(problem_type, str) and problem_type.lower() == known.lower():
            return known
    raise MLAccelInputError(f"problem_type={problem_type!r} is not one of {list(PROBLEM_TYPES)}")


def model_quality_metrics(
    y_true: Any,
    y_pred: Any = None,
    *,
    problem_type: str,
    y_prob: Any = None,
    probability_threshold: float = 0.5,
    positive_label: Any = 1,
    class_labels: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Model-quality statistics as a Model Monitor model-quality job writes them.

    Parameters
    ----------
    y_true
        Ground truth labels or values.
    y_pred
        Predicted labels or values; for binary classification it may be omitted when
        ``y_prob`` is given (labels are then ``y_prob >= probability_threshold``).
    problem_type
        ``"Regression"``, ``"BinaryClassification"`` or ``"MulticlassClassification"``.
    y_prob
        Binary classification: the predicted probability of ``positive_label`` (for AUC and
        the curves; without it the predicted labels serve as scores). Multiclass: one row
        of class probabilities per record, columns in ``class_labels`` order (adds
        ``log_loss``; without ``y_pred`` the most probable class is the prediction).
    probability_threshold
        Binary classification: turns ``y_prob`` into labels when ``y_pred`` is omitted.
    positive_label
        Binary classification: the label counted as positive.
    class_labels
        Multiclass with ``y_prob``: the class of each probability column (default
        ``0 .. K-1``, the class indexes XGBoost's ``multi:softprob`` answers in).

    Returns
    -------
    dict
        ``{"version": 0.0, "dataset": {"item_count": n}, "<problem>_metrics": {...}}`` with
        each metric as ``{"value": v, "standard_deviation": sd}``; ``"NaN"`` marks a
        standard deviation of fewer than 200 rows, as Model Monitor writes it.

    Raises
    ------
    MLAccelInputError
        On mismatched lengths, no rows with ground truth, or labels outside the classes.

    Examples
    --------
    >>> stats = model_quality_metrics([1.0, 2.0, 3.0], [1.0, 2.5, 2.0], problem_type="Regression")
    >>> round(stats["regression_metrics"]["mae"]["value"], 3)
    0.5
    """
    problem = _problem(problem_type)
    if problem == MULTICLASS and y_prob is not None:
        if np.ndim(y_prob) == 2:
            return _multiclass_with_probabilities(y_true, y_pred, y_prob, class_labels)
        if y_pred is None:
            raise MLAccelInputError(
                "a multiclass y_prob needs one row of class probabilities per record (or pass "
                "y_pred, the predicted classes)"
            )
        log.info("multiclass: y_prob holds one value per record, not per class; no log_loss")
        y_prob = None
    truth = _column(y_true, "y_true")
    if y_pred is None and y_prob is None:
        raise MLAccelInputError("pass y_pred (predicted labels or values), y_prob, or both")
    prob = _column(y_prob, "y_prob") if y_prob is not None else None
    if problem != BINARY and prob is not None and y_pred is None:
        raise MLAccelInputError(f"{problem} needs y_pred; y_prob alone is for binary problems")
    if y_pred is None:
        assert prob is not None
        pred = None
    else:
        pred = _column(y_pred, "y_pred")
    lengths = {len(truth)} | ({len(pred)} if pred is not None else set())
    lengths |= {len(prob)} if prob is not None else set()
    if len(lengths) != 1:
        raise MLAccelInputError(
            f"y_true, y_pred and y_prob must have the same length, got {sorted(lengths)}"
        )
    keep = ~_missing(truth)
    if pred is not None:
        keep &= ~_missing(pred)
    if prob is not None:
        keep &= ~_missing(prob)
    dropped = int((~keep).sum())
    if dropped:
        log.info("model quality: %d rows without ground truth or prediction skipped", dropped)
    truth = truth[keep]
    pred = pred[keep] if pred is not None else None
    prob = prob[keep].astype(np.float64) if prob is not None else None
    if truth.size == 0:
        raise MLAccelInputError(
            "no row has both ground truth and a prediction; model quality needs labelled rows"
        )
    if problem != REGRESSION:
        truth = _whole_labels(truth)
        pred = _whole_labels(pred) if pred is not None else None
    if problem == REGRESSION:
        assert pred is not None
        section = _regression(_numbers(truth, "y_true"), _numbers(pred, "y_pred"))
    elif problem == BINARY:
        if pred is None:
            assert prob is not None
            pred = np.where(
                prob >= probability_threshold, positive_label, _other(truth, positive_label)
            )
        section = _binary(truth, pred, prob, positive_label)
    else:
        assert pred is not None
        section = _multiclass(truth, pred)
    return {"version": 0.0, "dataset": {"item_count": int(truth.size)}, _SECTIONS[problem]: section}


def _column(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise MLAccelInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _missing(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        missing: np.ndarray = ~np.isfinite(array)
        return missing
    if array.dtype.kind == "O":
        return np.asarray(
            [v is None or (isinstance(v, float) and v != v) for v in array], dtype=bool
        )
    return np.zeros(array.shape, dtype=bool)


def _whole_labels(array: np.ndarray) -> np.ndarray:
    # Labels read next to missing values arrive as floats (1.0); count them as the integers.
    if array.dtype.kind == "f" and np.all(array == np.floor(array)):
        return array.astype(np.int64)
    return array


def _numbers(array: np.ndarray, name: str) -> np.ndarray:
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError):
        raise MLAccelInputError(f"{name} must hold numbers for a regression problem") from None


def _other(truth: np.ndarray, positive: Any) -> Any:
    labels = [label for label in np.unique(truth) if label != positive]
    return labels[0] if labels else 0


def _folds(size: int) -> list[np.ndarray]:
    positions = np.arange(size)
    return [positions % _FOLDS != fold for fold in range(_FOLDS)]


def _metric(fn: Rows, size: int) -> dict[str, Any]:
    everything = np.ones(size, dtype=bool)
    value = float(fn(everything))
    if size < _MIN_ROWS_FOR_DEVIATION:
        return {"value": value, "standard_deviation": "NaN"}
    samples = [float(fn(mask)) for mask in _folds(size)]
    deviation = float(np.std(samples))
    return {"value": value, "standard_deviation": deviation if math.isfinite(deviation) else "NaN"}


def _regression(truth: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics

    size = truth.size

    def mse(mask: np.ndarray) -> float:
        return float(metrics.mean_squared_error(truth[mask], pred[mask]))

    def r2(mask: np.ndarray) -> float:
        if mask.sum() < 2:
            return math.nan
        return float(metrics.r2_score(truth[mask], pred[mask]))

    return {
        "mae": _metric(lambda m: metrics.mean_absolute_error(truth[m], pred[m]), size),
        "mse": _metric(mse, size),
        "rmse": _metric(lambda m: math.sqrt(mse(m)), size),
        "r2": _metric(r2, size),
    }


def _binary(
    truth: np.ndarray, pred: np.ndarray, prob: np.ndarray | None, positive: Any
) -> dict[str, Any]:
    _check_binary_labels(truth, pred, positive)
    actual = truth == positive
    predicted = pred == positive
    scores = prob if prob is not None else predicted.astype(np.float64)
    size = truth.size
    section: dict[str, Any] = {"confusion_matrix": _binary_confusion(truth, pred, positive)}
    section.update(_binary_rates(actual, predicted, size))
    if len(np.unique(actual)) == 2:
        section.update(_binary_curves(actual, scores))
    section["auc"] = _metric(_auc(actual, scores), size)
    section.update(_f_scores(actual, predicted, size))
    return section


def _check_binary_labels(truth: np.ndarray, pred: np.ndarray, positive: Any) -> None:
    classes = set(np.unique(truth).tolist()) | set(np.unique(pred).tolist())
    if positive not in classes:
        raise MLAccelInputError(
            f"positive_label={positive!r} is not among the labels {sorted(map(str, classes))}; "
            "pass the positive class as positive_label"
        )
    if len(classes) > 2:
        raise MLAccelInputError(
            f"binary classification got {len(classes)} labels {sorted(map(str, classes))}; use "
            "problem_type='MulticlassClassification' or map the labels to two classes"
        )


def _binary_confusion(truth: np.ndarray, pred: np.ndarray, positive: Any) -> dict[str, Any]:
    from sklearn import metrics

    negative = _other(truth, positive) if len(np.unique(truth)) > 1 else _other(pred, positive)
    order = [negative, positive]
    matrix = metrics.confusion_matrix(truth, pred, labels=order)
    return {
        str(a): {str(p): int(matrix[i, j]) for j, p in enumerate(order)}
        for i, a in enumerate(order)
    }


def _count(flags: np.ndarray) -> Rows:
    """How many of the rows selected by a mask have ``flags`` set."""
    return lambda mask: float(np.count_nonzero(flags[mask]))


def _share(flags: np.ndarray) -> Rows:
    """The share of the rows selected by a mask that have ``flags`` set."""
    return lambda mask: float(np.mean(flags[mask]))


def _rate(numerator: Rows, denominator: Rows) -> Rows:
    """``numerator / denominator`` of the selected rows; 0 when the denominator is 0."""

    def rate(mask: np.ndarray) -> float:
        bottom = denominator(mask)
        return numerator(mask) / bottom if bottom else 0.0

    return rate


def _binary_rates(actual: np.ndarray, predicted: np.ndarray, size: int) -> dict[str, Any]:
    positives, negatives = _count(actual), _count(~actual)
    tp, tn = _count(actual & predicted), _count(~actual & ~predicted)
    fp, fn = _count(~actual & predicted), _count(actual & ~predicted)
    return {
        "recall": _metric(_rate(tp, positives), size),
        "precision": _metric(_rate(tp, _count(predicted)), size),
        "accuracy": _metric(_share(actual == predicted), size),
        # The best constant classifier of Model Monitor's reports always predicts positive.
        "recall_best_constant_classifier": _metric(_rate(positives, positives), size),
        "precision_best_constant_classifier": _metric(_share(actual), size),
        "accuracy_best_constant_classifier": _metric(_share(actual), size),
        "true_positive_rate": _metric(_rate(tp, positives), size),
        "true_negative_rate": _metric(_rate(tn, negatives), size),
        "false_positive_rate": _metric(_rate(fp, negatives), size),
        "false_negative_rate": _metric(_rate(fn, positives), size),
    }


def _binary_curves(actual: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics

    fpr, tpr, _ = metrics.roc_curve(actual, scores)
    precisions, recalls, _ = metrics.precision_recall_curve(actual, scores)
    return {
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": _thin(fpr),
            "true_positive_rates": _thin(tpr),
        },
        "precision_recall_curve": {
            "precisions": _thin(precisions[::-1]),
            "recalls": _thin(recalls[::-1]),
        },
    }


def _auc(actual: np.ndarray, scores: np.ndarray) -> Rows:
    from sklearn import metrics

    def auc(mask: np.ndarray) -> float:
        if len(np.unique(actual[mask])) < 2:
            return math.nan
        return float(metrics.roc_auc_score(actual[mask], scores[mask]))

    return auc


def _f_scores(actual: np.ndarray, predicted: np.ndarray, size: int) -> dict[str, Any]:
    from sklearn import metrics

    def fbeta(beta: float, guess: np.ndarray) -> Rows:
        return lambda m: float(
            metrics.fbeta_score(actual[m], guess[m], beta=beta, zero_division=0.0)
        )

    always = np.ones(size, dtype=bool)
    betas = ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2"))
    scores = {key: _metric(fbeta(beta, predicted), size) for beta, key in betas}
    for beta, key in betas:
        scores[f"{key}_best_constant_classifier"] = _metric(fbeta(beta, always), size)
    return scores


def _thin(values: np.ndarray) -> list[float]:
    if values.size <= _CURVE_POINTS:
        return [float(v) for v in values]
    picks = np.unique(np.linspace(0, values.size - 1, _CURVE_POINTS).round().astype(int))
    return [float(v) for v in values[picks]]


def _multiclass_with_probabilities(
    y_true: Any, y_pred: Any, y_prob: Any, class_labels: Sequence[Any] | None
) -> dict[str, Any]:
    truth = _whole_labels(_column(y_true, "y_true"))
    prob = np.asarray(y_prob, dtype=np.float64)
    if prob.ndim != 2 or prob.shape[0] != truth.size:
        raise MLAccelInputError(
            f"y_prob of a multiclass problem must hold one row of class probabilities per "
            f"record ({truth.size} rows), got shape {prob.shape}"
        )
    labels = np.asarray(list(class_labels) if class_labels is not None else range(prob.shape[1]))
    if labels.size != prob.shape[1]:
        raise MLAccelInputError(
            f"class_labels names {labels.size} classes but y_prob has {prob.shape[1]} "
            "probability columns; pass one label per column"
        )
    pred = (
        labels[np.argmax(np.nan_to_num(prob, nan=-1.0), axis=1)]
        if y_pred is None
        else _whole_labels(_column(y_pred, "y_pred"))
    )
    if pred.size != truth.size:
        raise MLAccelInputError(
            f"y_true and y_pred must have the same length, got {truth.size} and {pred.size}"
        )
    keep = ~_missing(truth) & ~_missing(pred) & np.isfinite(prob).all(axis=1)
    truth, pred, prob = truth[keep], pred[keep], prob[keep]
    if truth.size == 0:
        raise MLAccelInputError(
            "no row has both ground truth and a prediction; model quality needs labelled rows"
        )
    column = {label: index for index, label in enumerate(labels.tolist())}
    unknown = sorted({str(label) for label in truth.tolist() if label not in column})
    if unknown:
        raise MLAccelInputError(
            f"y_true holds classes {unknown} that have no probability column; class_labels "
            f"are {labels.tolist()}"
        )
    true_column = np.asarray([column[label] for label in truth.tolist()], dtype=np.intp)
    chosen = prob[np.arange(truth.size), true_column]
    section = _multiclass(truth, pred)
    section["log_loss"] = _metric(_log_loss(chosen), truth.size)
    return {
        "version": 0.0,
        "dataset": {"item_count": int(truth.size)},
        _SECTIONS[MULTICLASS]: section,
    }


def _log_loss(chosen: np.ndarray) -> Rows:
    # Probabilities of the true class, clipped so a confident miss costs a finite amount.
    losses = -np.log(np.clip(chosen, 1e-15, 1.0))
    return lambda m: float(losses[m].mean())


def _multiclass(truth: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics

    labels = sorted(set(np.unique(truth).tolist()) | set(np.unique(pred).tolist()), key=str)
    size = truth.size
    values, counts = np.unique(truth, return_counts=True)
    majority = values[int(np.argmax(counts))]
    constant = np.full(size, majority, dtype=truth.dtype)
    matrix = metrics.confusion_matrix(truth, pred, labels=labels)
    section: dict[str, Any] = {
        "confusion_matrix": {
            str(a): {str(p): int(matrix[i, j]) for j, p in enumerate(labels)}
            for i, a in enumerate(labels)
        }
    }

    def weighted(kind: str, guess: np.ndarray, beta: float = 1.0) -> Rows:
        def fn(m: np.ndarray) -> float:
            if kind == "recall":
                return float(
                    metrics.recall_score(truth[m], guess[m], average="weighted", zero_division=0.0)
                )
            if kind == "precision":
                return float(
                    metrics.precision_score(
                        truth[m], guess[m], average="weighted", zero_division=0.0
                    )
                )
            return float(
                metrics.fbeta_score(
                    truth[m], guess[m], beta=beta, average="weighted", zero_division=0.0
                )
            )

        return fn

    for suffix, guess in (("", pred), ("_best_constant_classifier", constant)):
        section[f"accuracy{suffix}"] = _metric(_accuracy(truth, guess), size)
        section[f"weighted_recall{suffix}"] = _metric(weighted("recall", guess), size)
        section[f"weighted_precision{suffix}"] = _metric(weighted("precision", guess), size)
        for beta, key in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
            section[f"weighted_{key}{suffix}"] = _metric(weighted("f", guess, beta), size)
        section[f"macro_f1{suffix}"] = _metric(_macro_f1(truth, guess), size)
    return section


def _macro_f1(truth: np.ndarray, guess: np.ndarray) -> Rows:
    from sklearn import metrics

    return lambda m: float(metrics.f1_score(truth[m], guess[m], average="macro", zero_division=0.0))


def _accuracy(truth: np.ndarray, guess: np.ndarray) -> Rows:
    return lambda m: float(np.mean(truth[m] == guess[m]))


def suggest_model_quality_constraints(
    statistics: Mapping[str, Any], *, tolerance: float = 2.0
) -> dict[str, Any]:
    """Constraints a model-quality monitoring job checks, suggested from baseline metrics.

    Every metric (not the curves, confusion matrix or best-constant baselines) gets a
    threshold ``tolerance`` standard deviations on the worse side of its baseline value
    (the value itself when no deviation is known): ``GreaterThanThreshold`` for errors and
    false rates, ``LessThanThreshold`` for the rest.

    Parameters
    ----------
    statistics
        From :func:`model_quality_metrics`.
    tolerance
        Standard deviations of slack.

    Returns
    -------
    dict
        ``{"version": 0.0, "<problem>_constraints": {metric: {"threshold",
        "comparison_operator"}}}``.

    Examples
    --------
    >>> stats = model_quality_metrics(
    ...     [0, 1, 1, 0], [0, 1, 0, 0], problem_type="BinaryClassification"
    ... )
    >>> suggest_model_quality_constraints(stats)["binary_classification_constraints"]["recall"]
    {'threshold': 0.5, 'comparison_operator': 'LessThanThreshold'}
    """
    problem, metrics_section = _section(statistics)
    constraints: dict[str, Any] = {}
    for name, metric in metrics_section.items():
        if not isinstance(metric, Mapping) or "value" not in metric:
            continue
        if name.endswith("_best_constant_classifier"):
            continue
        value = metric["value"]
        if not isinstance(value, int | float) or not math.isfinite(value):
            continue
        deviation = metric.get("standard_deviation")
        slack = tolerance * deviation if isinstance(deviation, int | float) else 0.0
        slack = slack if math.isfinite(slack) else 0.0
        if name in _LOWER_IS_BETTER:
            constraints[name] = {
                "threshold": value + slack,
                "comparison_operator": "GreaterThanThreshold",
            }
        else:
            constraints[name] = {
                "threshold": value - slack,
                "comparison_operator": "LessThanThreshold",
            }
    return {"version": 0.0, _CONSTRAINT_SECTIONS[problem]: constraints}


def check_model_quality(
    statistics: Mapping[str, Any], constraints: Mapping[str, Any]
) -> dict[str, Any]:
    """Compare model-quality metrics with constraints: constraint_violations.json's body.

    Parameters
    ----------
    statistics
        Current metrics, from :func:`model_quality_metrics`.
    constraints
        From :func:`suggest_model_quality_constraints` or a Model Monitor baselining job.

    Returns
    -------
    dict
        ``{"violations": [{"constraint_check_type", "description", "metric_name"}]}``.

    Examples
    --------
    >>> stats = model_quality_metrics([1.0, 2.0], [1.0, 4.0], problem_type="Regression")
    >>> limits = {"regression_constraints": {"mae": {"threshold": 0.5,
    ...           "comparison_operator": "GreaterThanThreshold"}}}
    >>> check_model_quality(stats, limits)["violations"][0]["metric_name"]
    'mae'
    """
    problem, metrics_section = _section(statistics)
    key = _CONSTRAINT_SECTIONS[problem]
    if not isinstance(constraints, Mapping) or not isinstance(constraints.get(key), Mapping):
        raise MLAccelInputError(
            f"the model-quality constraints have no {key!r} object; they must come from a "
            f"{problem} baseline"
        )
    violations = []
    for name, rule in constraints[key].items():
        if not isinstance(rule, Mapping) or "threshold" not in rule:
            raise MLAccelInputError(f"constraint {name!r} needs a 'threshold'")
        operator = rule.get("comparison_operator", "LessThanThreshold")
        metric = metrics_section.get(name)
        if not isinstance(metric, Mapping) or not isinstance(metric.get("value"), int | float):
            log.warning("model quality: metric %r of the constraints was not computed", name)
            continue
        value = float(metric["value"])
        threshold = float(rule["threshold"])
        broken = {
            "LessThanThreshold": value < threshold,
            "GreaterThanThreshold": value > threshold,
            "LessThanOrEqualToThreshold": value <= threshold,
            "GreaterThanOrEqualToThreshold": value >= threshold,
        }.get(operator)
        if broken is None:
            raise MLAccelInputError(
                f"constraint {name!r} has unknown comparison_operator {operator!r}"
            )
        if broken:
            deviation = metric.get("standard_deviation")
            spread = f" +/- {deviation}" if isinstance(deviation, int | float) else ""
            violations.append(
                {
                    "constraint_check_type": operator,
                    "description": f"Metric {name} with {value}{spread} was {operator} {threshold}",
                    "metric_name": name,
                }
            )
    return {"violations": violations}


def _section(statistics: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(statistics, Mapping):
        for problem, key in _SECTIONS.items():
            section = statistics.get(key)
            if isinstance(section, Mapping):
                return problem, section
    raise MLAccelInputError(
        "the model-quality statistics have no regression_metrics, "
        "binary_classification_metrics or multiclass_classification_metrics object"
    )
