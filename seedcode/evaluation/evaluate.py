"""Model evaluation as a SageMaker Processing job: test-split metrics in ``evaluation.json``.

Loads the model (``model.tar.gz`` or a folder holding ``xgboost-model`` or
``linear-model.json``) and the test split (label-first CSV or Parquet), and writes
``evaluation.json`` in the shape SageMaker Pipelines property files and the model registry's
``ModelMetrics`` read::

    {"regression_metrics": {"rmse": {"value": 812.3, "standard_deviation": 0.0}, ...}}
    {"binary_classification_metrics": {"auc": {"value": 0.82, ...}, ...}}
    {"multiclass_classification_metrics": {"accuracy": {"value": 0.93, ...},
                                           "macro_f1": ..., "weighted_f1": ..., "log_loss": ...}}

Labels are those ``preprocess.py`` writes: 1/0 for a binary target, the class index for a
multiclass one. numpy only, so the script runs in any Python container.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    base = base_dir() / "processing"
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=base / "model")
    p.add_argument("--test", type=Path, default=base / "test")
    p.add_argument("--output-dir", type=Path, default=base / "evaluation")
    p.add_argument(
        "--problem-type", choices=["regression", "binary", "multiclass"], default="regression"
    )
    p.add_argument(
        "--num-classes",
        type=int,
        default=0,
        help="classes of a multiclass model (default: the model's)",
    )
    p.add_argument("--threshold", type=float, default=0.5, help="classification cut-off")
    return p.parse_args(argv)


def unpack_model(path: Path, into: Path) -> Path:
    """The folder holding the model files (extracting ``model.tar.gz`` safely when given)."""
    archives = [path] if path.is_file() else sorted(path.glob("*.tar.gz"))
    if not archives:
        return path
    with tarfile.open(archives[0]) as tar:
        tar.extractall(into, filter="data")  # refuses absolute paths and links out
    return into


def load_predict(folder: Path):
    xgb_file = folder / "xgboost-model"
    if xgb_file.exists():
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(xgb_file.read_bytes()))
        return lambda x: booster.predict(xgb.DMatrix(x))
    linear = folder / "linear-model.json"
    if linear.exists():
        model = json.loads(linear.read_text())

        def predict(x: np.ndarray) -> np.ndarray:
            z = (x - np.array(model["mean"])) / np.array(model["scale"])
            z = z @ np.array(model["coefficients"]) + np.array(model["intercept"])
            if model["link"] == "softmax":
                e = np.exp(z - z.max(axis=1, keepdims=True))
                return e / e.sum(axis=1, keepdims=True)
            return 1 / (1 + np.exp(-z)) if model["link"] == "logistic" else z

        return predict
    raise FileNotFoundError(f"no xgboost-model or linear-model.json in the model at {folder}")


def load_test(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    parquet = sorted(folder.rglob("*.parquet"))
    if parquet:
        df = pd.concat([pd.read_parquet(p) for p in parquet], ignore_index=True)
        label = str(df.columns[1])
        features = [c for c in df.columns if c != label and pd.api.types.is_numeric_dtype(df[c])]
        return df[features].to_numpy("float64"), df[label].to_numpy("float64")
    csv = sorted(folder.rglob("*.csv"))
    if not csv:
        raise FileNotFoundError(f"no test CSV or Parquet files in {folder}")
    data = np.vstack([np.loadtxt(p, delimiter=",", ndmin=2) for p in csv])
    return data[:, 1:], data[:, 0]


def regression_report(y: np.ndarray, pred: np.ndarray) -> dict:
    err = pred - y
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    values = {
        "mae": float(np.mean(np.abs(err))),
        "mse": float(np.mean(err**2)),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - float((err**2).sum()) / ss_tot,
    }
    spread = {"mae": float(np.std(np.abs(err))), "mse": float(np.std(err**2))}
    return {
        "regression_metrics": {
            k: {"value": v, "standard_deviation": spread.get(k, 0.0)} for k, v in values.items()
        }
    }


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged); NaN with a single class."""
    ranks = pd.Series(score).rank().to_numpy()
    positive = y == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def confusion(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def f1_per_class(matrix: np.ndarray) -> np.ndarray:
    """F1 of each class from a confusion matrix (0 for a class never true nor predicted)."""
    tp = np.diag(matrix).astype(float)
    wrong = matrix.sum(axis=0) + matrix.sum(axis=1) - 2 * tp  # false positives + negatives
    denominator = 2 * tp + wrong
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def classification_report(y: np.ndarray, prob: np.ndarray, threshold: float) -> dict:
    prob = prob.reshape(-1)
    odd = sorted(set(y.tolist()) - {0.0, 1.0})
    if odd:
        raise ValueError(f"binary test labels must be 0 or 1; found {odd[:5]}")
    labels = y.astype(int)
    predicted = (prob >= threshold).astype(int)
    matrix = confusion(labels, predicted, 2)
    (tn, fp), (fn, tp) = matrix.tolist()
    p = np.clip(prob, 1e-12, 1 - 1e-12)
    values = {
        "auc": auc(y, prob),
        "accuracy": float(np.mean(predicted == labels)),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": float(f1_per_class(matrix)[1]),
        "logloss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
    }
    report: dict = {k: {"value": float(v), "standard_deviation": 0.0} for k, v in values.items()}
    report["confusion_matrix"] = {
        "0": {"0": int(tn), "1": int(fp)},
        "1": {"0": int(fn), "1": int(tp)},
    }
    return {"binary_classification_metrics": report}


def multiclass_report(y: np.ndarray, prob: np.ndarray, n_classes: int) -> dict:
    """Accuracy, macro and weighted F1 and log loss of class probabilities (one column per
    class), with the confusion matrix, in the model registry's multiclass shape."""
    prob = prob.reshape(len(y), -1)
    n_classes = n_classes or prob.shape[1]
    if prob.shape[1] != n_classes:
        raise ValueError(
            f"the model answers {prob.shape[1]} probabilities per record; --num-classes="
            f"{n_classes} (train with objective multi:softprob and num_class={n_classes})"
        )
    odd = sorted({v for v in y.tolist() if v != int(v) or not 0 <= v < n_classes})
    if odd:
        raise ValueError(f"test labels must be class indexes 0..{n_classes - 1}; found {odd[:5]}")
    labels = y.astype(int)
    predicted = prob.argmax(axis=1)
    matrix = confusion(labels, predicted, n_classes)
    f1 = f1_per_class(matrix)
    support = matrix.sum(axis=1)
    picked = np.clip(prob[np.arange(len(labels)), labels] / prob.sum(axis=1), 1e-15, 1.0)
    values = {
        "accuracy": float(np.mean(predicted == labels)),
        "macro_f1": float(f1.mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "log_loss": float(-np.mean(np.log(picked))),
    }
    report: dict = {k: {"value": v, "standard_deviation": 0.0} for k, v in values.items()}
    classes = range(n_classes)
    report["confusion_matrix"] = {
        str(i): {str(j): int(matrix[i, j]) for j in classes} for i in classes
    }
    return {"multiclass_classification_metrics": report}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            predict = load_predict(unpack_model(args.model, Path(tmp)))
            x, y = load_test(args.test)
            pred = predict(x)
    except (FileNotFoundError, ValueError, tarfile.TarError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    try:
        if args.problem_type != "multiclass" and np.size(pred) != len(y):
            raise ValueError(
                f"the model answers {np.size(pred) // max(len(y), 1)} values per record; a "
                f"{args.problem_type} model answers one (use --problem-type multiclass for a "
                "multi: objective)"
            )
        if args.problem_type == "regression":
            report = regression_report(y, pred)
        elif args.problem_type == "multiclass":
            report = multiclass_report(y, pred, args.num_classes)
        else:
            report = classification_report(y, pred, args.threshold)
    except ValueError as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(json.dumps(report, indent=1))
    print(f"evaluation: {json.dumps(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
