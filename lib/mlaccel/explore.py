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
            stats = {
                "mean": float(finite.mean()) if len(finite) else np.nan,
                "std": float(finite.std()) if len(finite) > 1 else np.nan,
                "min": float(finite.min()) if len(finite) else np.nan,
                "median": float(finite.median()) if len(finite) else np.nan,
                "max": float(finite.max()) if len(finite) else np.nan,
                "skew": float(finite.skew()) if len(finite) > 2 else np.nan,
            }
            # five significant digits: what a reader compares, without float noise
            row.update({k: float(f"{v:.5g}") for k, v in stats.items()})
        else:
            top = values.value_counts(dropna=True)
            row.update(top=str(top.index[0]) if len(top) else None)
            row.update(top_pct=round(100 * float(top.iloc[0]) / len(values), 2) if len(top) else 0)
        rows.append(row)
    return pd.DataFrame(rows).set_index("column")


# A column missing more than this share of values deserves a look at why before it is
# imputed: the imputed value then stands for many rows, and a missing flag may carry more
# signal than the column. Below it, imputation (notebook 02) is routine.
MISSING_REVIEW_PCT = 5.0
SKEW_THRESHOLD = 2.0
RARE_SHARE = 0.01  # categories under this share of rows


def find_quality_issues(
    df: pd.DataFrame,
    *,
    missing_threshold_pct: float = MISSING_REVIEW_PCT,
    skew_threshold: float = SKEW_THRESHOLD,
    id_columns: tuple[str, ...] = (),
) -> list[QualityIssue]:
    """Problems worth a note before feature engineering: missing values (every column that has
    any; above ``missing_threshold_pct`` percent flagged for review), skew, constants,
    infinities, duplicate ids and rare categories."""
    import numpy as np

    summary = profile(df)
    issues: list[QualityIssue] = []
    for column, row in summary.iterrows():
        name = str(column)
        if row["missing_pct"] > 0:
            issues.append(
                QualityIssue(
                    name, "missing values", _missing_detail(row, name, df, missing_threshold_pct)
                )
            )
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
            rare = shares[shares < RARE_SHARE]
            if len(rare):
                issues.append(
                    QualityIssue(
                        name,
                        "rare categories",
                        f"{_plural(len(rare), 'category')} under {RARE_SHARE:.0%} of rows",
                    )
                )
    for name in id_columns:
        duplicated = int(df[name].duplicated().sum())
        if duplicated:
            issues.append(QualityIssue(name, "duplicate ids", f"{duplicated} repeated ids"))
    return issues


def _missing_detail(row: Any, name: str, df: pd.DataFrame, review_pct: float) -> str:
    count = int(df[name].isna().sum())
    share = f"{row['missing_pct']:g}% missing ({count:,} rows)"
    if row["missing_pct"] > review_pct:
        return f"{share}: over {review_pct:g}%, review"
    return f"{share}: " + ("median + missing flag" if row["kind"] == "numeric" else "own category")


def issues_frame(issues: list[QualityIssue]) -> pd.DataFrame:
    """Quality issues as a table for display."""
    import pandas as pd

    return pd.DataFrame([i.__dict__ for i in issues], columns=["column", "problem", "detail"])


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n:,} {word}"
    return f"{n:,} {word[:-1]}ies" if word.endswith("y") else f"{n:,} {word}s"


def _join(items: list[str], limit: int = 8) -> str:
    shown = items[:limit]
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _num(value: float, scale: float | None = None) -> str:
    """A number as a person reads it: thousands separators from 10,000 (a year stays 2019),
    three significant digits below 1,000.

    Examples
    --------
    >>> _num(762100.0), _num(0.06849), _num(2019.4)
    ('762,100', '0.0685', '2019')
    """
    size = abs(value if scale is None else scale)  # numbers compared share one format
    if size >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.0f}" if size >= 1000 else f"{value:.3g}"


def _names(names: list[str]) -> str:
    return _join([f"`{n}`" for n in names])


