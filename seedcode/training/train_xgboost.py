"""Script-mode XGBoost training (SageMaker XGBoost / SKLearn framework containers, or the twin).

Reads the ``train`` and ``validation`` channels (label-first CSV without header, or Parquet
with a header), trains with the hyperparameters given as ``--name value`` arguments, prints
metrics per round and at the end, and saves the model as ``xgboost-model`` in XGBoost's own
format in ``SM_MODEL_DIR`` (no pickle). A ``multi:`` objective (``multi:softprob`` answers
each class's probability) takes ``--num_class``, by default the largest label + 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import xgboost as xgb
from common import (
    channel_dir,
    check_binary_labels,
    class_count,
    classification_metrics,
    load_xy,
    model_dir,
    multiclass_metrics,
    print_final_metrics,
    regression_metrics,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objective", default="reg:squarederror")
    p.add_argument("--num_round", type=int, default=200)
    p.add_argument("--max_depth", type=int, default=6)
    p.add_argument("--eta", type=float, default=0.1)
    p.add_argument("--subsample", type=float, default=0.9)
    p.add_argument("--colsample_bytree", type=float, default=0.9)
    p.add_argument("--min_child_weight", type=float, default=1.0)
    p.add_argument("--gamma", type=float, default=0.0)
    p.add_argument(
        "--num_class", type=int, default=0, help="classes of a multi: objective (default: labels)"
    )
    p.add_argument("--early_stopping_rounds", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", default="", help="label column for Parquet input")
    p.add_argument("--train", type=Path, default=None)
    p.add_argument("--validation", type=Path, default=None)
    p.add_argument("--model-dir", type=Path, default=None)
    return p.parse_args(argv)


def train(args: argparse.Namespace) -> tuple[xgb.Booster, dict[str, float]]:
    x_train, y_train, _ = load_xy(args.train or channel_dir("train"), args.target)
    x_val, y_val, _ = load_xy(args.validation or channel_dir("validation"), args.target)
    # Unnamed columns: the serving containers score plain CSV rows, as the built-in one does.
    dtrain = xgb.DMatrix(x_train, y_train)
    dval = xgb.DMatrix(x_val, y_val)
    classification = args.objective.startswith("binary:")
    multiclass = args.objective.startswith("multi:")
    num_class = class_count(args.num_class, y_train, y_val) if multiclass else 0
    if classification:
        check_binary_labels(y_train, y_val)
    metrics_for = ["mlogloss", "merror"] if multiclass else None
    params = {
        "objective": args.objective,
        "max_depth": args.max_depth,
        "eta": args.eta,
        "subsample": args.subsample,
        "colsample_bytree": args.colsample_bytree,
        "min_child_weight": args.min_child_weight,
        "gamma": args.gamma,
        "eval_metric": metrics_for or (["logloss", "auc"] if classification else ["mae", "rmse"]),
        "seed": args.seed,
        "nthread": 2,
        **({"num_class": num_class} if multiclass else {}),
    }
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=args.num_round,
        evals=[(dtrain, "train"), (dval, "validation")],
        early_stopping_rounds=args.early_stopping_rounds or None,
        verbose_eval=10,
    )
    pred = booster.predict(dval, iteration_range=(0, booster.best_iteration + 1))
    if multiclass:
        metrics = multiclass_metrics(y_val, pred.reshape(len(y_val), -1))
    elif classification:
        metrics = classification_metrics(y_val, pred)
    else:
        metrics = regression_metrics(y_val, pred)
    return booster, metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        booster, metrics = train(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"train_xgboost: {exc}", file=sys.stderr)
        return 2
    print_final_metrics(metrics)
    out = args.model_dir or model_dir()
    out.mkdir(parents=True, exist_ok=True)
    # XGBoost's own binary format (UBJSON), under the name SageMaker's containers load
    (out / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
