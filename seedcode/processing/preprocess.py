"""Feature engineering as a SageMaker Processing job (runs on AWS and on the local twin).

Modes
-----
``--mode fit`` (default) reads the raw table, fits the preprocessing, splits rows into train /
validation / test and writes, under the output folder::

    train/train.csv, validation/validation.csv, test/test.csv
        label first, no header: the built-in XGBoost algorithm's CSV format
    parquet/train.parquet, parquet/validation.parquet, parquet/test.parquet
        record id, label and features with a header: for script-mode training and for joins
    preprocessor/preprocessor.json
        the fitted transform, so scoring applies exactly the same one
    baseline/baseline.csv
        the training features with a header and without label or id, as endpoints receive
        them: the data-quality baseline that captured requests are checked against

``--mode transform`` applies a saved ``preprocessor.json`` to a new batch and writes
``scoring/<name>.csv``: record id first, then the features, no header and no label, so a batch
transform with input filter ``$[1:]`` and ``JoinSource=Input`` keys every score by its id.

An input without rows (empty files, a header alone, blank lines) fails the job in either mode,
with a message naming the input (``--input-uri``, its S3 location, when given). The message is
printed and written to ``/opt/ml/output/message`` (the processing job's ``ExitMessage``) and
``/opt/ml/output/failure``, so the job, and a workflow that catches its failure, say why.

Paths default to the SageMaker container layout under ``SAGEMAKER_BASE_DIR`` (``/opt/ml``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

UNKNOWN = "__unknown__"
MISSING = "__missing__"
MAX_CATEGORIES = 40


class InputProblem(ValueError):
    """The data or the arguments cannot be used; the message says how to fix it."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    base = base_dir() / "processing"
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["fit", "transform"], default="fit")
    p.add_argument("--input-dir", type=Path, default=base / "input" / "data")
    p.add_argument(
        "--input-uri",
        default="",
        help="where the input was read from (its S3 URI), to name it in error messages",
    )
    p.add_argument("--output-dir", type=Path, default=base / "output")
    p.add_argument("--preprocessor", type=Path, default=base / "input" / "preprocessor")
    p.add_argument("--target", default="")
    p.add_argument("--id-column", default="record_id")
    p.add_argument(
        "--problem-type", choices=["regression", "binary_classification"], default="regression"
    )
    p.add_argument("--numeric-columns", default="", help="comma-separated; default: inferred")
    p.add_argument("--categorical-columns", default="", help="comma-separated; default: inferred")
    p.add_argument(
        "--reference-year",
        type=int,
        default=0,
        help="adds vehicle_age = reference year - year when a 'year' column exists",
    )
    p.add_argument("--train-ratio", type=float, default=0.7)
    p.add_argument("--validation-ratio", type=float, default=0.15)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def read_table(folder: Path) -> pd.DataFrame:
    """Every Parquet (or else CSV) file under ``folder``, partition folders included."""
    parquet = sorted(p for p in folder.rglob("*.parquet") if p.is_file())
    if not parquet:
        parquet = sorted(p for p in folder.rglob("*") if p.is_file() and "=" in str(p.parent))
    if parquet:
        frames = []
        for path in parquet:
            frame = pd.read_parquet(path)
            for part in path.relative_to(folder).parts[:-1]:  # hive partitions: key=value
                if "=" in part:
                    key, value = part.split("=", 1)
                    frame[key] = value
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
    csv = sorted(p for p in folder.rglob("*.csv") if p.is_file())
    if csv:
        frames = [frame for frame in map(read_csv_file, csv) if frame is not None]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    raise InputProblem(f"no Parquet or CSV files under {folder}: check the job's input S3 URI")


