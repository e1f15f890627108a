"""Profiling for the explore notebook: tables and plots a person can read at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class QualityIssue:
    """A data-quality problem found while profiling: which column, what, and how bad."""

    column: str
    problem: str
    detail: str


def _require_frame(df: Any, name: str = "df") -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise MLAccelInputError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise MLAccelInputError(f"{name} is empty: profile a table with at least one row")


def profile(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, missing share, distinct values, and summary statistics.

    Examples
    --------
    >>> profile(pd.DataFrame({"a": [1, 2, None]})).loc["a", "missing_pct"]  # doctest: +SKIP
    33.3
    """
    import numpy as np
    import pandas as pd

    _require_frame(df)
    rows = []
    for column in df.columns:
        values = df[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        row: dict[str, Any] = {
            "column": column,
            "dtype": str(values.dtype),
            "kind": "numeric" if numeric else "categorical",
            "missing_pct": round(100 * float(values.isna().mean()), 2),
            "distinct": int(values.nunique(dropna=True)),
        }
        if numeric:
            finite = values[np.isfinite(values.astype("float64"))]
            row.update(
                mean=float(finite.mean()) if len(finite) else np.nan,
                std=float(finite.std()) if len(finite) > 1 else np.nan,
                min=float(finite.min()) if len(finite) else np.nan,
                median=float(finite.median()) if len(finite) else np.nan,
                max=float(finite.max()) if len(finite) else np.nan,
                skew=float(finite.skew()) if len(finite) > 2 else np.nan,
            )
        else:
            top = values.value_counts(dropna=True)
            row.update(top=str(top.index[0]) if len(top) else None)
            row.update(top_pct=round(100 * float(top.iloc[0]) / len(values), 2) if len(top) else 0)
        rows.append(row)
    return pd.DataFrame(rows).set_index("column")


def find_quality_issues(
    df: pd.DataFrame,
    *,
    missing_threshold_pct: float = 5.0,
    skew_threshold: float = 2.0,
    id_columns: tuple[str, ...] = (),
) -> list[QualityIssue]:
    """Problems worth a note before feature engineering: missing values, skew, constants,
    infinities, duplicate ids and rare categories."""
    import numpy as np

    summary = profile(df)
    issues: list[QualityIssue] = []
    for column, row in summary.iterrows():
        name = str(column)
        if row["missing_pct"] > missing_threshold_pct:
            issues.append(QualityIssue(name, "missing values", f"{row['missing_pct']}% missing"))
        if row["distinct"] <= 1:
            issues.append(QualityIssue(name, "constant", "a single value: it carries no signal"))
        if row["kind"] == "numeric":
            values = df[name].astype("float64")
            n_inf = int(np.isinf(values).sum())
            if n_inf:
                issues.append(QualityIssue(name, "infinite values", f"{n_inf} rows are ±inf"))
            if abs(row.get("skew", 0) or 0) > skew_threshold:
                issues.append(
                    QualityIssue(name, "skewed", f"skew {row['skew']:.1f}: consider a log scale")
                )
        elif name not in id_columns:
            shares = df[name].value_counts(normalize=True)
            rare = shares[shares < 0.01]
            if len(rare):
                issues.append(
                    QualityIssue(
                        name, "rare categories", f"{len(rare)} categories under 1% of rows"
                    )
                )
    for name in id_columns:
        duplicated = int(df[name].duplicated().sum())
        if duplicated:
            issues.append(QualityIssue(name, "duplicate ids", f"{duplicated} repeated ids"))
    return issues


def issues_frame(issues: list[QualityIssue]) -> pd.DataFrame:
    """Quality issues as a table for display."""
    import pandas as pd

    return pd.DataFrame([i.__dict__ for i in issues], columns=["column", "problem", "detail"])


def plot_distributions(
    df: pd.DataFrame, columns: list[str] | None = None, *, max_categories: int = 12
) -> Figure:
    """A grid of histograms (numeric columns) and bar charts (categorical columns)."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    _require_frame(df)
    columns = list(columns or df.columns)
    _require_columns(df, columns, "columns")
    n_cols = 3
    n_rows = int(np.ceil(len(columns) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 2.8 * n_rows), squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=False):
        values = df[column].dropna()
        if pd.api.types.is_numeric_dtype(values):
            ax.hist(values[np.isfinite(values)], bins=40, color="#3b75af", alpha=0.85)
        else:
            counts = values.astype(str).value_counts().head(max_categories)
            ax.barh(counts.index[::-1], counts.values[::-1], color="#e1812c")
        missing = df[column].isna().mean() * 100
        ax.set_title(f"{column}  ({missing:.1f}% missing)", fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(columns) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_correlations(df: pd.DataFrame) -> Figure:
    """Heat map of the Pearson correlations between numeric columns, values written in."""
    import matplotlib.pyplot as plt

    _require_frame(df)
    corr = df.select_dtypes("number").corr()
    if corr.empty:
        raise MLAccelInputError("df has no numeric columns to correlate")
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(corr), 0.6 + 0.6 * len(corr)))
    image = ax.imshow(corr.values, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(corr)), corr.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(corr)), corr.columns, fontsize=8)
    for i in range(len(corr)):
        for j in range(len(corr)):
            ax.text(j, i, f"{corr.values[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def plot_target_relationships(
    df: pd.DataFrame, target: str, columns: list[str] | None = None, *, max_categories: int = 10
) -> Figure:
    """How the target moves with each feature: binned means for numeric features, group means
    for categorical ones (for a 0/1 target, the mean is the positive rate; for a target of
    text, the share of its most common class)."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    _require_frame(df)
    _require_columns(df, [target], "target")
    columns = [c for c in (columns or list(df.columns)) if c != target]
    _require_columns(df, columns, "columns")
    label = f"mean {target}"
    if not pd.api.types.is_numeric_dtype(df[target]) or pd.api.types.is_bool_dtype(df[target]):
        common = df[target].astype(str).mode().iloc[0]
        df = df.assign(**{target: (df[target].astype(str) == common).astype(float)})
        label = f"share of {target}={common}"
    n_cols = 3
    n_rows = int(np.ceil(len(columns) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 2.8 * n_rows), squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=False):
        values = df[column]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > max_categories:
            bins = pd.qcut(values, q=10, duplicates="drop")
            means = df.groupby(bins, observed=True)[target].mean()
            ax.plot(range(len(means)), means.values, marker="o", color="#3b75af")
            ax.set_xticks(range(len(means)), [f"{iv.mid:.3g}" for iv in means.index], fontsize=7)
        else:
            means = df.groupby(values.astype(str), observed=True)[target].mean()
            means = means.sort_values().tail(max_categories)
            ax.barh(means.index, means.values, color="#e1812c")
        ax.set_title(f"{label} by {column}", fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(columns) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _require_columns(df: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MLAccelInputError(
            f"{name} names columns the table does not have: {missing}; it has {list(df.columns)}"
        )
