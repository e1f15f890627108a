"""What a product's training optimizes: its objective and metric, default hyperparameters,
seeds, labels and quality metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel import products
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd


XGBOOST_VERSION = "1.7-1"


SKLEARN_VERSION = "1.2-1"


MAX_SEED = 2**31 - 1  # the largest RandomSeed a tuning job accepts


@dataclass(frozen=True)
class Objective:
    """What "better" means for a data product.

    Examples
    --------
    >>> objective_for(products.DataProduct("p", "y", "regression", "id", ("x",))).better(8, 9)
    True
    """

    metric: str  # SageMaker metric name, e.g. "validation:rmse"
    direction: str  # "Minimize" | "Maximize"
    xgboost_objective: str
    test_metric: str  # key in evaluation.json, e.g. "rmse"
    eval_metric: str  # XGBoost's name of the validation metric, e.g. "rmse"

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` beats score ``b``."""
        return a < b if self.direction == "Minimize" else a > b


def objective_for(product: products.DataProduct) -> Objective:
    """RMSE for regression, AUC for binary classification, log loss for multiclass.

    Examples
    --------
    >>> product = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("0", "1"))
    >>> objective_for(product).metric, objective_for(product).direction
    ('validation:auc', 'Maximize')
    """
    if product.problem_type == "regression":
        return Objective("validation:rmse", "Minimize", "reg:squarederror", "rmse", "rmse")
    if product.problem_type == "binary":
        return Objective("validation:auc", "Maximize", "binary:logistic", "auc", "auc")
    return Objective("validation:mlogloss", "Minimize", "multi:softprob", "log_loss", "mlogloss")


def check_seed(seed: Any) -> int:
    """``seed`` if it is a whole number of 0 or more (what XGBoost and the tuner accept).

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: seed=-1 must be a whole number from 0 to 2147483647
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise MLAccelInputError(f"seed={seed!r} must be a whole number from 0 to {MAX_SEED}")
    return seed


def default_hyperparameters(product: products.DataProduct) -> dict[str, Any]:
    """The built-in XGBoost's hyperparameters for ``product``: its objective and metric (and
    the number of classes of a multiclass product).

    Examples
    --------
    >>> wine = products.DataProduct(
    ...     "wine", "kind", "multiclass", "id", ("alcohol",), classes=("a", "b", "c")
    ... )
    >>> params = default_hyperparameters(wine)
    >>> params["objective"], params["eval_metric"], params["num_class"]
    ('multi:softprob', 'mlogloss', 3)
    """
    objective = objective_for(product)
    extra = {"num_class": len(product.classes)} if product.problem_type == "multiclass" else {}
    return {
        "objective": objective.xgboost_objective,
        "num_round": 200,
        "max_depth": 5,
        "eta": 0.1,
        "subsample": 0.9,
        "min_child_weight": 2,
        "early_stopping_rounds": 20,
        "eval_metric": objective.eval_metric,
        **extra,
    }


def check_hyperparameters(hyperparameters: Any) -> dict[str, Any]:
    """``hyperparameters`` as a dict keyed by name (an empty one for None).

    Examples
    --------
    >>> check_hyperparameters({"num_round": 50}), check_hyperparameters(None)
    ({'num_round': 50}, {})
    """
    if hyperparameters is None:
        return {}
    if not isinstance(hyperparameters, Mapping) or not all(
        isinstance(k, str) for k in hyperparameters
    ):
        raise MLAccelInputError(
            f"hyperparameters={hyperparameters!r} must be a dict of name to value, "
            "such as {'num_round': 50}"
        )
    return dict(hyperparameters)


def objective_score(product: products.DataProduct, labels: Any, predictions: Any) -> float:
    """The product's test metric (:attr:`Objective.test_metric`) of ``predictions`` against
    encoded labels (:func:`encode_labels`): RMSE, AUC of the positive class's probability, or
    the log loss of the class probabilities.

    Examples
    --------
    >>> p = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("no", "yes"))
    >>> objective_score(p, [0, 1, 1], [0.2, 0.9, 0.6])
    1.0
    """
    import numpy as np
    import pandas as pd

    y = np.asarray(labels, dtype="float64")
    answers = np.asarray(predictions, dtype="float64")
    if product.problem_type == "regression":
        return float(np.sqrt(np.mean((answers - y) ** 2)))
    if product.problem_type == "binary":
        ranks = pd.Series(answers).rank().to_numpy()
        positive = y == 1
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if not n_pos or not n_neg:
            raise MLAccelInputError("AUC needs labels of both classes among the rows scored")
        return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    if answers.ndim != 2 or answers.shape[1] != len(product.classes):
        raise MLAccelInputError(
            f"a multiclass model answers {len(product.classes)} probabilities per record; "
            f"got an array of shape {answers.shape}"
        )
    picked = answers[np.arange(len(y)), y.astype(int)]
    return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))


def quality_metrics(product: products.DataProduct, labels: Any, answers: Any) -> dict[str, Any]:
    """Model Monitor's model-quality statistics of a model's ``answers`` against encoded labels
    (:func:`encode_labels`). ``answers`` is what the endpoint answers: one value per record (a
    number, or the positive class's probability), or one probability per class (multiclass),
    whose most probable class is the prediction, as the pipeline's baseline judges it."""
    import numpy as np

    from mlaccel import monitor

    problem = product.monitor_problem_type
    answers = np.asarray(answers, dtype=float).reshape(len(labels), -1)
    if product.problem_type == "multiclass":
        return monitor.model_quality_metrics(
            labels, answers.argmax(axis=1), problem_type=problem, y_prob=answers
        )
    if product.problem_type == "binary":
        return monitor.model_quality_metrics(labels, problem_type=problem, y_prob=answers[:, 0])
    return monitor.model_quality_metrics(labels, answers[:, 0], problem_type=problem)


def encode_labels(values: pd.Series, product: products.DataProduct) -> pd.Series:
    """Target values as a model learns them: numbers (regression), 1 for the positive class
    (binary), the class's index (multiclass). Values outside the classes are refused.

    Examples
    --------
    >>> import pandas as pd
    >>> p = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("no", "yes"))
    >>> encode_labels(pd.Series(["yes", "no"]), p).tolist()
    [1.0, 0.0]
    """
    if product.problem_type == "regression":
        return values.astype("float64")
    texts = values.map(products.label_text)
    unknown = sorted(set(texts) - set(product.classes))
    if unknown:
        raise MLAccelInputError(
            f"{product.target} has values {unknown[:5]} outside the classes "
            f"{list(product.classes)} of {product.name!r}: register the product again"
        )
    index = {label: float(i) for i, label in enumerate(product.classes)}
    return texts.map(index).astype("float64")