def describe_profile(summary: pd.DataFrame, *, id_columns: tuple[str, ...] = ()) -> str:
    """Sentences that read a :func:`profile` table: kinds of columns, gaps, cardinality, skew.

    Examples
    --------
    >>> import pandas as pd
    >>> describe_profile(profile(pd.DataFrame({"a": [1, 2, None]})))  # doctest: +ELLIPSIS
    '1 column: 1 numeric and 0 categorical. `a` (33.33%) has missing values. ...'
    """
    kinds = summary["kind"].value_counts()
    sentences = [
        f"{_plural(len(summary), 'column')}: {int(kinds.get('numeric', 0))} numeric and "
        f"{int(kinds.get('categorical', 0))} categorical."
    ]
    gaps = summary[summary["missing_pct"] > 0].sort_values("missing_pct", ascending=False)
    if gaps.empty:
        sentences.append("No column has missing values.")
    else:
        listed = [f"`{c}` ({p:g}%)" for c, p in gaps["missing_pct"].items()]
        verb = "has" if len(gaps) == 1 else "have"
        sentences.append(f"{_join(listed)} {verb} missing values.")
    categorical = summary[(summary["kind"] == "categorical") & ~summary.index.isin(id_columns)]
    if not categorical.empty:
        widest = categorical["distinct"].idxmax()
        sentences.append(
            f"The categorical column with the most distinct values is `{widest}` "
            f"({int(categorical.loc[widest, 'distinct']):,}); one-hot encoding adds a column "
            "per value."
        )
    numeric = summary[summary["kind"] == "numeric"]
    if "skew" in summary and not numeric.empty:
        skewed = numeric[numeric["skew"].abs() > SKEW_THRESHOLD]
        if skewed.empty:
            sentences.append(
                f"No numeric column is strongly skewed (|skew| above {SKEW_THRESHOLD:g})."
            )
        else:
            sentences.append(
                f"{_names([str(c) for c in skewed.index])} {'is' if len(skewed) == 1 else 'are'} "
                f"strongly skewed (|skew| above {SKEW_THRESHOLD:g}): a few large values dominate "
                "their mean; trees cope, a linear model may need a log scale."
            )
    return " ".join(sentences)


def describe_issues(issues: list[QualityIssue], *, review_pct: float = MISSING_REVIEW_PCT) -> str:
    """Sentences that read the issues table: how many, of which kinds, and what each kind
    asks of feature engineering.

    Examples
    --------
    >>> describe_issues([])
    'No data-quality issue found in the sample: no missing values, ...'
    """
    if not issues:
        return (
            "No data-quality issue found in the sample: no missing values, constant columns, "
            "infinite values, strong skew, rare categories or repeated ids."
        )
    by_problem: dict[str, list[str]] = {}
    for issue in issues:
        by_problem.setdefault(issue.problem, []).append(issue.column)
    advice = {
        "missing values": (
            "feature engineering imputes them; a share above "
            f"{review_pct:g}% is worth a look at why values are missing before trusting "
            "the imputed value"
        ),
        "skewed": "trees cope with skew; a linear model may need a log scale",
        "constant": "a constant column carries no signal and can be dropped",
        "infinite values": "infinite values must be replaced or dropped before training",
        "rare categories": (
            "rare categories give one-hot columns with few rows; values unseen in training "
            "fall into an unknown bucket"
        ),
        "duplicate ids": "repeated ids break joins of scores with ground truth",
    }
    parts = [
        f"{_names(columns)} ({problem}): {advice.get(problem, 'see the detail column')}."
        for problem, columns in by_problem.items()
    ]
    return f"{_plural(len(issues), 'issue')} in the sample. " + " ".join(parts)


