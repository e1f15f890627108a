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
import math
import os
import re
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
        "--problem-type", choices=["regression", "binary", "multiclass"], default="regression"
    )
    p.add_argument(
        "--classes",
        default="",
        help="JSON list of class labels: binary [negative, positive], multiclass in label order",
    )
    p.add_argument("--numeric-columns", default="", help="comma-separated; default: inferred")
    p.add_argument("--categorical-columns", default="", help="comma-separated; default: inferred")
    p.add_argument("--datetime-columns", default="", help="comma-separated dates or times")
    p.add_argument("--time-column", default="", help="split by this time instead of randomly")
    p.add_argument(
        "--max-invalid-fraction",
        type=float,
        default=0.01,
        help="share of a column's values that may be unusable (text in numbers) before failing",
    )
    p.add_argument("--train-ratio", type=float, default=0.7)
    p.add_argument("--validation-ratio", type=float, default=0.15)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def normalize_column(name: object) -> str:
    """The catalog-safe form of a column name (the kit registers tables with the same rule):
    lower case, ``_`` for other characters, ``c_`` before a leading digit."""
    text = re.sub(r"[^0-9a-z_]+", "_", str(name).strip().lower()).strip("_")
    if not text:
        raise InputProblem(f"column name {name!r} has no letters or digits: rename it")
    return f"c_{text}" if text[0].isdigit() else text


