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
    quality/quality.json
        per column, the values that could not be used (text in a number or date column) and,
        in transform mode, the categories never seen in training; rows without a target

Labels are written encoded: a regression target as a float, a binary one as 1.0 for the
positive class (the second of ``--classes``) else 0.0, a multiclass one as the index of its
class in ``--classes``. Column names are normalized (lower case, ``_`` for other characters).

``--mode transform`` applies a saved ``preprocessor.json`` to a new batch and writes
``scoring/batch.csv`` (and ``quality/quality.json``): record id first, then the features, no
header and no label, so a batch transform with input filter ``$[1:]`` and
``JoinSource=Input`` keys every score by its id.

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
from decimal import Decimal
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
    # When any of the three lists is given, they are the features; else all are inferred.
    p.add_argument("--numeric-columns", default="", help="comma-separated; default: inferred")
    p.add_argument("--categorical-columns", default="", help="comma-separated; default: inferred")
    p.add_argument("--datetime-columns", default="", help="comma-separated; default: inferred")
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


def label_texts(values: pd.Series) -> pd.Series:
    """:func:`label_text` of every value, vectorized for the usual column types (a million
    rows in well under a second); mixed columns go value by value."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if pd.api.types.is_bool_dtype(values):
        text = values.map({True: "true", False: "false"}).astype(object)
    elif kind in ("string", "empty"):
        text = values.astype(str).str.strip().astype(object)
    elif pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        whole = np.isfinite(numbers) & (numbers % 1 == 0)
        text = numbers.astype(str).astype(object)
        text[whole] = numbers[whole].astype("int64").astype(str)
    else:
        return values.map(label_text)
    missing = values.isna()
    if missing.any():  # as the scalar rule names them ("nan", "None")
        text[missing] = values[missing].map(label_text)
    return text


def write_csv(frame: pd.DataFrame, path: Path, *, header: bool) -> None:
    """``frame`` as CSV, written by Arrow: several times faster than pandas on millions of
    numbers, each written exactly."""
    import pyarrow as pa
    from pyarrow import csv

    table = pa.Table.from_pandas(frame.set_axis([str(c) for c in frame.columns], axis=1),
                                 preserve_index=False)  # fmt: skip
    csv.write_csv(table, path, csv.WriteOptions(include_header=header))


def normalized(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with catalog-safe column names; two names that collide are refused."""
    names = [normalize_column(c) for c in df.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        clashes = "; ".join(
            " and ".join(repr(str(c)) for c, n in zip(df.columns, names, strict=True) if n == name)
            + f" both become {name}"
            for name in twice
        )
        raise InputProblem(
            f"columns {clashes} once normalized (lower case, _ for other characters): "
            "rename one of them in the source"
        )
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
        # Only empty fields are missing: "n/a" or "NULL" in a number column must be counted as
        # unusable (quality.json), not silently read as missing.
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
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


def check_fraction(value: float) -> None:
    if not 0 <= value <= 1:
        raise InputProblem(
            f"--max-invalid-fraction={value:g} must be a share from 0 to 1 (0.01 is 1 %)"
        )


def split_names(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


# A text column is read as numbers when at least this share of its present values are numbers;
# the others are then counted as invalid (text such as "12k" or "n/a" in a number column).
NUMERIC_SHARE = 0.9


def looks_numeric(values: pd.Series) -> bool:
    """Whether a column holds numbers: a numeric or boolean type, or text that is mostly
    numbers."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return True
    if pd.api.types.is_datetime64_any_dtype(values):
        return False
    present = values.dropna()
    kinds = str | int | float | Decimal  # Decimal: Athena's and Parquet's decimal columns
    if present.empty or not all(isinstance(v, kinds) for v in present.head(1000)):
        return False
    numbers, invalid = numbers_of(present)
    return bool(numbers.notna().any()) and invalid <= (1 - NUMERIC_SHARE) * len(present)


def looks_like_dates(values: pd.Series) -> bool:
    """Whether a text column holds dates: most of its present values parse as times."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    present = values.dropna().head(1000)
    if present.empty or not all(isinstance(v, str) for v in present):
        return False
    times, invalid = times_of(present)
    return bool(times.notna().any()) and invalid <= (1 - NUMERIC_SHARE) * len(present)


def infer_features(
    df: pd.DataFrame,
    reserved: set[str],
    time_column: str,
    numeric: list[str],
    categorical: list[str],
    datetimes: list[str],
) -> tuple[list[str], list[str], list[str]]:
    """Numeric, categorical and date features: those named when any is, else inferred from
    the columns (mostly-number columns are numbers, date types or mostly-date text dates, the
    rest categories; empty columns are left out, saying so). The target and the id (in
    ``reserved``) are never features; the time column is one only when named."""
    if numeric or categorical or datetimes:
        clash = [c for c in [*numeric, *categorical, *datetimes] if c in reserved]
        if clash:
            raise InputProblem(
                f"columns {clash} are the target or the id and cannot also be features: leave "
                "them out of --numeric-columns / --categorical-columns / --datetime-columns"
            )
        return numeric, categorical, datetimes
    skip = reserved | {time_column}
    empty = [c for c in df.columns if c not in skip and df[c].isna().all()]
    if empty:
        print(f"preprocess: columns {empty} have no values and are left out of the features")
    rest = [c for c in df.columns if c not in skip and c not in empty]
    numeric = [c for c in rest if looks_numeric(df[c])]
    datetimes = [c for c in rest if c not in numeric and looks_like_dates(df[c])]
    categorical = [c for c in rest if c not in numeric and c not in datetimes]
    print(
        f"preprocess: features inferred: numbers {numeric}, dates {datetimes}, "
        f"categories {categorical}"
    )
    return numeric, categorical, datetimes


def numbers_of(values: pd.Series) -> tuple[pd.Series, int]:
    """``values`` as floats, and how many present values were not numbers (text, inf)."""
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("float64")
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    numbers = numbers.replace([np.inf, -np.inf], np.nan)
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
        raise InputProblem(
            f"the table has no usable feature besides the target {target} and the id "
            f"{id_column} (its columns: {list(df.columns)}): add feature columns"
        )
    derived = add_dates(df, {c: None for c in datetimes})
    references = {c: str(derived.attrs["latest"][c]) for c in datetimes}
    all_numeric = list(numeric) + [f"{c}_{part}" for c in datetimes for part in DATE_PARTS]
    medians, indicators = {}, []
    for column in all_numeric:
        values, _ = numbers_of(derived[column])
        if values.notna().sum() == 0:
            raise InputProblem(
                f"numeric column {column!r} has no usable value in the training rows: fix it, "
                "or leave it out of --numeric-columns / --datetime-columns"
            )
        medians[column] = float(values.median())
        if values.isna().any():
            indicators.append(column)
    categories = {}
    for column in categorical:
        counts = label_texts(df[column].fillna(MISSING)).value_counts()
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
        out[f"{column}_day_of_week"] = times.dt.day_of_week
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
        values = label_texts(df[column].fillna(MISSING))
        values = values.where(values.isin(known), UNKNOWN)  # unseen categories share a bucket
        for value in [*known, UNKNOWN]:
            columns[f"{column}={value}"] = (values == value).to_numpy(dtype="float64")
    return pd.DataFrame(columns, index=df.index)[prep["features"]]


def quality_report(
    df: pd.DataFrame, prep: dict, threshold: float, what: str, *, scoring: bool
) -> dict:
    """Per column, the present values that cannot be used (text in a number or date column,
    the time column included when fitting) and, when ``scoring``, the categories never seen
    in training. Prints one line per column with counts."""
    rows = len(df)
    invalid = {}
    for column in prep.get("raw_numeric", prep["numeric"]):
        invalid[column] = numbers_of(df[column])[1]
    dates = [*prep.get("datetimes", {})]
    if not scoring and prep.get("time_column"):
        dates.append(prep["time_column"])
    for column in dates:
        invalid[column] = times_of(df[column])[1]
    unknown = {}
    if scoring:
        unknown = {
            column: int((~label_texts(df[column].fillna(MISSING)).isin(known)).sum())
            for column, known in prep["categories"].items()
        }
    report = {
        "rows": rows,
        "invalid": {c: n for c, n in invalid.items() if n},
        "unknown_categories": {c: n for c, n in unknown.items() if n},
        "max_invalid_fraction": threshold,
        "target_missing": 0,
    }
    for column, count in report["invalid"].items():
        print(
            f"preprocess: {what}: column {column}: {count:,} of {rows:,} values are not "
            f"numbers or dates ({count / rows:.1%})"
        )
    for column, count in report["unknown_categories"].items():
        print(
            f"preprocess: {what}: column {column}: {count:,} of {rows:,} values are new categories"
        )
    if not report["invalid"] and not report["unknown_categories"]:
        print(f"preprocess: {what}: no invalid values in {rows:,} rows")
    return report


def check_quality(report: dict, what: str) -> None:
    """Refuse the data when a column's unusable values exceed the report's threshold."""
    rows, threshold = report["rows"], report["max_invalid_fraction"]
    too_many = {c: n for c, n in report["invalid"].items() if n > threshold * rows}
    if too_many:
        detail = ", ".join(f"{c}: {n:,} of {rows:,} ({n / rows:.1%})" for c, n in too_many.items())
        raise InputProblem(
            f"{what} has values that are not numbers or dates in {detail}, more than "
            f"max_invalid_fraction={threshold:g} of the rows: fix the data, declare the column "
            "categorical (--categorical-columns), or raise the threshold "
            "(--max-invalid-fraction; max_invalid_fraction in notebook 02 and workflow settings)"
        )


def write_quality(report: dict, out: Path) -> None:
    (out / "quality").mkdir(parents=True, exist_ok=True)
    (out / "quality" / "quality.json").write_text(json.dumps(report, indent=1))


def encode_labels(values: pd.Series, prep: dict) -> pd.Series:
    """The target as the model learns it: a number, 1/0 for the positive class, or the class's
    index; a value outside the classes is refused."""
    if prep["problem_type"] == "regression":
        return check_numeric_target(values, prep["target"])
    texts = label_texts(values)
    classes = prep["classes"]
    if prep["problem_type"] == "binary":
        index = {classes[0]: 0.0, classes[1]: 1.0}
    else:
        index = {label: float(i) for i, label in enumerate(classes)}
    unknown = sorted(set(texts) - set(index))
    if unknown:
        raise InputProblem(
            f"the target {prep['target']} has {len(unknown)} values outside the classes "
            f"{classes}, e.g. {unknown[:5]}: fix the data or pass every class in --classes "
            "(the data product's classes)"
        )
    return texts.map(index).astype("float64")


def check_numeric_target(values: pd.Series, target: str) -> pd.Series:
    """A regression target as floats; text in it is refused with examples."""
    numbers, bad = numbers_of(values)
    if bad:
        examples = [str(v) for v in values[numbers.isna() & values.notna()].unique()[:5]]
        raise InputProblem(
            f"the regression target {target} holds {bad:,} values that are not numbers, e.g. "
            f"{examples}: fix them, or train a classification (--problem-type)"
        )
    if numbers.nunique() < 2:
        raise InputProblem(
            f"the regression target {target} is constant ({numbers.iloc[0]:g}): nothing to learn"
        )
    return numbers


def parse_classes(given: str) -> list[str]:
    """``--classes`` as label texts: a JSON list of at least two distinct labels."""
    try:
        classes = json.loads(given)
    except ValueError as exc:
        raise InputProblem(
            f'--classes={given!r} is not JSON: pass a list such as \'["no", "yes"]\''
        ) from exc
    if not isinstance(classes, list) or len(classes) < 2:
        raise InputProblem(f"--classes={given!r} must be a JSON list of at least two labels")
    texts = [label_text(c) for c in classes]
    if len(set(texts)) != len(texts):
        raise InputProblem(f"--classes={given!r} names a class twice (as text: {texts})")
    return texts


def check_classes(labels: pd.Series, problem_type: str, given: str, target: str) -> list[str]:
    """The classes (from ``--classes``, else the data's sorted values), checked against the
    target: at least two present, two for a binary target, two rows each for a multiclass."""
    if problem_type == "regression":
        return []
    texts = label_texts(labels)
    counts = texts.value_counts()
    present = sorted(counts.index)
    if len(present) < 2:
        raise InputProblem(
            f"the target {target} has a single class {present}: nothing to learn; "
            "train on rows of at least two classes"
        )
    if given:
        classes = parse_classes(given)
    else:
        classes = present
        role = "negative, positive" if problem_type == "binary" else "in index order"
        print(f"preprocess: classes of {target} from the data ({role}): {classes}")
    if problem_type == "binary" and len(classes) != 2:
        raise InputProblem(
            f"a binary target needs exactly 2 classes; {target} has {len(classes)}: "
            f"{classes[:10]} (use --problem-type multiclass)"
        )
    unknown = sorted(set(present) - set(classes))
    if unknown:
        raise InputProblem(
            f"the target {target} has {len(unknown)} values outside --classes {classes}, e.g. "
            f"{unknown[:5]}: fix the data or add them to the classes"
        )
    if problem_type == "multiclass":
        rare = {c: int(counts.get(c, 0)) for c in classes if counts.get(c, 0) < 2}
        if rare:
            raise InputProblem(
                f"the multiclass target {target} has classes with fewer than 2 rows: {rare}; "
                "add rows of them or leave them out of --classes and the data"
            )
    return classes


def check_ids(ids: pd.Series, what: str) -> None:
    duplicated = ids[ids.duplicated(keep=False)]
    if not duplicated.empty:
        raise InputProblem(
            f"{what} repeats {duplicated.nunique():,} ids in {len(duplicated):,} rows (e.g. "
            f"{[str(v) for v in duplicated.unique()[:3]]}): ids must be unique"
        )


def target_missing(values: pd.Series) -> pd.Series:
    """Rows without a target: missing, or blank text."""
    return values.isna() | (label_texts(values) == "")


def split_rows(
    n: int, train: float, validation: float, seed: int, times: pd.Series | None = None
) -> tuple[np.ndarray, ...]:
    """Row positions of the train, validation and test splits: shuffled with ``seed``, or in
    time order (oldest first) when ``times`` are given."""
    if times is None:
        order = np.random.default_rng(seed).permutation(n)
    else:  # rows without a usable time go last (test), and are counted in quality.json
        ranked = times.reset_index(drop=True).sort_values(kind="stable", na_position="last")
        order = ranked.index.to_numpy()
    n_train, n_val = int(n * train), int(n * validation)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def write_split(
    name: str, rows: pd.DataFrame, features: pd.DataFrame, prep: dict, out: Path
) -> None:
    label = encode_labels(rows[prep["target"]], prep)
    (out / name).mkdir(parents=True, exist_ok=True)
    write_csv(pd.concat([label, features], axis=1), out / name / f"{name}.csv", header=False)
    (out / "parquet").mkdir(parents=True, exist_ok=True)
    table = pd.concat([rows[[prep["id_column"]]], label, features], axis=1)
    table.to_parquet(out / "parquet" / f"{name}.parquet", index=False)
    if name == "train":
        # What an endpoint receives, with names: Model Monitor's data-quality baseline.
        (out / "baseline").mkdir(parents=True, exist_ok=True)
        write_csv(features, out / "baseline" / "baseline.csv", header=True)


def run_fit(args: argparse.Namespace) -> dict:
    check_ratios(args.train_ratio, args.validation_ratio)
    check_fraction(args.max_invalid_fraction)
    if not args.target:
        raise InputProblem("--target is required in fit mode: name the label column")
    df = read_table(args.input_dir)
    require_rows(df, f"the training data {args.input_uri or args.input_dir}")
    target, id_column = normalize_column(args.target), normalize_column(args.id_column)
    time_column = normalize_column(args.time_column) if args.time_column else ""
    if target not in df.columns:
        raise InputProblem(
            f"--target={args.target!r} is not a column; the table has {list(df.columns)}"
        )
    if time_column and time_column not in df.columns:
        raise InputProblem(
            f"--time-column={args.time_column!r} is not a column; the table has {list(df.columns)}"
        )
    unlabelled = target_missing(df[target])
    if unlabelled.all():
        raise InputProblem(f"the target {target} is empty in every one of the {len(df):,} rows")
    if unlabelled.any():
        print(f"preprocess: {int(unlabelled.sum()):,} rows without a {target} value are left out")
        df = df[~unlabelled].reset_index(drop=True)
    if id_column in df.columns:
        check_ids(df[id_column], f"the id column {id_column}")
    else:
        print(f"preprocess: no id column {id_column}: rows are numbered 0..{len(df) - 1}")
        df[id_column] = np.arange(len(df)).astype(str)
    numeric, categorical, datetimes = infer_features(
        df,
        {target, id_column},
        time_column,
        [normalize_column(c) for c in split_names(args.numeric_columns)],
        [normalize_column(c) for c in split_names(args.categorical_columns)],
        [normalize_column(c) for c in split_names(args.datetime_columns)],
    )
    classes = check_classes(df[target], args.problem_type, args.classes, target)
    if args.problem_type == "regression":
        check_numeric_target(df[target], target)
    times = times_of(df[time_column])[0] if time_column else None
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
    prep["split"] = f"by time ({time_column})" if time_column else "random"
    prep["time_column"] = time_column
    report = quality_report(df, prep, args.max_invalid_fraction, "the training data", scoring=False)
    report["target_missing"] = int(unlabelled.sum())
    write_quality(report, args.output_dir)
    check_quality(report, "the training data")
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
        "classes": classes,
        "invalid": report["invalid"],
        "target_missing": report["target_missing"],
    }


def run_transform(args: argparse.Namespace) -> dict:
    check_fraction(args.max_invalid_fraction)
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
    needed = [*prep.get("raw_numeric", prep["numeric"]), *prep["categories"]]
    missing = [c for c in [*needed, *prep.get("datetimes", {})] if c not in df.columns]
    if missing:
        raise InputProblem(
            f"columns {missing} are missing from the scoring batch; it has {list(df.columns)}"
        )
    report = quality_report(df, prep, args.max_invalid_fraction, "the scoring batch", scoring=True)
    write_quality(report, args.output_dir)
    check_quality(report, "the scoring batch")
    features = transform(df, prep)
    out = args.output_dir / "scoring"
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([df[[prep["id_column"]]], features], axis=1).to_csv(
        out / "batch.csv", header=False, index=False, float_format="%.6g"
    )
    return {
        "rows": len(df),
        "features": len(prep["features"]),
        "invalid": report["invalid"],
        "unknown_categories": report["unknown_categories"],
    }


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
