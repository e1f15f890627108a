"""The computed sentences of notebooks 05 and 06: true for any product, edge cases included."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from mlaccel import inference
from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._drift import FeatureDrift
from mlaccel.monitor._violations import Violation


def drift(name: str, distance: float, threshold: float = 0.1, raw: float = 0.0) -> FeatureDrift:
    return FeatureDrift(name, "numerical", "Robust", distance, raw, threshold, 1000, 500)


ORIGIN = {"age": "age", "age_missing": "age", "city=a": "city", "city=__unknown__": "city"}


def test_a_declared_column_the_model_does_not_receive_is_explained_as_unseeable() -> None:
    text = inference.drift_reading({"shifted": ["owners"]}, [], [], ORIGIN)
    assert "`owners` (shifted numbers): **not flagged**" in text
    assert "receives no input made from it" in text


def test_a_small_shift_is_explained_by_its_distance_against_the_allowance() -> None:
    text = inference.drift_reading(
        {"shifted": ["age"]}, [drift("age", 0.04, raw=0.09), drift("age_missing", 0.0)], [], ORIGIN
    )
    assert "**not flagged**: the largest move, on `age`, is a distance of 0.04" in text
    assert "after subtracting the 0.05 that sampling noise explains with 500 rows" in text
    assert "within the allowance of 0.1" in text
    assert "preprocessor fills missing values" not in text
    blanked = inference.drift_reading({"extra_missing": ["age"]}, [drift("age", 0.01)], [], ORIGIN)
    assert "extra blanks show only as a move of the filled values" in blanked


def test_a_flagged_column_names_its_checks_and_the_distance_that_broke_the_allowance() -> None:
    violations = [
        Violation("age", "baseline_drift_check", "moved"),
        Violation("age_missing", "completeness_check", "blank"),
    ]
    text = inference.drift_reading(
        {"shifted": ["age"], "new_category": "city", "extra_missing": []},
        [drift("age", 0.3)],
        violations,
        ORIGIN,
    )
    assert (
        "`age` (shifted numbers): **flagged** by baseline_drift_check, completeness_check" in text
    )
    assert "moved a distance of 0.3 against an allowance of 0.1" in text
    # a declared column whose inputs have no distribution to compare is still explained
    assert "`city` (a category never seen in training): **not flagged**" in text


def test_undeclared_flags_are_named_and_undeclared_sources_say_nobody_declared() -> None:
    flagged = [Violation("city=a", "baseline_drift_check", "moved")]
    text = inference.drift_reading({"shifted": ["age"]}, [drift("age", 0.0)], flagged, ORIGIN)
    assert "Flagged without being declared: `city`" in text
    nothing = inference.drift_reading({"captured": 10, "with ground truth": 8}, [], [], ORIGIN)
    assert nothing.startswith("Nobody declared drift in this data (captured: 10")
    assert "Nothing was flagged" in nothing


def test_drift_reading_refuses_what_is_not_a_declaration() -> None:
    with pytest.raises(MLAccelInputError, match="declared must be a mapping"):
        inference.drift_reading(["age"], [], [], ORIGIN)  # type: ignore[arg-type]


def test_violations_table_counts_each_check_and_says_what_it_means() -> None:
    table = inference.violations_table(
        [
            Violation("a", "baseline_drift_check", ""),
            Violation("b", "baseline_drift_check", ""),
            Violation("c", "some_new_check", ""),
        ]
    )
    assert list(table.index) == ["baseline_drift_check", "some_new_check"]
    assert table.loc["baseline_drift_check", "violations"] == 2
    assert table.loc["baseline_drift_check", "inputs"] == "a, b"
    assert table.loc["some_new_check", "meaning"] == "a constraint of the baseline was not met"
    empty = inference.violations_table([])
    assert empty.empty and list(empty.columns) == ["violations", "inputs", "meaning"]


@pytest.mark.parametrize(
    ("scores", "lower", "expected"),
    [
        (
            {"x": 0.9, "y": 0.6},
            False,
            "**x** scores best on auc (0.9, higher is better); y is 33% worse (0.6).",
        ),
        ({"x": 5.0}, True, "**x** scores best on rmse (5, lower is better)."),
        (
            {"x": 0.0, "y": 0.0},
            True,
            "**x** scores best on rmse (0, lower is better); y scores the same.",
        ),
    ],
)
def test_quality_reading_ranks_by_the_metrics_direction(
    scores: dict[str, float], lower: bool, expected: str
) -> None:
    metric = "rmse" if lower else "auc"
    assert inference.quality_reading(scores, metric=metric, lower_is_better=lower) == expected


def test_quality_reading_needs_scores() -> None:
    with pytest.raises(MLAccelInputError, match="scores is empty"):
        inference.quality_reading({}, metric="auc", lower_is_better=False)


def test_latency_reading_advises_batching_only_when_it_pays() -> None:
    one = SimpleNamespace(p50_ms=2.0, p99_ms=8.0, rows_per_second=500.0, rows_per_request=1)
    same = SimpleNamespace(p50_ms=2.0, p99_ms=3.0, rows_per_second=600.0, rows_per_request=10)
    assert inference.latency_reading(one, same).endswith("batching gains little here.")
    assert "99% under 8.0 ms (the tail is 4.0× the median)" in inference.latency_reading(one, same)


def test_violations_table_renders_as_a_frame() -> None:
    assert isinstance(inference.violations_table([]), pd.DataFrame)


def test_the_latency_figure_carries_a_sentence_and_counts_requests_in_whole_numbers() -> None:
    report = inference.summarize_latencies([0.002, 0.003, 0.004], 1)
    figure = inference.plot_latency(report)
    assert figure.get_label() == (
        "Histogram of the latency of 3 requests of one record: half under 3.0 ms, 99% under 4.0 ms."
    )
    ticks = figure.axes[0].get_yticks()
    assert all(float(t).is_integer() for t in ticks)


def test_notebook_links_follow_the_suite_runners_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlaccel import workflows

    monkeypatch.setenv("MLACCEL_OUTPUT_DIR", str(tmp_path))
    assert workflows.notebook_link(tmp_path / "workflows" / "a.json") == "workflows/a.json"
    monkeypatch.delenv("MLACCEL_OUTPUT_DIR")
    monkeypatch.chdir(tmp_path / "workflows" if (tmp_path / "workflows").exists() else tmp_path)
    assert workflows.notebook_link(tmp_path / "b.json") == "b.json"


def test_drift_figures_label_their_axes_and_describe_the_verdict() -> None:
    import matplotlib

    matplotlib.use("Agg")
    base = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    now = pd.DataFrame({"x": [2.0, 3.0, 4.0], "c": ["a", "z", "z"]})
    fig = inference.drift_figure(base, now, "x", drift("x", 0.25))
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "share of rows per bin")
    # each side's bars are shares of its rows: they add up to one
    heights = [bar.get_height() for bar in ax.patches]
    half = len(heights) // 2
    assert sum(heights[:half]) == pytest.approx(1) and sum(heights[half:]) == pytest.approx(1)
    assert fig.get_label() == (
        "Overlaid histograms of x, baseline against current data: distance 0.25 against an "
        "allowance of 0.1, flagged."
    )
    bars = inference.drift_figure(base, now, "c")
    assert bars.axes[0].get_ylabel() == "share of rows"
    assert (
        bars.get_label()
        == "Bars of the share of rows per category of c, baseline against current data."
    )


def test_quality_violations_reading_names_each_broken_metric_or_says_why_none() -> None:
    broken = {"violations": [{"metric_name": "auc", "description": "auc 0.6 below 0.7"}]}
    assert inference.quality_violations_reading(broken) == (
        "1 model-quality constraint(s) broken:\n- `auc`: auc 0.6 below 0.7"
    )
    assert "could not be compared" in inference.quality_violations_reading(broken, compared=False)
    with pytest.raises(MLAccelInputError, match="check_model_quality's result"):
        inference.quality_violations_reading({"nothing": 1})


def test_large_values_get_short_tick_labels() -> None:
    import matplotlib

    matplotlib.use("Agg")
    base = pd.DataFrame({"miles": [10_000.0, 250_000.0, 500_000.0]})
    fig = inference.drift_figure(base, base * 1.2, "miles")
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert labels and all(len(label) <= 5 for label in labels), labels
    assert any(label.endswith("k") for label in labels)
