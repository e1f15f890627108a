"""Drift reports people open in a browser: summary, per-feature charts, violations table."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from mlaccel.monitor._violations import Violations


def plot_feature_drift(
    baseline: pd.DataFrame, current: pd.DataFrame, feature: str, *, max_categories: int = 12
) -> Figure:
    """Baseline vs current distribution of one feature (shared bins, or category shares)."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    for name, frame in (("baseline", baseline), ("current", current)):
        if feature not in frame.columns:
            raise MLAccelInputError(f"{name} has no column {feature!r}")
    fig, ax = plt.subplots(figsize=(5.2, 3.0))
    base, cur = baseline[feature], current[feature]
    if pd.api.types.is_numeric_dtype(base) and pd.api.types.is_numeric_dtype(cur):
        values = np.concatenate([base.dropna().to_numpy(float), cur.dropna().to_numpy(float)])
        values = values[np.isfinite(values)]
        bins = list(np.histogram_bin_edges(values, bins=40)) if len(values) else 10
        ax.hist(
            base.dropna(), bins=bins, density=True, alpha=0.55, label="baseline", color="#3b75af"
        )
        ax.hist(cur.dropna(), bins=bins, density=True, alpha=0.55, label="current", color="#e1812c")
    else:
        shares = pd.DataFrame(
            {
                "baseline": base.astype(str).value_counts(normalize=True),
                "current": cur.astype(str).value_counts(normalize=True),
            }
        ).fillna(0.0)
        shares = shares.sort_values("current", ascending=False).head(max_categories)
        shares.plot.bar(ax=ax, color=["#3b75af", "#e1812c"], width=0.8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    missing = f"missing {base.isna().mean():.0%} → {cur.isna().mean():.0%}"
    ax.set_title(f"{feature} ({missing})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _png(fig: Figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2933;background:#fafbfc}
h1{margin-bottom:.2rem}.sub{color:#616e7c;margin-top:0}
.cards{display:flex;gap:1rem;margin:1.2rem 0}.card{background:#fff;border-radius:10px;
padding:1rem 1.4rem;box-shadow:0 1px 3px #0002;flex:1}.card b{font-size:1.8rem;display:block}
.bad{color:#c0392b}.good{color:#2a9d8f}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem;margin:.5rem 0 1.5rem}
th,td{padding:.45rem .6rem;border-bottom:1px solid #e4e7eb;text-align:left}
th{background:#eef2f6}.charts{display:grid;grid-template-columns:repeat(2,1fr);gap:1rem}
.charts img{width:100%;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
"""


def write_report(
    result: Violations,
    path: str | Path,
    *,
    baseline_data: pd.DataFrame,
    current_data: pd.DataFrame,
    title: str = "Data drift report",
    model_quality: dict[str, Any] | None = None,
    max_charts: int = 8,
) -> Path:
    """Write a self-contained HTML drift report (inline CSS and charts); return its path.

    Examples
    --------
    >>> write_report(result, "r.html", baseline_data=a, current_data=b)  # doctest: +SKIP
    """
    drift = result.drift_frame()
    drifted = [str(f) for f in drift.loc[drift["drifted"], "feature"]] if len(drift) else []
    flagged = sorted(result.flagged_features)
    chart_features = (drifted + [f for f in flagged if f not in drifted])[:max_charts]
    charts = "".join(
        f'<img alt="{html.escape(f)}" src="data:image/png;base64,'
        f'{_png(plot_feature_drift(baseline_data, current_data, f))}">'
        for f in chart_features
        if f in baseline_data.columns and f in current_data.columns
    )
    verdict = "drift detected" if flagged else "no drift"
    cards = (
        f'<div class="card">rows checked<b>{len(current_data):,}</b></div>'
        f'<div class="card">features compared<b>{len(drift)}</b></div>'
        f'<div class="card">features flagged<b class="{"bad" if flagged else "good"}">'
        f"{len(flagged)}</b></div>"
        f'<div class="card">verdict<b class="{"bad" if flagged else "good"}">{verdict}</b></div>'
    )
    violations = [v.to_json() for v in result.violations]
    quality = ""
    if model_quality:
        rows = [{"metric": k, "value": v} for k, v in model_quality.items()]
        quality = "<h2>Model quality on the current data</h2>" + _table(rows, ["metric", "value"])
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="sub">Model Monitor formats · generated {stamp}</p>'
        f'<div class="cards">{cards}</div>'
        f"<h2>Drifted features: baseline vs current</h2><div class='charts'>{charts}</div>"
        f"<h2>Violations</h2>"
        + _table(violations, ["feature_name", "constraint_check_type", "description"])
        + "<h2>Every comparison</h2>"
        + _table(
            drift.to_dict("records"),
            ["feature", "kind", "method", "distance", "threshold", "drifted", "p_value"],
        )
        + quality
        + "</body></html>"
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