def describe_storage(table_info: pd.DataFrame) -> str:
    """How a table is stored, from its catalog entry (a row of ``data.list_tables``): where,
    and whether it is partitioned, so the text says what the catalog says.

    Examples
    --------
    >>> import pandas as pd
    >>> describe_storage(pd.DataFrame([{"table": "t", "location": "s3://b/t/",
    ...                                 "partition_keys": []}]))  # doctest: +ELLIPSIS
    'Table `t` is stored as files under `s3://b/t/` without partitions: ...'
    """
    if len(table_info) != 1:
        raise MLAccelInputError(
            f"table_info has {len(table_info)} rows; pass the one catalog row of the table "
            "(data.list_tables(...) filtered on its name)"
        )
    row = table_info.iloc[0]
    keys = list(row["partition_keys"] or [])
    where = f"Table `{row['table']}` is stored as files under `{row['location']}`"
    if not keys:
        return (
            f"{where} without partitions: every query reads all its files. Partitioning by a "
            "column that queries filter on (a date, a region) would let them read less."
        )
    return (
        f"{where}, partitioned by {_names(keys)} (one folder per value): queries that "
        "filter on them read only the matching folders."
    )


def describe_correlations(corr: pd.DataFrame, *, target: str | None = None, top: int = 3) -> str:
    """Sentences that read a correlation matrix: the strongest pairs, and the features most
    correlated with ``target`` when it is one of the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> corr = pd.DataFrame({"a": [1, 2, 3], "b": [2, 4, 7]}).corr()
    >>> describe_correlations(corr)  # doctest: +ELLIPSIS
    'The strongest correlation is `a` with `b` (0.99): ...'
    """
    import numpy as np

    names = list(corr.columns)
    if len(names) < 2:
        return "Only one numeric column: there is no pair to correlate."
    pairs = [
        (names[i], names[j], float(corr.iloc[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if (target is None or target not in (names[i], names[j])) and np.isfinite(corr.iloc[i, j])
    ]
    sentences = []
    if pairs:
        a, b, r = max(pairs, key=lambda p: abs(p[2]))
        strength = "strong" if abs(r) >= 0.7 else "moderate" if abs(r) >= 0.3 else "weak"
        sentences.append(
            f"The strongest correlation is `{a}` with `{b}` ({r:.2f}): {strength}"
            + (
                "; the two carry overlapping information: trees cope, a linear model splits "
                "the weight between them."
                if strength == "strong"
                else ", so the two partly overlap."
                if strength == "moderate"
                else ", so the features carry mostly separate information."
            )
        )
    if target is not None and target in names:
        with_target = corr[target].drop(target).dropna()
        ranked = with_target.reindex(with_target.abs().sort_values(ascending=False).index)
        if ranked.empty:
            sentences.append(f"No feature has a defined correlation with `{target}`.")
        else:
            listed = [f"`{c}` ({v:+.2f})" for c, v in ranked.head(top).items()]
            sentences.append(
                f"With the target `{target}`, the most correlated are {_join(listed)}; "
                "correlation measures straight-line relations only, so the plots below "
                "show the rest."
            )
    sentences.append("Pearson correlation is read on rows where both values are present.")
    return " ".join(sentences)


def class_of_interest(product: Any, df: pd.DataFrame) -> str | None:
    """The class whose share the target plots show: a binary product's positive class, the
    commonest class of a multiclass product in ``df``; None for regression (the mean).

    Examples
    --------
    >>> import pandas as pd
    >>> from mlaccel.products import DataProduct
    >>> wine = DataProduct("wine", "kind", "multiclass", "id", ("x",), classes=("0", "1", "2"))
    >>> class_of_interest(wine, pd.DataFrame({"kind": [0, 2, 2]}))
    '2'
    """
    from mlaccel.products import label_text

    if product.problem_type == "binary":
        return str(product.positive_class)
    if product.problem_type == "multiclass":
        _require_columns(df, [product.target], "target")
        return str(df[product.target].dropna().map(label_text).mode().iloc[0])
    return None


def _format_axis(axis: Any, values: Any) -> None:
    """Integer ticks for integer values, thousands separators for large numbers, at most
    five ticks so labels do not overlap."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    finite = np.asarray(values, dtype="float64")
    finite = finite[np.isfinite(finite)]
    integral = finite.size > 0 and bool(np.all(finite == np.round(finite)))
    axis.set_major_locator(MaxNLocator(nbins=5, integer=integral))
    large = finite.size > 0 and float(np.abs(finite).max()) >= 10_000
    if large:
        axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    elif integral:
        axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))


def _is_number(values: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _grid(n_panels: int) -> tuple[Figure, Any]:
    import matplotlib.pyplot as plt

    n_cols = min(3, max(1, n_panels))
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.4 * n_cols, 3.2 * n_rows), squeeze=False)
    for ax in list(axes.flat)[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def plot_distributions(
    df: pd.DataFrame, columns: list[str] | None = None, *, max_categories: int = 12
) -> Figure:
    """A grid with one panel per column: a histogram of a number (a bar per value for whole
    numbers with few values), the counts of the commonest categories otherwise. Every panel
    has its axes labelled; the figure's label is its alternative text."""
    import numpy as np

    _require_frame(df)
    columns = list(columns or df.columns)
    _require_columns(df, columns, "columns")
    fig, axes = _grid(len(columns))
    for ax, column in zip(axes.flat, columns, strict=False):
        values = df[column].dropna()
        title = f"{column} ({100 * df[column].isna().mean():.1f}% missing)"
        if _is_number(values):
            numbers = values.astype("float64")
            numbers = numbers[np.isfinite(numbers)]
            distinct = np.unique(numbers)
            if len(distinct) <= 30 and np.all(distinct == np.round(distinct)):
                counts = numbers.value_counts().sort_index()
                ax.bar(counts.index, counts.values, color="#3b75af", width=0.8)
            else:
                ax.hist(numbers, bins=40, color="#3b75af", alpha=0.85)
            ax.set_xlabel(column)
            ax.set_ylabel("rows")
            _format_axis(ax.xaxis, numbers)
        else:
            all_counts = values.astype(str).value_counts()
            counts = all_counts.head(max_categories)
            ax.barh(counts.index[::-1], counts.values[::-1], color="#e1812c")
            ax.set_xlabel("rows")
            ax.set_ylabel(column)
            if len(all_counts) > len(counts):
                title = f"{column}: top {len(counts)} of {len(all_counts):,} values"
        _format_axis(ax.xaxis if not _is_number(values) else ax.yaxis, [0, len(df)])
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.set_label(
        f"Distributions of {_plural(len(columns), 'column')} ({', '.join(columns[:12])}"
        f"{', …' if len(columns) > 12 else ''}): row counts per value range or category."
    )
    return fig


def describe_distributions(df: pd.DataFrame, columns: list[str]) -> str:
    """Sentences that read :func:`plot_distributions`: the numbers with the longest tail and
    the categorical columns most dominated by one value.

    Examples
    --------
    >>> import pandas as pd
    >>> describe_distributions(pd.DataFrame({"c": ["a", "a", "a", "b"]}), ["c"])
    'In `c`, the commonest value covers 75% of rows. Bars show row counts per category...'
    """
    summary = profile(df[columns])
    sentences = []
    numeric = summary[summary["kind"] == "numeric"]
    numeric = numeric.dropna(subset=["skew"]) if "skew" in numeric else numeric.iloc[0:0]
    if not numeric.empty:
        tail = numeric["skew"].abs().idxmax()
        row = numeric.loc[tail]
        side, end, extreme = ("right", "maximum", row["max"])
        if row["skew"] < 0:
            side, end, extreme = ("left", "minimum", row["min"])
        sentences.append(
            f"Among the numbers, `{tail}` has the longest tail (skew {row['skew']:.1f}, to the "
            f"{side}): its median is {_num(row['median'])}, its {end} {_num(extreme)}."
        )
    categorical = summary[summary["kind"] == "categorical"]
    if not categorical.empty and "top_pct" in categorical:
        top = categorical["top_pct"].astype("float64").idxmax()
        sentences.append(
            f"In `{top}`, the commonest value covers {categorical.loc[top, 'top_pct']:g}% of rows."
        )
    sentences.append(
        "Bars show row counts per category (the commonest first), histograms row counts per "
        "range of a number, and bars per value for whole numbers with few values."
    )
    return " ".join(sentences)


def plot_correlations(df: pd.DataFrame) -> Figure:
    """Heat map of the Pearson correlations between numeric columns, values written in."""
    import matplotlib.pyplot as plt

    _require_frame(df)
    corr = df.select_dtypes("number").corr()
    if corr.empty:
        raise MLAccelInputError("df has no numeric columns to correlate")
    size = len(corr)
    # at most about 9 inches wide: wider images overflow a notebook's output area
    fig, ax = plt.subplots(figsize=(min(2.5 + 0.65 * size, 9.0), min(1.5 + 0.55 * size, 8.0)))
    image = ax.imshow(corr.values, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(size), corr.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(size), corr.columns, fontsize=8)
    for i in range(size):
        for j in range(size):
            value = corr.values[i, j]
            color = "white" if abs(value) > 0.6 else "black"  # readable on dark cells
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=color)
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label("Pearson correlation (−1 to 1)")
    ax.set_title("Correlations between numeric columns", fontsize=10)
    fig.tight_layout()
    fig.set_label(
        f"Heat map of the Pearson correlations between {_plural(size, 'numeric column')} "
        f"({', '.join(map(str, corr.columns))}), red positive, blue negative, values written in."
    )
    return fig


def target_view(
    df: pd.DataFrame, target: str, share_of: str | None = None
) -> tuple[pd.DataFrame, str]:
    """``df`` with the target as the plots read it, and its label: the target itself for a
    number (``mean <target>``), else 1 for rows of class ``share_of`` (default: the most common
    class), 0 for the others (``share <target>=<class>``)."""
    from mlaccel.products import label_text

    _require_frame(df)
    _require_columns(df, [target], "target")
    if share_of is None and _is_number(df[target]):
        return df, f"mean {target}"
    texts = df[target].map(label_text, na_action="ignore")
    chosen = share_of if share_of is not None else str(texts.mode().iloc[0])
    if chosen not in set(texts.dropna()):
        raise MLAccelInputError(
            f"share_of={chosen!r} is not a value of {target}; pick one of "
            f"{sorted(set(texts.dropna()))[:10]}"
        )
    viewed = df.assign(**{target: (texts == chosen).astype(float).where(texts.notna())})
    return viewed, f"share {target}={chosen}"


def _target_means(
    df: pd.DataFrame, target: str, column: str, max_categories: int, min_share: float = 0.0
) -> tuple[pd.Series, str]:
    """The target's mean per value (whole numbers with few values), per decile (other numbers,
    indexed by the decile's midpoint) or per category, over groups holding at least
    ``min_share`` of the rows; and how the groups were made."""
    import numpy as np
    import pandas as pd

    values = df[column]
    grouping = "category"
    keys: Any = values.astype(str)
    if _is_number(values):
        numbers = values.astype("float64")
        distinct = numbers.dropna().unique()
        grouping = "value"
        keys = numbers
        if len(distinct) > max_categories * 3 or not np.all(distinct == np.round(distinct)):
            grouping = "decile"
            keys = pd.qcut(numbers, q=10, duplicates="drop")
    groups = df.groupby(keys, observed=True)[target]
    means = groups.mean()[groups.size() >= min_share * len(df)]
    if grouping == "decile":
        means.index = pd.Index([iv.mid for iv in means.index], dtype="float64")
    return (means.sort_values() if grouping == "category" else means), grouping


def plot_target_relationships(
    df: pd.DataFrame,
    target: str,
    columns: list[str] | None = None,
    *,
    max_categories: int = 10,
    share_of: str | None = None,
) -> Figure:
    """How the target moves with each feature: its mean per decile of a number (per value for
    whole numbers with few values), per category otherwise (:func:`target_view` says what the
    mean is of a classification target)."""
    viewed, label = target_view(df, target, share_of)
    columns = [c for c in (columns or list(df.columns)) if c != target]
    _require_columns(df, columns, "columns")
    fig, axes = _grid(len(columns))
    for ax, column in zip(axes.flat, columns, strict=False):
        means, grouping = _target_means(viewed, target, column, max_categories)
        if grouping == "category":
            means = means.tail(max_categories)
            ax.barh(means.index, means.values, color="#e1812c")
            ax.set_xlabel(label)
            ax.set_ylabel(column)
            _format_axis(ax.xaxis, means.values)
        else:
            x = means.index.to_numpy(dtype="float64")
            ax.plot(x, means.values, marker="o", color="#3b75af")
            ax.set_xlabel(column if grouping == "value" else f"{column} (decile midpoints)")
            ax.set_ylabel(label)
            if means.min() >= 0:  # from zero, so a small wobble does not look like a trend
                ax.set_ylim(bottom=0, top=float(means.max()) * 1.08 or 1.0)
            _format_axis(ax.xaxis, x)
            _format_axis(ax.yaxis, means.values)
            ax.tick_params(axis="x", labelrotation=30)
        ax.set_title(f"{label} by {column}", fontsize=10)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.set_label(
        f"{label.capitalize()} against each of {_plural(len(columns), 'feature')} "
        f"({', '.join(columns[:12])}{', …' if len(columns) > 12 else ''}): lines for numbers, "
        "bars for categories."
    )
    return fig


def describe_target_relationships(
    df: pd.DataFrame,
    target: str,
    columns: list[str],
    *,
    max_categories: int = 10,
    share_of: str | None = None,
    top: int = 3,
    min_share: float = RARE_SHARE,
) -> str:
    """Sentences that read :func:`plot_target_relationships`: the features whose groups move
    the target's mean most and least (the range of the group means), and the direction of
    the strongest numeric one. Groups under ``min_share`` of the rows are left out: a handful
    of rows gives a mean that swings by chance.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1, 2, 3, 4] * 5, "c": ["a", "b"] * 10, "y": [1, 2, 3, 4] * 5})
    >>> describe_target_relationships(df, "y", ["x", "c"])  # doctest: +ELLIPSIS
    'Mean y moves most with `x` (group means from 1 to 4, rising with it)...'
    """
    import numpy as np

    viewed, label = target_view(df, target, share_of)
    columns = [c for c in columns if c != target]
    _require_columns(df, columns, "columns")
    if not columns:
        return "No feature to relate the target to."
    spreads = []
    for column in columns:
        means, grouping = _target_means(viewed, target, column, max_categories, min_share)
        means = means.dropna()
        if len(means) < 2:
            continue
        direction = ""
        if grouping != "category":
            slope = np.corrcoef(means.index.to_numpy(dtype="float64"), means.to_numpy())[0, 1]
            if np.isfinite(slope) and abs(slope) >= 0.8:
                direction = ", rising with it" if slope > 0 else ", falling as it grows"
        spreads.append((column, float(means.min()), float(means.max()), direction))
    if not spreads:
        return f"No feature has two or more groups to compare {label} across."
    spreads.sort(key=lambda item: item[2] - item[1], reverse=True)
    listed = [
        f"`{c}` (group means from {_num(lo, hi)} to {_num(hi)}{d})" for c, lo, hi, d in spreads
    ]
    text = f"{label.capitalize()} moves most with {_join(listed[:top])}."
    if len(spreads) > top:
        text += f" It moves least with `{spreads[-1][0]}`."
    return text + (
        " A wide range marks a feature the model is likely to use; a flat one may still help "
        "together with others."
    )


def _require_columns(df: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MLAccelInputError(
            f"{name} names columns the table does not have: {missing}; it has {list(df.columns)}"
        )
