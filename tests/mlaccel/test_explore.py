"""Profiling: summary table, quality issues and plots on a small frame with known problems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlaccel import explore
from mlaccel.errors import MLAccelInputError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    mileage = rng.lognormal(10, 1.0, n)
    mileage[:40] = np.nan
    return pd.DataFrame(
        {
            "record_id": np.arange(n),
            "mileage": mileage,
            "year": rng.integers(2005, 2024, n),
            "fuel": rng.choice(["petrol", "diesel", "electric"], n, p=[0.6, 0.395, 0.005]),
            "constant": 1,
            "price": rng.normal(20000, 5000, n),
        }
    )


def test_profile_reports_types_missing_and_statistics(frame: pd.DataFrame) -> None:
    summary = explore.profile(frame)
    assert summary.loc["mileage", "kind"] == "numeric"
    assert summary.loc["mileage", "missing_pct"] == pytest.approx(10.0)
    assert summary.loc["fuel", "kind"] == "categorical"
    assert summary.loc["fuel", "top"] == "petrol"
    assert summary.loc["year", "min"] >= 2005


def test_quality_issues_find_the_planted_problems(frame: pd.DataFrame) -> None:
    frame.loc[5, "price"] = np.inf
    found = {(i.column, i.problem) for i in explore.find_quality_issues(frame)}
    assert ("mileage", "missing values") in found
    assert ("mileage", "skewed") in found
    assert ("constant", "constant") in found
    assert ("price", "infinite values") in found
    assert ("fuel", "rare categories") in found
    assert ("year", "missing values") not in found


def test_plots_draw_one_panel_per_column(frame: pd.DataFrame) -> None:
    fig = explore.plot_distributions(frame, ["mileage", "fuel", "year"])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    fig = explore.plot_target_relationships(frame, "price", ["mileage", "fuel"])
    assert "mean price by mileage" in [ax.get_title() for ax in fig.axes]
    fig = explore.plot_correlations(frame)
    assert fig.axes


def test_bad_input_names_the_problem(frame: pd.DataFrame) -> None:
    with pytest.raises(MLAccelInputError, match="df is empty"):
        explore.profile(frame.iloc[0:0])
    with pytest.raises(MLAccelInputError, match="must be a pandas DataFrame"):
        explore.profile([1, 2])  # type: ignore[arg-type]
    with pytest.raises(MLAccelInputError, match=r"target names columns .* \['nope'\]"):
        explore.plot_target_relationships(frame, "nope")