def label_text(value: object) -> str:
    """A target value as classes are named: true/false, 1.0 as 1, text stripped."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value).strip()


def normalized(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with catalog-safe column names; two names that collide are refused."""
    names = [normalize_column(c) for c in df.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputProblem(f"several columns become {twice} once normalized: rename them")
    return df.set_axis(names, axis=1)


def read_table(folder: Path) -> pd.DataFrame:
    """Every Parquet (or else CSV) file under ``folder``, partition folders included, with
    catalog-safe column names."""
    return normalized(_read_files(folder))


def _read_files(folder: Path) -> pd.DataFrame:
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


def numbers_of(values: pd.Series) -> tuple[pd.Series, int]:
    """``values`` as floats, and how many present values were not numbers (text, inf)."""
    numbers = pd.to_numeric(values, errors="coerce").replace([np.inf, -np.inf], np.nan)
    return numbers, int((numbers.isna() & values.notna()).sum())


def times_of(values: pd.Series) -> tuple[pd.Series, int]:
    """``values`` as times (UTC), and how many present values were not times."""
    if pd.api.types.is_datetime64_any_dtype(values):
        times = pd.to_datetime(values, utc=True)
    else:
        times = pd.to_datetime(values.astype("string"), errors="coerce", utc=True, format="mixed")
    return times, int((times.isna() & values.notna()).sum())


def fit_preprocessor(
    df: pd.DataFrame,
    *,
    target: str,
    id_column: str,
    numeric: list[str],
    categorical: list[str],
    datetimes: list[str],
    problem_type: str,
    classes: list[str],
) -> dict:
    """Learn medians, categories, date references and the feature order from training rows."""
    if df.empty:
        raise InputProblem("the input table has no rows")
    required = [target, *numeric, *categorical, *datetimes]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputProblem(
            f"columns {missing} are missing from the input; it has {list(df.columns)}"
        )
    if not numeric + categorical + datetimes:
        raise InputProblem("the table has no usable feature besides the target and the id")
    derived = add_dates(df, {c: None for c in datetimes})
    references = {c: str(derived.attrs["latest"][c]) for c in datetimes}
    all_numeric = list(numeric) + [f"{c}_{part}" for c in datetimes for part in DATE_PARTS]
    medians, indicators = {}, []
    for column in all_numeric:
        values, _ = numbers_of(derived[column])
        if values.notna().sum() == 0:
            raise InputProblem(f"numeric column {column!r} has no usable values")
        medians[column] = float(values.median())
        if values.isna().any():
            indicators.append(column)
    categories = {}
    for column in categorical:
        counts = df[column].fillna(MISSING).map(label_text).value_counts()
        categories[column] = sorted(counts.index[:MAX_CATEGORIES].tolist())
    features = (
        all_numeric
        + [f"{c}_missing" for c in indicators]
        + [f"{c}={v}" for c in categorical for v in [*categories[c], UNKNOWN]]
    )
    return {
        "target": target,
        "id_column": id_column,
        "problem_type": problem_type,
        "classes": classes,
        "numeric": all_numeric,
        "raw_numeric": list(numeric),
        "datetimes": references,
        "medians": medians,
        "missing_indicators": indicators,
        "categories": categories,
        "features": features,
    }


DATE_PARTS = ("year", "month", "day_of_week", "days_before_ref")


def add_dates(df: pd.DataFrame, references: dict) -> pd.DataFrame:
    """``df`` plus year, month, weekday and age (days before the reference time) for each
    date column; a None reference becomes the column's latest time (in ``attrs["latest"]``)."""
    out = df.copy()
    out.attrs["latest"] = {}
    for column, reference in references.items():
        times, _ = times_of(out[column])
        ref = pd.Timestamp(reference) if reference else times.max()
        out.attrs["latest"][column] = ref
        out[f"{column}_year"] = times.dt.year
        out[f"{column}_month"] = times.dt.month
        out[f"{column}_day_of_week"] = times.dt.dayofweek
        out[f"{column}_days_before_ref"] = (ref - times).dt.total_seconds() / 86400.0
    return out


def transform(df: pd.DataFrame, prep: dict) -> pd.DataFrame:
    """The feature matrix (float columns in ``prep['features']`` order) for ``df``."""
    references = prep.get("datetimes", {})
    needed = [*prep.get("raw_numeric", prep["numeric"]), *prep["categories"], *references]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputProblem(f"columns {missing} are missing from the batch to transform")
    df = add_dates(df, references)
    columns: dict[str, np.ndarray] = {}
    for column in prep["numeric"]:
        values, _ = numbers_of(df[column])
        columns[column] = values.fillna(prep["medians"][column]).to_numpy(dtype="float64")
    for column in prep["missing_indicators"]:
        values, _ = numbers_of(df[column])
        columns[f"{column}_missing"] = values.isna().to_numpy(dtype="float64")
    for column, known in prep["categories"].items():
        values = df[column].fillna(MISSING).map(label_text)
        values = values.where(values.isin(known), UNKNOWN)  # unseen categories share a bucket
        for value in [*known, UNKNOWN]:
            columns[f"{column}={value}"] = (values == value).to_numpy(dtype="float64")
    return pd.DataFrame(columns, index=df.index)[prep["features"]]


def quality_report(df: pd.DataFrame, prep: dict, threshold: float, what: str) -> dict:
    """Per column, the present values that cannot be used (text in a number or date column)
    and the categories never seen in training; refuses a column past ``threshold``."""
    rows = len(df)
    invalid = {}
    for column in prep.get("raw_numeric", prep["numeric"]):
        invalid[column] = numbers_of(df[column])[1]
    for column in prep.get("datetimes", {}):
        invalid[column] = times_of(df[column])[1]
    unknown = {
        column: int((~df[column].fillna(MISSING).map(label_text).isin(known)).sum())
        for column, known in prep["categories"].items()
    }
    report = {
        "rows": rows,
        "invalid": {c: n for c, n in invalid.items() if n},
        "unknown_categories": {c: n for c, n in unknown.items() if n},
        "max_invalid_fraction": threshold,
    }
    for column, count in report["invalid"].items():
        print(f"preprocess: {what}: column {column}: {count:,} of {rows:,} values unusable")
    too_many = {c: n for c, n in report["invalid"].items() if n > threshold * rows}
    if too_many:
        detail = ", ".join(f"{c}: {n:,} ({n / rows:.1%})" for c, n in too_many.items())
        raise InputProblem(
            f"{what} has values that are not numbers or dates in {detail}, more than "
            f"max_invalid_fraction={threshold:g} of the rows: fix the data, or raise the "
            "threshold (--max-invalid-fraction; the workflows' max_invalid_fraction input)"
        )
    return report


def write_quality(report: dict, out: Path) -> None:
    (out / "quality").mkdir(parents=True, exist_ok=True)
    (out / "quality" / "quality.json").write_text(json.dumps(report, indent=1))


def encode_labels(values: pd.Series, prep: dict) -> pd.Series:
    """The target as the model learns it: a number, 1/0 for the positive class, or the class's
    index; a value outside the classes is refused."""
    if prep["problem_type"] == "regression":
        numbers, bad = numbers_of(values)
        if bad:
            raise InputProblem(
                f"the target {prep['target']} holds {bad:,} values that are no numbers"
            )
        return numbers.astype("float64")
    texts = values.map(label_text)
    index = {label: float(i) for i, label in enumerate(prep["classes"])}
    unknown = sorted(set(texts) - set(index))
    if unknown:
        raise InputProblem(
            f"the target {prep['target']} has values {unknown[:5]} outside the classes "
            f"{prep['classes']}: register the data product again"
        )
    return texts.map(index).astype("float64")


def check_classes(labels: pd.Series, problem_type: str, given: str, target: str) -> list[str]:
    """The classes (from ``--classes``, else the data's sorted values), checked against the
    target: a classification needs at least two."""
    if problem_type == "regression":
        return []
    present = sorted(labels.map(label_text).unique())
    classes = json.loads(given) if given else present
    if not given:
        print(f"preprocess: classes of {target} from the data: {classes}")
    if len(present) < 2:
        raise InputProblem(f"the target {target} has a single class {present}: nothing to learn")
    if problem_type == "binary" and len(classes) != 2:
        raise InputProblem(f"a binary target needs 2 classes; {target} has {classes}")
    return [str(c) for c in classes]


def check_ids(ids: pd.Series, what: str) -> None:
    duplicated = ids[ids.duplicated(keep=False)]
    if not duplicated.empty:
        raise InputProblem(
            f"{what} repeats {duplicated.nunique():,} ids (e.g. "
            f"{[str(v) for v in duplicated.unique()[:3]]}): ids must be unique"
        )


def split_rows(
    n: int, train: float, validation: float, seed: int, times: pd.Series | None = None
) -> tuple[np.ndarray, ...]:
    """Row positions of the train, validation and test splits: shuffled with ``seed``, or in
    time order (oldest first) when ``times`` are given."""
    if times is None:
        order = np.random.default_rng(seed).permutation(n)
    else:
        order = np.argsort(times.to_numpy(), kind="stable")
    n_train, n_val = int(n * train), int(n * validation)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def write_split(
    name: str, rows: pd.DataFrame, features: pd.DataFrame, prep: dict, out: Path
) -> None:
    label = encode_labels(rows[prep["target"]], prep)
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
    target, id_column = normalize_column(args.target), normalize_column(args.id_column)
    if target not in df.columns:
        raise InputProblem(
            f"--target={args.target!r} is not a column; the table has {list(df.columns)}"
        )
    unlabelled = int(df[target].isna().sum())
    if unlabelled == len(df):
        raise InputProblem(f"the target {target} is empty in every row")
    if unlabelled:
        print(f"preprocess: {unlabelled:,} rows without a {target} value are left out")
        df = df[df[target].notna()].reset_index(drop=True)
    skip = {target, id_column, normalize_column(args.time_column) if args.time_column else ""}
    datetimes = [normalize_column(c) for c in split_names(args.datetime_columns)]
    numeric = [normalize_column(c) for c in split_names(args.numeric_columns)] or [
        c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])
    ]
    categorical = [normalize_column(c) for c in split_names(args.categorical_columns)] or [
        c for c in df.columns if c not in skip and c not in numeric and c not in datetimes
    ]
    classes = check_classes(df[target], args.problem_type, args.classes, target)
    if args.problem_type == "regression" and numbers_of(df[target])[0].nunique() < 2:
        raise InputProblem(f"the target {target} is constant or not numeric: nothing to learn")
    times = None
    if args.time_column:
        times, _ = times_of(df[normalize_column(args.time_column)])
    train_idx, val_idx, test_idx = split_rows(
        len(df), args.train_ratio, args.validation_ratio, args.seed, times
    )
    if min(len(train_idx), len(val_idx), len(test_idx)) == 0:
        raise InputProblem(f"{len(df)} rows are too few to split into train/validation/test")
    prep = fit_preprocessor(
        df.iloc[train_idx],
        target=target,
        id_column=id_column,
        numeric=numeric,
        categorical=categorical,
        datetimes=datetimes,
        problem_type=args.problem_type,
        classes=classes,
    )
    prep["split"] = f"by time ({args.time_column})" if args.time_column else "random"
    report = quality_report(df, prep, args.max_invalid_fraction, "the training data")
    report["target_missing"] = unlabelled
    write_quality(report, args.output_dir)
    if id_column in df.columns:
        check_ids(df[id_column], f"the id column {id_column}")
    else:
        print(f"preprocess: no id column {id_column}: rows are numbered")
        df[id_column] = np.arange(len(df)).astype(str)
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
        "split": prep["split"],
        "invalid": report["invalid"],
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
    check_ids(df[prep["id_column"]], f"the scoring batch's id column {prep['id_column']}")
    report = quality_report(df, prep, args.max_invalid_fraction, "the scoring batch")
    write_quality(report, args.output_dir)
    features = transform(df, prep)
    out = args.output_dir / "scoring"
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([df[[prep["id_column"]]], features], axis=1).to_csv(
        out / "batch.csv", header=False, index=False, float_format="%.6g"
    )
    return {"rows": len(df), "features": len(prep["features"]), "invalid": report["invalid"]}


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
