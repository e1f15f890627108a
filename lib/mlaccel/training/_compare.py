"""Comparing trained models: the table, the winner, the chart and the sentences that read them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlaccel import products
from mlaccel.errors import MLAccelInputError
from mlaccel.training._jobs import TrainedModel, test_metrics
from mlaccel.training._objective import objective_for

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def compare_models(models: list[TrainedModel], product: products.DataProduct) -> pd.DataFrame:
    """One row per model: its test metrics, best first by the product's objective.

    Every model must have been evaluated (:func:`evaluate`) and carry its own label.
    """
    import pandas as pd

    objective = objective_for(product)
    labels = [m.label for m in models] if isinstance(models, list | tuple) else []
    if not labels:
        raise MLAccelInputError(
            f"models={models!r} must be a non-empty list of TrainedModel; train some first"
        )
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise MLAccelInputError(
            f"models has the labels {twice} more than once; give each model its own label"
        )
    rows = [{"model": m.label, "job": m.job_name, **test_metrics(m)} for m in models]
    lacking = [row["model"] for row in rows if objective.test_metric not in row]
    if lacking:
        raise MLAccelInputError(
            f"the evaluations of {lacking} have no test {objective.test_metric!r}, the objective "
            f"of {product.name!r}; evaluate them on the features of {product.name!r}"
        )
    table = pd.DataFrame(rows).set_index("model")
    return table.sort_values(objective.test_metric, ascending=objective.direction == "Minimize")


def best_model(models: list[TrainedModel], product: products.DataProduct) -> TrainedModel:
    """The model that wins on the product's test objective."""
    table = compare_models(models, product)
    return next(m for m in models if m.label == table.index[0])


def plot_comparison(table: pd.DataFrame, product: products.DataProduct) -> Figure:
    """A bar chart of the objective metric per model, the winner highlighted; the figure's
    label (its alternative text) names the winner."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    objective = objective_for(product)
    values = table[objective.test_metric]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.5 * len(values)))
    colors = ["#2a9d8f" if i == 0 else "#b0bec5" for i in range(len(values))]
    ax.barh(values.index[::-1], values.values[::-1], color=colors[::-1])
    for y, value in enumerate(values.values[::-1]):
        ax.text(value, y, f" {value:,.4g}", va="center", fontsize=9)
    better = "lower" if objective.direction == "Minimize" else "higher"
    ax.set_xlabel(f"test {objective.test_metric} ({better} is better)")
    ax.set_ylabel("model")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.margins(x=0.15)  # room for the value written after the longest bar
    ax.set_title(f"Models on the held-out test split: {objective.test_metric}", fontsize=10)
    fig.tight_layout()
    fig.set_label(
        f"Bar chart of the test {objective.test_metric} of {len(values)} models, "
        f"{better} is better; {values.index[0]} wins with {values.iloc[0]:,.4g}."
    )
    return fig


def metrics_table(models: list[TrainedModel]) -> pd.DataFrame:
    """One row per model: the final metrics its training job reported (validation, and train
    where the algorithm reports it); a metric a job did not report is left empty."""
    import pandas as pd

    return pd.DataFrame({m.label: m.metrics for m in models}).T.rename_axis("model")


def describe_tuning(table: pd.DataFrame, product: products.DataProduct) -> str:
    """Sentences that read a tuning table (:func:`tuning_result`): how many trials, the best
    one's hyperparameters, and how much the search mattered.

    Examples
    --------
    >>> import pandas as pd
    >>> p = products.DataProduct("p", "y", "regression", "id", ("x",))
    >>> describe_tuning(pd.DataFrame(), p)
    'The tuning job has no trials to read.'
    """
    import numpy as np

    objective = objective_for(product)
    if table.empty or "FinalObjectiveValue" not in table:
        return "The tuning job has no trials to read."
    finished = table[np.isfinite(table["FinalObjectiveValue"].astype("float64"))]
    failed = len(table) - len(finished)
    failed_text = f" {failed} trial(s) reported no objective: read their logs." if failed else ""
    if finished.empty:
        return f"None of the {len(table)} trials reported {objective.metric}.{failed_text}"
    tuned = [
        c
        for c in table.columns
        if c not in ("FinalObjectiveValue", "TrainingJobStatus", "TrainingJobName")
    ]
    best = finished.iloc[0]
    settings = ", ".join(
        f"{c}={best[c]:.3g}" if isinstance(best[c], float) else f"{c}={best[c]}" for c in tuned
    )
    text = (
        f"{len(table)} trials ({objective.direction.lower()} {objective.metric}); the best, "
        f"`{best['TrainingJobName']}`, reached {best['FinalObjectiveValue']:,.4g} with {settings}."
    )
    if len(finished) > 1:
        worst = float(finished["FinalObjectiveValue"].iloc[-1])
        gap = abs(worst - float(best["FinalObjectiveValue"])) / max(abs(worst), 1e-12)
        text += (
            f" The worst reached {worst:,.4g}: the search moved the validation metric by "
            f"{gap:.1%}"
            + (
                ", so these ranges matter little for this data; more trials would not pay."
                if gap < 0.02
                else "; more trials or narrower ranges around the best may gain more."
            )
        )
    return text + failed_text


def describe_comparison(
    table: pd.DataFrame, product: products.DataProduct, *, baseline: str = "linear baseline"
) -> str:
    """Sentences that read the comparison table (:func:`compare_models`): the winner, its
    margin over the runner-up and over ``baseline`` (when it is one of the rows).

    Examples
    --------
    >>> import pandas as pd
    >>> p = products.DataProduct("p", "y", "regression", "id", ("x",))
    >>> describe_comparison(pd.DataFrame({"rmse": [9.0]}, index=["only"]), p)
    'On the held-out test split, `only` has rmse 9 (lower is better); it is the only model.'
    """
    objective = objective_for(product)
    metric = objective.test_metric
    values = table[metric].astype("float64")
    winner, best = str(values.index[0]), float(values.iloc[0])
    better = "lower" if objective.direction == "Minimize" else "higher"
    text = f"On the held-out test split, `{winner}` has {metric} {best:,.4g} ({better} is better)"
    if len(values) == 1:
        return text + "; it is the only model."

    def margin(other: float) -> str:
        share = abs(other - best) / max(abs(other), 1e-12)
        return f"{share:.1%}" if share >= 0.01 else f"{share:.2%}"

    runner_up, second = str(values.index[1]), float(values.iloc[1])
    text += f" and wins, {margin(second)} ahead of `{runner_up}` ({second:,.4g})."
    if abs(second - best) <= 0.01 * max(abs(second), 1e-12):
        text += (
            " A margin this small is within what another seed or split could change: "
            "prefer the simpler or cheaper model if it matters."
        )
    if baseline in values.index and baseline != winner:
        base = float(values[baseline])
        text += f" Against the `{baseline}` ({base:,.4g}) the winner is {margin(base)} better: " + (
            "the extra complexity earns its keep."
            if abs(base - best) > 0.05 * max(abs(base), 1e-12)
            else "a modest gain, to weigh against the cost of the more complex model."
        )
    elif baseline == winner:
        text += f" The `{baseline}` wins: the trees do not earn their complexity on this data."
    return text
