"""What the training scripts share: container paths, data loading and metric lines.

Metric lines look like the built-in algorithm's (``[3]#011validation-rmse:0.51`` in CloudWatch,
a tab locally), plus one final ``final validation:rmse=0.51`` line, so SageMaker metric
definitions (and the twin) read them with one regex.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

METRIC_REGEX = {
    "validation:rmse": r"final validation:rmse=([-+0-9.eE]+)",
    "validation:mae": r"final validation:mae=([-+0-9.eE]+)",
    "validation:auc": r"final validation:auc=([-+0-9.eE]+)",
    "validation:logloss": r"final validation:logloss=([-+0-9.eE]+)",
    "validation:mlogloss": r"final validation:mlogloss=([-+0-9.eE]+)",
    "validation:accuracy": r"final validation:accuracy=([-+0-9.eE]+)",
    "validation:macro_f1": r"final validation:macro_f1=([-+0-9.eE]+)",
}


def metric_definitions() -> list[dict[str, str]]:
    """SageMaker metric definitions matching the lines these scripts print."""
    return [{"Name": name, "Regex": regex} for name, regex in METRIC_REGEX.items()]


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def channel_dir(name: str) -> Path:
    env = os.environ.get(f"SM_CHANNEL_{name.upper()}")
    return Path(env) if env else base_dir() / "input" / "data" / name


def model_dir() -> Path:
    env = os.environ.get("SM_MODEL_DIR")
    return Path(env) if env else base_dir() / "model"


def load_xy(folder: Path, target: str = "") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features and label from label-first CSV files or Parquet files with a header."""
    parquet = sorted(folder.rglob("*.parquet"))
    if parquet:
        df = pd.concat([pd.read_parquet(p) for p in parquet], ignore_index=True)
        label = target or str(df.columns[1])  # the layout preprocess.py writes: id, label, ...
        features = [c for c in df.columns if c != label and pd.api.types.is_numeric_dtype(df[c])]
        return df[features].to_numpy("float64"), df[label].to_numpy("float64"), features
    csv = sorted(p for p in folder.rglob("*.csv"))
    if not csv:
        raise FileNotFoundError(f"no CSV or Parquet files in {folder}")
    data = np.vstack([np.loadtxt(p, delimiter=",", ndmin=2) for p in csv])
    names = [f"f{i}" for i in range(data.shape[1] - 1)]
    return data[:, 1:], data[:, 0], names


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    err = pred - y
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - float((err**2).sum()) / ss_tot,
    }


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged)."""
    ranks = pd.Series(score).rank().to_numpy()
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    n_classes: int,
    iterations: int = 500,
    tolerance: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, L2 penalty ``alpha`` on the summed log loss (as
    ``C = 1/alpha``), by accelerated gradient descent on standardized features until the
    gradient's largest component is below ``tolerance``: weights (features x classes) and
    intercepts (classes)."""
    n, d = x.shape
    onehot = np.eye(n_classes)[y.astype(int)]
    design = np.hstack([x, np.ones((n, 1))])
    # The log loss's curvature is at most half the design's largest eigenvalue: a safe step.
    lipschitz = 0.5 * float(np.linalg.eigvalsh(design.T @ design / n).max()) + alpha / n
    step = 1.0 / lipschitz
    penalty = np.ones((d + 1, 1))
    penalty[-1] = 0.0  # the intercept is not shrunk
    weights = np.zeros((d + 1, n_classes))
    previous = weights.copy()
    for t in range(1, iterations + 1):
        look = weights + (t - 1) / (t + 2) * (weights - previous)
        gradient = design.T @ (softmax(design @ look) - onehot) / n + alpha / n * penalty * look
        previous, weights = weights, look - step * gradient
        if np.abs(gradient).max() < tolerance:
            break
    return weights[:-1], weights[-1]


def classification_metrics(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    p = np.clip(prob, 1e-12, 1 - 1e-12)
    return {
        "auc": auc(y, prob),
        "logloss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "accuracy": float(np.mean((prob >= 0.5) == (y == 1))),
    }


def multiclass_metrics(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1 and log loss of class probabilities ``prob`` (one column per class)."""
    labels = y.astype(int)
    predicted = prob.argmax(axis=1)
    f1s = []
    for k in range(prob.shape[1]):
        tp = float(((predicted == k) & (labels == k)).sum())
        fp = float(((predicted == k) & (labels != k)).sum())
        fn = float(((predicted != k) & (labels == k)).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    picked = np.clip(prob[np.arange(len(labels)), labels], 1e-12, 1.0)
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "macro_f1": float(np.mean(f1s)),
        "mlogloss": float(-np.mean(np.log(picked))),
    }


def class_count(given: int, *labels: np.ndarray) -> int:
    """The number of classes of a multiclass model: ``given`` (``--num_class``), else the
    largest label + 1; labels must be class indexes below it."""
    values = np.concatenate([np.asarray(y, dtype="float64") for y in labels])
    if values.size == 0:
        raise ValueError("there are no labels to count the classes of")
    odd = values[(values != np.round(values)) | (values < 0)]
    if odd.size:
        raise ValueError(
            "multiclass labels must be class indexes 0..K-1 (as preprocess.py writes them); "
            f"found {sorted(set(odd.tolist()))[:5]}"
        )
    count = given or int(values.max()) + 1
    if count < 2:
        raise ValueError(f"a multiclass model needs at least 2 classes; num_class is {count}")
    if values.max() >= count:
        raise ValueError(
            f"label {int(values.max())} is not below num_class={count}: pass the number of "
            "classes of the data product in --num_class"
        )
    return count


def check_binary_labels(*labels: np.ndarray) -> None:
    """Binary labels must be 0 or 1 (preprocess.py writes 1.0 for the positive class)."""
    values = np.unique(np.concatenate([np.asarray(y, dtype="float64") for y in labels]))
    other = [v for v in values.tolist() if v not in (0.0, 1.0)]
    if other:
        raise ValueError(
            f"binary labels must be 0 or 1; found {other[:5]}: encode the positive class as 1 "
            "(preprocess.py --problem-type binary does)"
        )


def print_final_metrics(metrics: dict[str, float], prefix: str = "validation") -> None:
    for name, value in metrics.items():
        print(f"final {prefix}:{name}={value:.6g}", flush=True)
