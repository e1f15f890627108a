"""The data-product contract: what any tabular table must say for the kit to work on it.

A data product is a table plus its contract: the target column and the problem type
(``regression``, ``binary`` or ``multiclass``), the id column that joins scores with ground
truth, an optional time column, and the features by kind (numeric, categorical, datetime), with
the columns left out and why. :func:`infer_product` reads the contract off a frame (every
decision comes with a note saying why), :meth:`DataProduct.to_yaml` prints it as a small YAML
file a user can edit, and :mod:`mlaccel.data` stores it in the Glue table's parameters, so every
later notebook, pipeline and Lambda reads the same contract by product name.

Nothing here knows a particular product: the kit's demo products (:mod:`mlaccel.demo`) are
registered through the same functions as a user's table.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd

PROBLEM_TYPES = ("regression", "binary", "multiclass")
# Model Monitor's names for the same problem types (model-quality jobs and their files).
MONITOR_PROBLEM_TYPES = {
    "regression": "Regression",
    "binary": "BinaryClassification",
    "multiclass": "MulticlassClassification",
}
# The Glue table parameter holding the contract as JSON (Glue allows 512 KB per value).
CONTRACT_PARAMETER = "mlaccel_contract"
# Classification targets with more distinct values than this are refused: give problem_type.
MAX_CLASSES = 50
# An integer target with at most this many distinct values is inferred to be classes.
MAX_INFERRED_INTEGER_CLASSES = 10
# A text column with more distinct values than this share of its rows is an id or free text.
NEAR_UNIQUE_SHARE = 0.9
# A text column is numbers (or dates) stored as text when this share of its values parse.
PARSE_SHARE = 0.9
# Text longer than this on average, with many distinct values, is free text.
FREE_TEXT_CHARS = 40
# Binary targets whose positive class needs no telling.
_KNOWN_POSITIVES = {
    frozenset({"0", "1"}): "1",
    frozenset({"false", "true"}): "true",
    frozenset({"no", "yes"}): "yes",
    frozenset({"n", "y"}): "y",
    frozenset({"f", "t"}): "t",
    frozenset({"negative", "positive"}): "positive",
}


def normalize_column(name: Any) -> str:
    """The catalog-safe form of a column name: lower case, ``_`` for anything else.

    Glue and Athena keep lower-case names only; the processing script applies the same rule
    to every batch, so a user's ``"Sale Price"`` is ``sale_price`` everywhere.

    Examples
    --------
    >>> normalize_column("Sale Price (EUR)"), normalize_column("2nd owner")
    ('sale_price_eur', 'c_2nd_owner')
    """
    text = re.sub(r"[^0-9a-z_]+", "_", str(name).strip().lower()).strip("_")
    if not text:
        raise MLAccelInputError(
            f"column name {name!r} has no letters or digits; rename it in the source"
        )
    return f"c_{text}" if text[0].isdigit() else text


def label_text(value: Any) -> str:
    """A target value as the text classes are named by (the same rule in the scripts).

    Examples
    --------
    >>> label_text(True), label_text(1.0), label_text(" yes ")
    ('true', '1', 'yes')
    """
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class DataProduct:
    """A table and what the kit needs to know about it (see the module's docstring)."""

    name: str
    target: str
    problem_type: str
    id_column: str
    numeric_features: tuple[str, ...] = ()
    categorical_features: tuple[str, ...] = ()
    datetime_features: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # binary: (negative, positive); multiclass: in label order
    time_column: str = ""
    target_std: float = 0.0  # regression: the RMSE of always predicting the mean
    id_added: bool = False  # the kit added the id column when it registered the table
    excluded: Mapping[str, str] = field(default_factory=dict)  # column: why it is no feature
    renamed: Mapping[str, str] = field(default_factory=dict)  # source name: catalog name
    description: str = ""
    column_descriptions: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        check_contract(self)

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric_features + self.categorical_features + self.datetime_features

    @property
    def columns(self) -> tuple[str, ...]:
        """The id, the features and the target: what a table of this product must have."""
        time = (
            (self.time_column,) if self.time_column and self.time_column != self.id_column else ()
        )
        extra = tuple(c for c in time if c not in self.features)
        return (self.id_column, *self.features, *extra, self.target)

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "regression"

    @property
    def positive_class(self) -> str:
        """The class a binary model's score is the probability of ("" for other problems)."""
        return self.classes[1] if self.problem_type == "binary" else ""

    @property
    def monitor_problem_type(self) -> str:
        """The problem type as Model Monitor names it."""
        return MONITOR_PROBLEM_TYPES[self.problem_type]

    def to_dict(self) -> dict[str, Any]:
        """The contract as plain data (what the catalog stores and the YAML file shows)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    def to_yaml(self) -> str:
        """The contract as a small YAML file a user can read and edit."""
        import yaml

        return str(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    def table_parameters(self) -> dict[str, str]:
        """Glue table parameters: the whole contract, plus its main facts for people browsing."""
        return {
            CONTRACT_PARAMETER: json.dumps(self.to_dict(), sort_keys=True),
            "data_product": self.name,
            "target": self.target,
            "problem_type": self.problem_type,
            "id_column": self.id_column,
        }

    def describe(self) -> str:
        """A few lines saying what the contract is."""
        lines = [
            f"data product {self.name}: {self.problem_type}, target {self.target!r}"
            + (f" (classes {', '.join(self.classes)})" if self.classes else ""),
            f"  id column: {self.id_column}" + (" (added by the kit)" if self.id_added else ""),
        ]
        if self.time_column:
            lines.append(f"  time column: {self.time_column} (time-ordered split)")
        for kind in ("numeric", "categorical", "datetime"):
            columns = getattr(self, f"{kind}_features")
            if columns:
                lines.append(f"  {kind} features ({len(columns)}): {', '.join(columns)}")
        for column, reason in self.excluded.items():
            lines.append(f"  left out: {column}: {reason}")
        return "\n".join(lines)


def check_contract(product: DataProduct) -> None:
    """Refuse a contract that cannot be worked with, naming the field and the fix."""
    if not product.name or normalize_column(product.name) != product.name:
        raise MLAccelInputError(
            f"data product name {product.name!r} must be lower case letters, digits and _ "
            f"(e.g. {normalize_column(product.name or 'my_product')!r})"
        )
    if product.problem_type not in PROBLEM_TYPES:
        raise MLAccelInputError(
            f"problem_type={product.problem_type!r} must be one of {', '.join(PROBLEM_TYPES)}"
        )
    if not product.target or not product.id_column:
        raise MLAccelInputError("a data product needs a target column and an id column")
    if not product.features:
        raise MLAccelInputError(
            f"data product {product.name!r} has no usable feature"
            + (f" (left out: {dict(product.excluded)})" if product.excluded else "")
            + ": add columns to the table, or list features yourself"
        )
    used = [*product.features, product.target, product.id_column]
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        raise MLAccelInputError(
            f"columns {twice} have more than one role in data product {product.name!r} "
            "(feature, target or id): give each column one role"
        )
    if product.problem_type == "binary" and len(product.classes) != 2:
        raise MLAccelInputError(
            f"a binary data product needs two classes (negative, positive); got "
            f"{list(product.classes)}"
        )
    if product.problem_type == "multiclass" and not 2 < len(product.classes) <= MAX_CLASSES:
        raise MLAccelInputError(
            f"a multiclass data product needs 3 to {MAX_CLASSES} classes; got "
            f"{len(product.classes)}: with 2, use problem_type='binary'"
        )
    if product.problem_type == "regression" and product.classes:
        raise MLAccelInputError("a regression data product has no classes")


_FIELDS = set(DataProduct.__dataclass_fields__)


def product_from_dict(values: Mapping[str, Any], *, where: str = "the contract") -> DataProduct:
    """A contract from plain data (a YAML file, the catalog), refusing unknown fields."""
    if not isinstance(values, Mapping):
        raise MLAccelInputError(f"{where} must be a mapping of contract fields")
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise MLAccelInputError(
            f"{where} has unknown fields {unknown}; the fields are {sorted(_FIELDS)}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        default = DataProduct.__dataclass_fields__[key].default
        if isinstance(default, tuple):
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise MLAccelInputError(f"{where}: {key} must be a list of column names or labels")
            value = tuple(value)
        elif key in ("excluded", "renamed", "column_descriptions", "tags"):
            if not isinstance(value, Mapping):
                raise MLAccelInputError(f"{where}: {key} must be a mapping")
            value = {str(k): str(v) for k, v in value.items()}
        elif key == "id_added":
            if not isinstance(value, bool):
                raise MLAccelInputError(f"{where}: id_added must be true or false")
        elif key == "target_std":
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise MLAccelInputError(f"{where}: target_std must be a number of 0 or more")
            value = float(value)
        elif not isinstance(value, str):
            raise MLAccelInputError(f"{where}: {key} must be text, not {value!r}")
        kwargs[key] = value
    missing = sorted({"name", "target", "problem_type", "id_column"} - set(kwargs))
    if missing:
        raise MLAccelInputError(f"{where} lacks the fields {missing}")
    return DataProduct(**kwargs)


def product_from_yaml(text: str, *, where: str = "the contract file") -> DataProduct:
    """A contract from the YAML that :meth:`DataProduct.to_yaml` writes (edited or not)."""
    import yaml

    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MLAccelInputError(f"{where} is not valid YAML: {exc}") from exc
    return product_from_dict(values, where=where)


def product_from_table_parameters(
    parameters: Mapping[str, str], *, table: str
) -> DataProduct | None:
    """The contract stored in a Glue table's parameters, or None when it has none."""
    text = parameters.get(CONTRACT_PARAMETER)
    if not text:
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MLAccelInputError(
            f"table {table}'s parameter {CONTRACT_PARAMETER} is not JSON: register it again"
        ) from exc
    return product_from_dict(values, where=f"the contract stored with table {table}")


# --- inference -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inference:
    """A contract read off a frame, with one note per decision saying why."""

    product: DataProduct
    notes: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join([self.product.describe(), *(f"  why: {n}" for n in self.notes)])


def normalize_columns(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """``df`` with catalog-safe column names, and the renames (source name: new name)."""
    renamed = {str(c): normalize_column(c) for c in df.columns}
    seen: dict[str, str] = {}
    for original, new in renamed.items():
        if new in seen:
            raise MLAccelInputError(
                f"columns {seen[new]!r} and {original!r} both become {new!r} in the catalog "
                "(lower case, _ for other characters): rename one of them in the source"
            )
        seen[new] = original
    changed = {o: n for o, n in renamed.items() if o != n}
    return (df.rename(columns=renamed) if changed else df), changed


def stable_row_ids(df: pd.DataFrame) -> pd.Series:
    """An id per row from the row's own values, so it is the same on every registration.

    Identical rows get ``-2``, ``-3``... after the first, in the order they come.
    """
    import pandas as pd

    hashed = pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy()
    ids = pd.Series([hashlib.sha1(h.tobytes()).hexdigest()[:16] for h in hashed], index=df.index)
    repeat = ids.groupby(ids).cumcount()
    return ids.where(repeat == 0, ids + "-" + (repeat + 1).astype(str))


def infer_product(
    df: pd.DataFrame,
    *,
    name: str,
    target: str,
    problem_type: str = "",
    id_column: str = "",
    time_column: str = "",
    positive_class: str = "",
    features: Sequence[str] = (),
    exclude: Sequence[str] = (),
    description: str = "",
    column_descriptions: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    source: str = "",
) -> Inference:
    """The contract of the table ``df`` (catalog-safe column names), read off its values.

    Parameters
    ----------
    name
        The product's name (lower case, digits and ``_``).
    target
        The label column.
    problem_type
        ``regression``, ``binary`` or ``multiclass``; ``""`` infers it from the target.
    id_column
        A unique, complete column; ``""`` uses a column that looks like one (``id``,
        ``*_id``) or adds ``row_id`` (see :func:`stable_row_ids`).
    time_column
        A column of times: the split is then time-ordered.
    positive_class
        For a binary target: the class a score is the probability of.
    features
        The feature columns; empty infers them (and lists what was left out, and why).
    exclude
        Columns never to use as features.
    """
    notes: list[str] = []
    _require_frame(df, name)
    target = _require_column(df, target, "target")
    values = df[target]
    present = values.dropna()
    if present.empty:
        raise MLAccelInputError(
            f"target={target!r} has no values in the table: pick the column to predict"
        )
    if len(present) < len(values):
        notes.append(
            f"{len(values) - len(present):,} rows have no {target} value: training leaves them out"
        )
    problem, why = _problem_type(present, problem_type, target)
    notes.append(why)
    classes, why = _classes(present, problem, positive_class, target)
    if why:
        notes.append(why)
    id_column, id_added, why = _id_column(df, id_column, target)
    notes.append(why)
    if time_column:
        time_column = _require_column(df, time_column, "time_column")
        notes.append(f"time column {time_column}: rows are split by time, oldest for training")
    roles = {target, id_column, time_column} - {""}
    if features:
        chosen = [_require_column(df, c, "features") for c in features]
        kinds = {c: _feature_kind(df[c], len(df)) for c in chosen}
        excluded: dict[str, str] = {}
        for column, (kind, reason) in kinds.items():
            if kind == "":
                raise MLAccelInputError(f"feature {column!r} cannot be used: {reason}")
    else:
        ignored = {_require_column(df, c, "exclude") for c in exclude}
        kinds, excluded = {}, {}
        for column in df.columns:
            if column in roles:
                continue
            if column in ignored:
                excluded[column] = "excluded by request"
                continue
            if _same_as_target(df[column], values):
                excluded[column] = f"identical to the target {target}: it would leak the answer"
                continue
            kind, reason = _feature_kind(df[column], len(df))
            if kind:
                kinds[column] = (kind, reason)
                if reason:
                    notes.append(f"{column}: {reason}")
            else:
                excluded[column] = reason
    product = DataProduct(
        name=name,
        target=target,
        problem_type=problem,
        id_column=id_column,
        numeric_features=tuple(c for c, (k, _) in kinds.items() if k == "numeric"),
        categorical_features=tuple(c for c, (k, _) in kinds.items() if k == "categorical"),
        datetime_features=tuple(c for c, (k, _) in kinds.items() if k == "datetime"),
        classes=classes,
        time_column=time_column,
        target_std=_target_std(present) if problem == "regression" else 0.0,
        id_added=id_added,
        excluded=excluded,
        description=description or f"{name}: {problem} on {target}",
        column_descriptions=dict(column_descriptions or {}),
        tags=dict(tags or {}),
        source=source,
    )
    return Inference(product, tuple(notes))


def _require_frame(df: Any, name: str) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise MLAccelInputError(f"data product {name!r}: expected a table, got {type(df).__name__}")
    if df.empty:
        raise MLAccelInputError(f"data product {name!r}: the table has no rows")


def _require_column(df: pd.DataFrame, column: str, what: str) -> str:
    if column in df.columns:
        return column
    normalized = normalize_column(column) if column else ""
    if normalized in df.columns:
        return normalized
    raise MLAccelInputError(
        f"{what}={column!r} is not a column of the table; its columns are {list(df.columns)}"
    )


def _problem_type(values: pd.Series, given: str, target: str) -> tuple[str, str]:
    import pandas as pd

    distinct = values.map(label_text).nunique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if given:
        if given not in PROBLEM_TYPES:
            raise MLAccelInputError(
                f"problem_type={given!r} must be one of {', '.join(PROBLEM_TYPES)}, "
                "or empty to infer it from the target"
            )
        if given == "regression" and not numeric:
            bad = _first_non_numbers(values)
            raise MLAccelInputError(
                f"problem_type='regression' needs a numeric target; {target} holds text such "
                f"as {bad}: fix the values, or use problem_type='binary'/'multiclass'"
            )
        return given, f"problem type {given}, as given"
    if distinct < 2:
        raise MLAccelInputError(
            f"target {target!r} has a single value ({label_text(values.iloc[0])!r}) in every "
            "row: there is nothing to learn; pick another target or land more varied data"
        )
    if distinct == 2:
        return "binary", f"problem type binary: {target} has exactly 2 distinct values"
    if numeric:
        integral = bool((values.astype("float64") % 1 == 0).all())
        if integral and distinct <= MAX_INFERRED_INTEGER_CLASSES:
            return "multiclass", (
                f"problem type multiclass: {target} holds {distinct} distinct whole numbers "
                f"(at most {MAX_INFERRED_INTEGER_CLASSES}); set problem_type='regression' if "
                "they are amounts"
            )
        return "regression", f"problem type regression: {target} is numeric ({distinct:,} values)"
    if distinct > MAX_CLASSES:
        raise MLAccelInputError(
            f"target {target!r} is text with {distinct:,} distinct values (more than "
            f"{MAX_CLASSES} classes): give problem_type, or convert it to numbers for regression"
        )
    return "multiclass", f"problem type multiclass: {target} is text with {distinct} classes"


def _target_std(values: pd.Series) -> float:
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return round(float(numbers.std(ddof=0)), 6) if numbers.notna().any() else 0.0


def _first_non_numbers(values: pd.Series) -> list[str]:
    import pandas as pd

    bad = values[pd.to_numeric(values, errors="coerce").isna()]
    return [str(v)[:30] for v in bad.unique()[:3]]


def _classes(
    values: pd.Series, problem: str, positive: str, target: str
) -> tuple[tuple[str, ...], str]:
    if problem == "regression":
        if positive:
            raise MLAccelInputError(
                "positive_class is for binary targets; leave it empty for regression"
            )
        return (), ""
    counts = values.map(label_text).value_counts()
    labels = sorted(counts.index, key=_class_order)
    if problem == "multiclass":
        if positive:
            raise MLAccelInputError(
                "positive_class is for binary targets; leave it empty for multiclass"
            )
        if not 2 < len(labels) <= MAX_CLASSES:
            raise MLAccelInputError(
                f"problem_type='multiclass' needs 3 to {MAX_CLASSES} classes; {target} has "
                f"{len(labels)}"
            )
        rare = [label for label in labels if counts[label] < 2]
        if rare:
            raise MLAccelInputError(
                f"classes {rare} of {target} have a single row each: a model cannot learn them; "
                "remove those rows or land more data"
            )
        return tuple(labels), f"classes in label order: {', '.join(labels)}"
    if len(labels) != 2:
        raise MLAccelInputError(
            f"problem_type='binary' needs exactly 2 classes; {target} has {len(labels)}: "
            f"{labels[:10]}"
        )
    if positive:
        wanted = label_text(positive)
        if wanted not in labels:
            raise MLAccelInputError(
                f"positive_class={positive!r} is not a value of {target}; its values are {labels}"
            )
        why = f"positive class {wanted!r}, as given"
    elif frozenset(label.lower() for label in labels) in _KNOWN_POSITIVES:
        key = frozenset(label.lower() for label in labels)
        wanted = next(label for label in labels if label.lower() == _KNOWN_POSITIVES[key])
        why = f"positive class {wanted!r} (of {labels})"
    else:
        wanted = str(counts.idxmin())
        why = (
            f"positive class {wanted!r}: the rarer of {labels}; set positive_class to choose "
            "the other"
        )
    negative = next(label for label in labels if label != wanted)
    return (negative, wanted), why


def _class_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _id_column(df: pd.DataFrame, given: str, target: str) -> tuple[str, bool, str]:
    if given:
        column = _require_column(df, given, "id_column")
        _check_ids(df[column], column)
        return column, False, f"id column {column}, as given"
    for column in df.columns:
        if column != target and (column == "id" or column.endswith("_id")):
            ids = df[column]
            if ids.notna().all() and ids.is_unique:
                return column, False, f"id column {column}: its name says so and it is unique"
    column = "row_id"
    while column in df.columns:
        column = f"_{column}"
    return column, True, f"no id column: the kit adds {column}, a hash of each row's values"


def _check_ids(ids: pd.Series, column: str) -> None:
    missing = int(ids.isna().sum())
    if missing:
        raise MLAccelInputError(
            f"id column {column!r} is empty in {missing:,} rows: ids must be complete "
            "(or leave id_column empty and the kit adds one)"
        )
    duplicated = ids[ids.duplicated(keep=False)]
    if not duplicated.empty:
        examples = [str(v) for v in duplicated.unique()[:3]]
        raise MLAccelInputError(
            f"id column {column!r} repeats {duplicated.nunique():,} ids (e.g. {examples}): ids "
            "must be unique so scores and ground truth join; fix the source, or leave id_column "
            "empty and the kit adds one"
        )


def _same_as_target(column: pd.Series, target: pd.Series, sample: int = 1000) -> bool:
    """Whether ``column`` holds the target's values, row for row (as label text). The first
    ``sample`` rows decide cheaply for nearly every column; only a match there is checked in
    full."""

    def same(rows: slice) -> bool:
        try:
            return bool(column.iloc[rows].map(label_text).equals(target.iloc[rows].map(label_text)))
        except (TypeError, ValueError):
            return False

    return same(slice(0, sample)) and (len(column) <= sample or same(slice(None)))


def _feature_kind(values: pd.Series, n_rows: int) -> tuple[str, str]:
    """``(kind, note)`` for a column: kind is numeric, categorical, datetime, or "" (left out,
    the note saying why)."""
    import pandas as pd

    present = values.dropna()
    if present.empty:
        return "", "empty in every row"
    if present.nunique() == 1:
        return "", f"constant ({str(present.iloc[0])[:30]!r} in every row)"
    if pd.api.types.is_bool_dtype(values):
        return "categorical", ""
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime", ""
    if pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_integer_dtype(values) and _is_counter(present):
            return "", "a running number, unique per row: an id, not a feature"
        return "numeric", ""
    text = present.astype(str)
    as_numbers = pd.to_numeric(text, errors="coerce")
    if as_numbers.notna().mean() >= PARSE_SHARE:
        bad = int(as_numbers.isna().sum())
        return "numeric", (
            "numbers stored as text" + (f"; {bad:,} values are not numbers" if bad else "")
        )
    if _parses_as_dates(text):
        return "datetime", "dates stored as text"
    distinct = text.nunique()
    if distinct > max(MAX_CLASSES, NEAR_UNIQUE_SHARE * len(text)):
        if text.str.len().mean() > FREE_TEXT_CHARS:
            return "", f"free text ({distinct:,} distinct values)"
        return "", f"near-unique text ({distinct:,} distinct values in {len(text):,} rows): an id"
    return "categorical", ""


def _is_counter(values: pd.Series) -> bool:
    """Unique whole numbers one apart once sorted: a row number, not a measurement."""
    if not values.is_unique or len(values) < 20:
        return False
    ordered = values.sort_values().to_numpy()
    return bool((ordered[1:] - ordered[:-1] == 1).all())


def _parses_as_dates(text: pd.Series) -> bool:
    import pandas as pd

    sample = text.head(1000)
    if not sample.str.contains(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= PARSE_SHARE)


def with_features(product: DataProduct, features: Iterable[str]) -> DataProduct:
    """``product`` keeping only ``features`` (in their kinds), the rest left out by request."""
    keep = list(features)
    unknown = [c for c in keep if c not in product.features]
    if unknown:
        raise MLAccelInputError(f"{unknown} are not features of {product.name}: {product.features}")
    dropped = {c: "left out by request" for c in product.features if c not in keep}
    return replace(
        product,
        numeric_features=tuple(c for c in product.numeric_features if c in keep),
        categorical_features=tuple(c for c in product.categorical_features if c in keep),
        datetime_features=tuple(c for c in product.datetime_features if c in keep),
        excluded={**product.excluded, **dropped},
    )
