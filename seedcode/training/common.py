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


def print_final_metrics(metrics: dict[str, float], prefix: str = "validation") -> None:
    for name, value in metrics.items():
        print(f"final {prefix}:{name}={value:.6g}", flush=True)
