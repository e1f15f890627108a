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


def test_every_column_with_missing_values_is_reported_with_the_review_threshold(
    frame: pd.DataFrame,
) -> None:
    frame.loc[:7, "year"] = np.nan  # 2% missing: under the review threshold, still reported
    details = {
        i.column: i.detail
        for i in explore.find_quality_issues(frame)
        if i.problem == "missing values"
    }
    assert details["year"] == "2% missing (8 rows): median + missing flag"
    assert details["mileage"] == "10% missing (40 rows): over 5%, review"


def test_describe_profile_names_gaps_skew_and_cardinality(frame: pd.DataFrame) -> None:
    text = explore.describe_profile(explore.profile(frame), id_columns=("record_id",))
    assert text.startswith("6 columns: 5 numeric and 1 categorical.")
    assert "`mileage` (10%) has missing values." in text
    assert "most distinct values is `fuel` (3)" in text
    assert "`mileage` is strongly skewed" in text


def test_describe_profile_of_a_clean_single_column() -> None:
    text = explore.describe_profile(explore.profile(pd.DataFrame({"x": [1.0, 2.0, 3.0]})))
    assert text == (
        "1 column: 1 numeric and 0 categorical. No column has missing values. "
        "No numeric column is strongly skewed (|skew| above 2)."
    )


def test_describe_issues_when_none_and_when_some(frame: pd.DataFrame) -> None:
    assert explore.describe_issues([]).startswith("No data-quality issue found")
    text = explore.describe_issues(explore.find_quality_issues(frame))
    assert "`mileage` (missing values): feature engineering imputes them" in text
    assert "`constant` (constant)" in text


def test_describe_storage_says_whether_the_table_is_partitioned() -> None:
    row = {"table": "t", "location": "s3://b/t/", "partition_keys": []}
    assert "without partitions" in explore.describe_storage(pd.DataFrame([row]))
    row["partition_keys"] = ["day"]
    assert "partitioned by `day`" in explore.describe_storage(pd.DataFrame([row]))
    with pytest.raises(MLAccelInputError, match="table_info has 0 rows"):
        explore.describe_storage(pd.DataFrame(columns=list(row)))


def test_describe_correlations_ranks_pairs_and_the_target(frame: pd.DataFrame) -> None:
    numbers = frame[["mileage", "year", "price"]].assign(
        resale=frame["price"] * 0.8 + 1, age=2025 - frame["year"]
    )
    text = explore.describe_correlations(numbers.corr(), target="price")
    assert text.startswith("The strongest correlation is `year` with `age` (-1.00): strong")
    assert "With the target `price`, the most correlated are `resale` (+1.00)" in text
    single = explore.describe_correlations(frame[["price"]].corr(), target="price")
    assert single == "Only one numeric column: there is no pair to correlate."


def test_plots_label_axes_use_whole_number_ticks_and_carry_alt_text(frame: pd.DataFrame) -> None:
    fig = explore.plot_distributions(frame, ["year", "mileage", "fuel"])
    year, mileage, fuel = fig.axes[:3]
    fig.canvas.draw()
    assert (year.get_xlabel(), year.get_ylabel()) == ("year", "rows")
    assert all("." not in t.get_text() for t in year.get_xticklabels() if t.get_text())
    assert any("," in t.get_text() for t in mileage.get_xticklabels())  # thousands separators
    assert (fuel.get_xlabel(), fuel.get_ylabel()) == ("rows", "fuel")
    assert fig.get_label().startswith("Distributions of 3 columns (year, mileage, fuel)")
    corr = explore.plot_correlations(frame[["mileage", "price"]])
    assert corr.axes[1].get_ylabel() == "Pearson correlation (−1 to 1)"
    assert corr.get_label().startswith("Heat map")


def test_target_plots_show_the_share_of_a_chosen_class_for_multiclass(frame: pd.DataFrame) -> None:
    fig = explore.plot_target_relationships(frame, "fuel", ["year", "price"], share_of="diesel")
    assert fig.axes[0].get_ylabel() == "share fuel=diesel"
    assert fig.axes[1].get_xlabel() == "price (decile midpoints)"
    with pytest.raises(MLAccelInputError, match="share_of='lpg' is not a value of fuel"):
        explore.plot_target_relationships(frame, "fuel", ["year"], share_of="lpg")


def test_describe_distributions_names_the_longest_tail_and_the_dominant_category(
    frame: pd.DataFrame,
) -> None:
    text = explore.describe_distributions(frame, ["mileage", "year", "fuel"])
    assert text.startswith("Among the numbers, `mileage` has the longest tail")
    assert "In `fuel`, the commonest value covers" in text
    only_numbers = explore.describe_distributions(frame, ["year"])
    assert "commonest value" not in only_numbers


def test_describe_target_relationships_ranks_features_and_skips_tiny_groups() -> None:
    rows = 200
    frame = pd.DataFrame(
        {
            "size": np.tile(np.arange(1, 5), rows // 4),
            "city": np.tile(["a", "b"], rows // 2),
            "label": np.tile(["no", "yes", "yes", "yes"], rows // 4),
        }
    )
    frame.loc[0, "city"] = "tiny"  # one row: its mean would be 0 or 1 by chance
    text = explore.describe_target_relationships(frame, "label", ["size", "city"], share_of="yes")
    assert text.startswith("Share label=yes moves most with `size` (group means from 0 to 1")
    assert "tiny" not in text
    assert explore.describe_target_relationships(frame, "label", ["label"]) == (
        "No feature to relate the target to."
    )


def test_target_view_of_a_multiclass_target_defaults_to_its_commonest_class() -> None:
    frame = pd.DataFrame({"kind": ["a", "b", "b", "c"], "x": [1, 2, 3, 4]})
    viewed, label = explore.target_view(frame, "kind")
    assert label == "share kind=b"
    assert viewed["kind"].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_class_of_interest_follows_the_problem_type() -> None:
    from mlaccel import products

    frame = pd.DataFrame({"y": ["a", "c", "c"]})
    binary = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("a", "c"))
    multi = products.DataProduct("p", "y", "multiclass", "id", ("x",), classes=("a", "b", "c"))
    regression = products.DataProduct("p", "y", "regression", "id", ("x",))
    assert explore.class_of_interest(binary, frame) == binary.positive_class
    assert explore.class_of_interest(multi, frame) == "c"
    assert explore.class_of_interest(regression, frame) is None
