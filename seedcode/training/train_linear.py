"""A linear baseline: ridge regression, or (multinomial) logistic regression, on standardized
features; numpy only.

Same channels and metric lines as ``train_xgboost.py``; the model is saved as JSON
coefficients (``linear-model.json``: coefficients, intercept, mean, scale, link), readable by
any language and never unpickled.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from common import (
    channel_dir,
    check_binary_labels,
    class_count,
    classification_metrics,
    fit_softmax,
    load_xy,
    model_dir,
    multiclass_metrics,
    print_final_metrics,
    regression_metrics,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--problem_type", choices=["regression", "binary", "multiclass"], default="regression"
    )
    p.add_argument("--alpha", type=float, default=1.0, help="L2 penalty")
    p.add_argument("--num_class", type=int, default=0, help="classes (default: from labels)")
    p.add_argument("--target", default="")
    p.add_argument("--train", type=Path, default=None)
    p.add_argument("--validation", type=Path, default=None)
    p.add_argument("--model-dir", type=Path, default=None)
    return p.parse_args(argv)


def standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    intercept = float(y.mean())
    a = x.T @ x + alpha * np.eye(x.shape[1])
    return np.linalg.solve(a, x.T @ (y - intercept)), intercept


def fit_logistic(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Binary logistic regression: the two-class softmax, as one weight per feature."""
    weights, intercepts = fit_softmax(x, y, alpha, 2)
    return weights[:, 1] - weights[:, 0], float(intercepts[1] - intercepts[0])


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    z = ((x - np.array(model["mean"])) / np.array(model["scale"])) @ np.array(
        model["coefficients"]
    ) + np.array(model["intercept"])
    if model["link"] == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return 1 / (1 + np.exp(-z)) if model["link"] == "logistic" else z


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        x, y, names = load_xy(args.train or channel_dir("train"), args.target)
        x_val, y_val, _ = load_xy(args.validation or channel_dir("validation"), args.target)
    except (FileNotFoundError, ValueError) as exc:
        print(f"train_linear: {exc}", file=sys.stderr)
        return 2
    mean, scale = standardize(x)
    classification = args.problem_type != "regression"
    standardized = (x - mean) / scale
    try:
        if args.problem_type == "multiclass":
            n_classes = class_count(args.num_class, y, y_val)
            weights, intercepts = fit_softmax(standardized, y, args.alpha, n_classes)
            coef, intercept = weights, intercepts.tolist()
        elif classification:
            check_binary_labels(y, y_val)
            coef, intercept = fit_logistic(standardized, y, args.alpha)
        else:
            coef, intercept = fit_ridge(standardized, y, args.alpha)
    except ValueError as exc:
        print(f"train_linear: {exc}", file=sys.stderr)
        return 2
    model = {
        "coefficients": coef.tolist(),
        "intercept": intercept,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "feature_names": names,
        "link": {"binary": "logistic", "multiclass": "softmax"}.get(args.problem_type, "identity"),
    }
    pred = predict(model, x_val)
    if args.problem_type == "multiclass":
        metrics = multiclass_metrics(y_val, pred)
    elif classification:
        metrics = classification_metrics(y_val, pred)
    else:
        metrics = regression_metrics(y_val, pred)
    print_final_metrics(metrics)
    out = args.model_dir or model_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "linear-model.json").write_text(json.dumps(model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