def read_csv_file(path: Path) -> pd.DataFrame | None:
    """The rows of a CSV file with a header; None when it has no header either (an empty file,
    or blank lines only)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def require_rows(df: pd.DataFrame, what: str) -> None:
    """Refuse an input without rows: scoring or fitting nothing must not look like success."""
    if df.empty:
        raise InputProblem(
            f"{what} has no rows (an empty file, a header alone or blank lines): "
            "land data with at least one row there and run again"
        )


def check_ratios(train: float, validation: float) -> None:
    for name, value in (("--train-ratio", train), ("--validation-ratio", validation)):
        if not 0 < value < 1:
            raise InputProblem(f"{name}={value} must be strictly between 0 and 1")
    if train + validation >= 1:
        raise InputProblem(
            f"--train-ratio + --validation-ratio = {train + validation:.2f} leaves no test rows; "
            "keep their sum below 1"
        )


def split_names(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def fit_preprocessor(
    df: pd.DataFrame,
    *,
    target: str,
    id_column: str,
    numeric: list[str],
    categorical: list[str],
    reference_year: int,
    problem_type: str,
) -> dict:
    """Learn medians, categories and the feature order from the training rows."""
    if df.empty:
        raise InputProblem("the input table has no rows")
    required = [target, *numeric, *categorical]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputProblem(
            f"columns {missing} are missing from the input; it has {list(df.columns)}"
        )
    numeric = list(numeric)
    if reference_year and "year" in df.columns:
        numeric.append("vehicle_age")
        df = add_derived(df, reference_year)
    medians, indicators = {}, []
    for column in numeric:
        values = pd.to_numeric(df[column], errors="coerce").replace([np.inf, -np.inf], np.nan)
        if values.notna().sum() == 0:
            raise InputProblem(f"numeric column {column!r} has no usable values")
        medians[column] = float(values.median())
        if values.isna().any():
            indicators.append(column)
    categories = {}
    for column in categorical:
        counts = df[column].fillna(MISSING).astype(str).value_counts()
        categories[column] = sorted(counts.index[:MAX_CATEGORIES].tolist())
    features = (
        numeric
        + [f"{c}_missing" for c in indicators]
        + [f"{c}={v}" for c in categorical for v in [*categories[c], UNKNOWN]]
    )
    return {
        "target": target,
        "id_column": id_column,
        "problem_type": problem_type,
        "reference_year": reference_year,
        "numeric": numeric,
        "medians": medians,
        "missing_indicators": indicators,
        "categories": categories,
        "features": features,
    }


def add_derived(df: pd.DataFrame, reference_year: int) -> pd.DataFrame:
    out = df.copy()
    out["vehicle_age"] = reference_year - pd.to_numeric(out["year"], errors="coerce")
    return out


def transform(df: pd.DataFrame, prep: dict) -> pd.DataFrame:
    """The feature matrix (float columns in ``prep['features']`` order) for ``df``."""
    if prep["reference_year"] and "year" in df.columns:
        df = add_derived(df, prep["reference_year"])
    needed = [c for c in prep["numeric"] if c != "vehicle_age"] + list(prep["categories"])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputProblem(f"columns {missing} are missing from the batch to transform")
    columns: dict[str, np.ndarray] = {}
    for column in prep["numeric"]:
        values = pd.to_numeric(df[column], errors="coerce").replace([np.inf, -np.inf], np.nan)
        columns[column] = values.fillna(prep["medians"][column]).to_numpy(dtype="float64")
    for column in prep["missing_indicators"]:
        values = pd.to_numeric(df[column], errors="coerce").replace([np.inf, -np.inf], np.nan)
        columns[f"{column}_missing"] = values.isna().to_numpy(dtype="float64")
    for column, known in prep["categories"].items():
        values = df[column].fillna(MISSING).astype(str)
        values = values.where(values.isin(known), UNKNOWN)  # unseen categories share a bucket
        for value in [*known, UNKNOWN]:
            columns[f"{column}={value}"] = (values == value).to_numpy(dtype="float64")
    return pd.DataFrame(columns, index=df.index)[prep["features"]]


def split_rows(n: int, train: float, validation: float, seed: int) -> tuple[np.ndarray, ...]:
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(n * train), int(n * validation)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def write_split(
    name: str, rows: pd.DataFrame, features: pd.DataFrame, prep: dict, out: Path
) -> None:
    label = rows[prep["target"]].astype("float64")
    (out / name).mkdir(parents=True, exist_ok=True)
    pd.concat([label, features], axis=1).to_csv(
        out / name / f"{name}.csv", header=False, index=False, float_format="%.6g"
    )
    (out / "parquet").mkdir(parents=True, exist_ok=True)
    table = pd.concat([rows[[prep["id_column"]]], label, features], axis=1)
    table.to_parquet(out / "parquet" / f"{name}.parquet", index=False)
    if name == "train":
        # What an endpoint receives, with names: Model Monitor's data-quality baseline.
        (out / "baseline").mkdir(parents=True, exist_ok=True)
        features.to_csv(out / "baseline" / "baseline.csv", index=False, float_format="%.6g")


def run_fit(args: argparse.Namespace) -> dict:
    check_ratios(args.train_ratio, args.validation_ratio)
    if not args.target:
        raise InputProblem("--target is required in fit mode: name the label column")
    df = read_table(args.input_dir)
    require_rows(df, f"the training data {args.input_uri or args.input_dir}")
    if args.target not in df.columns:
        raise InputProblem(
            f"--target={args.target!r} is not a column; the table has {list(df.columns)}"
        )
    if df[args.target].isna().any():
        df = df[df[args.target].notna()].reset_index(drop=True)
    skip = {args.target, args.id_column}
    numeric = split_names(args.numeric_columns) or [
        c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])
    ]
    categorical = split_names(args.categorical_columns) or [
        c for c in df.columns if c not in skip and c not in numeric
    ]
    train_idx, val_idx, test_idx = split_rows(
        len(df), args.train_ratio, args.validation_ratio, args.seed
    )
    if min(len(train_idx), len(val_idx), len(test_idx)) == 0:
        raise InputProblem(f"{len(df)} rows are too few to split into train/validation/test")
    prep = fit_preprocessor(
        df.iloc[train_idx],
        target=args.target,
        id_column=args.id_column,
        numeric=numeric,
        categorical=categorical,
        reference_year=args.reference_year,
        problem_type=args.problem_type,
    )
    if args.id_column not in df.columns:
        df[args.id_column] = np.arange(len(df)).astype(str)
    for name, idx in (("train", train_idx), ("validation", val_idx), ("test", test_idx)):
        rows = df.iloc[idx].reset_index(drop=True)
        write_split(name, rows, transform(rows, prep), prep, args.output_dir)
    (args.output_dir / "preprocessor").mkdir(parents=True, exist_ok=True)
    (args.output_dir / "preprocessor" / "preprocessor.json").write_text(json.dumps(prep, indent=1))
    return {
        "rows": len(df),
        "train": len(train_idx),
        "validation": len(val_idx),
        "test": len(test_idx),
        "features": len(prep["features"]),
    }


def run_transform(args: argparse.Namespace) -> dict:
    path = args.preprocessor
    path = path / "preprocessor.json" if path.is_dir() else path
    try:
        prep = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputProblem(f"no fitted preprocessor at {path}: run the fit mode first") from exc
    df = read_table(args.input_dir)
    require_rows(df, f"the scoring batch {args.input_uri or args.input_dir}")
    if prep["id_column"] not in df.columns:
        raise InputProblem(f"the batch has no id column {prep['id_column']!r} to key scores by")
    features = transform(df, prep)
    out = args.output_dir / "scoring"
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([df[[prep["id_column"]]], features], axis=1).to_csv(
        out / "batch.csv", header=False, index=False, float_format="%.6g"
    )
    return {"rows": len(df), "features": len(prep["features"])}


def write_exit_message(message: str) -> None:
    """Leave ``message`` where SageMaker reads why a job ended: ``output/message`` becomes a
    processing job's ExitMessage (in what a workflow's catch receives); ``output/failure`` is
    the training jobs' FailureReason file, which the local twin reads for every job."""
    folder = base_dir() / "output"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("message", "failure"):
            (folder / name).write_text(message, encoding="utf-8")
    except OSError as exc:  # the message is in the log already; do not hide it behind this
        print(f"preprocess: could not write {folder}: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = run_fit(args) if args.mode == "fit" else run_transform(args)
    except InputProblem as exc:
        print(f"preprocess: {exc}", file=sys.stderr)
        write_exit_message(f"preprocess: {exc}")
        return 2
    print(f"preprocess {args.mode}: {json.dumps(summary)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
