"""Bring your own data: the whole suite, twice in one twin, on public data sets registered from a
file through notebook 01's parameters (no code written for them), and on the demo product the
default suite does not run. The heavy lane: `make test-matrix`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn import datasets

from mlaccel.notebooks import check_executed, read_records
from mlaccel_twin import Twin
from tests.test_notebooks import NOTEBOOKS, _run

# Small enough for a lane of its own; every notebook still runs every step.
LIGHT = {
    "03_train_model": {"tuning_jobs": 2, "num_round": 50},
    "05_score_model": {"n_latency_requests": 20, "n_latency_batch_requests": 3},
}
PUBLIC = {  # scikit-learn's bundled data sets: problem type, rows
    "diabetes": ("regression", 442),
    "breast_cancer": ("binary", 569),
    "wine": ("multiclass", 178),
}


def _suite_twice(twin: Twin, out: Path, overrides: dict) -> list[dict]:
    names = [p.stem for p in NOTEBOOKS]
    recorded = []
    for run in ("first", "again"):  # the second run re-runs everything in the same twin
        results = _run(names, twin, out / run, {**LIGHT, **overrides})
        failed = [(r.notebook, r.failed_cell, r.error) for r in results if r.status != "succeeded"]
        assert not failed, f"{run} run: {failed}"
        recorded.append({n: read_records(out / run / f"{n}.ipynb") for n in names})
    return recorded


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.matrix
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_the_suite_runs_twice_on_a_public_data_set_registered_from_a_file(
    twin: Twin, tmp_path: Path, name: str
) -> None:
    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    csv = tmp_path / f"{name}.csv"
    frame.to_csv(csv, index=False)
    overrides = {
        "defaults": {"data_product": name},
        "01_explore_data": {"source": str(csv), "target": "target"},
    }
    first, again = _suite_twice(twin, tmp_path, overrides)
    problem, rows = PUBLIC[name]
    assert first["01_explore_data"]["rows_sampled"] == rows
    assert first["03_train_model"]["beats_baseline"] in (True, False)
    metric = {"regression": "rmse", "binary": "auc", "multiclass": "log_loss"}[problem]
    assert f"test_{metric}" in first["03_train_model"], "the product's objective decides"
    assert again["02_engineer_features"] == first["02_engineer_features"]


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.matrix
def test_the_suite_runs_twice_on_the_other_demo_product(twin: Twin, tmp_path: Path) -> None:
    first, again = _suite_twice(twin, tmp_path, {"defaults": {"data_product": "credit_risk"}})
    assert "test_auc" in first["03_train_model"]
    machine_paths = [str(Path(__file__).parents[1]), str(tmp_path)]
    findings = check_executed((tmp_path / "first").glob("*.ipynb"), machine_paths=machine_paths)
    assert not findings, "what readers should not see:\n" + "\n".join(map(str, findings))
    exported = sorted((tmp_path / "first" / "workflows").iterdir())
    assert exported and all("credit-risk" in p.name for p in exported)
    golden = Path(__file__).parents[1] / "seedcode" / "workflows"
    for path in exported:
        assert path.read_text() == (golden / path.name).read_text(), f"{path.name} changed"
    assert again["02_engineer_features"] == first["02_engineer_features"]
