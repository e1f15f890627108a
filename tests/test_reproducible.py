"""The same parameters on a fresh twin give the same numbers: notebooks 01-03, 05 and 06 run
twice, each time through `mlaccel notebooks run` with its own new twin, and every reproducible
key output must agree (`bench/reproducible.py` does the same for the whole default suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlaccel.notebooks import compare_runs
from tests.support import REPO

NOTEBOOKS = [
    "01_explore_data",
    "02_engineer_features",
    "03_train_model",
    "05_score_model",
    "06_analyze_drift",
]
# Small enough to run twice in a test lane, large enough that an unseeded tuner, split or
# model shows (the default suite is compared by bench/reproducible.py).
SMALL = {
    "defaults": {"seed": 3},
    "01_explore_data": {"n_rows": 3000, "sample_rows": 1000},
    "02_engineer_features": {"n_rows": 3000},
    "03_train_model": {"num_round": 30, "tuning_jobs": 3, "tuning_parallel_jobs": 2},
    "05_score_model": {
        "n_scoring_rows": 100,
        "n_latency_requests": 5,
        "n_latency_batch_requests": 2,
        "latency_batch_rows": 50,
    },
    "06_analyze_drift": {"n_rows": 3000, "current_rows": 1000},
}


def run_on_a_fresh_twin(folder: Path) -> list[dict[str, Any]]:
    """The CLI in its own process, with its own twin home: nothing is shared with other runs."""
    folder.mkdir()
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(SMALL))
    env = {**os.environ, "MLACCEL_HOME": str(folder / "home"), "MLACCEL_BACKEND": "local"}
    env.pop("MLACCEL_TWIN_URL", None)  # the CLI starts, then stops, a twin of its own
    command = [sys.executable, "-m", "mlaccel.cli", "notebooks", "run", "--params", str(params)]
    result = subprocess.run(
        [*command, "--output", str(folder / "out"), "--only", *NOTEBOOKS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary: list[dict[str, Any]] = json.loads((folder / "out" / "summary.json").read_text())
    return summary


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.matrix  # two fresh suite runs: the heavy lane, `make test-matrix` (CI runs it)
def test_two_fresh_twins_give_the_same_key_outputs(tmp_path: Path) -> None:
    first = run_on_a_fresh_twin(tmp_path / "first")
    second = run_on_a_fresh_twin(tmp_path / "second")
    assert [entry["notebook"] for entry in first] == NOTEBOOKS
    recorded = {key for entry in first for key in entry["key_outputs"]}
    assert {"winner", "test_rmse", "test_rmse_xgboost", "features_flagged"} <= recorded
    assert compare_runs(first, second) == []
    varying = {key for entry in first for key in entry["varying_outputs"]}
    assert varying == {"endpoint_p50_ms", "endpoint_p99_ms", "endpoint_rows_per_second"}


def test_compare_runs_names_every_difference() -> None:
    first = [
        {"notebook": "a", "status": "succeeded", "key_outputs": {"x": 1, "y": [1, 2]}},
        {"notebook": "b", "status": "succeeded", "key_outputs": {}},
    ]
    second = [
        {"notebook": "a", "status": "failed", "key_outputs": {"x": 2}},
        {"notebook": "c", "status": "succeeded", "key_outputs": {}},
    ]
    assert compare_runs(first, second) == [
        "a: succeeded in the first run, failed in the second",
        "a: x is 1 in the first run, 2 in the second",
        "a: y is [1, 2] in the first run, '<missing>' in the second",
        "b: only in the first run",
        "c: only in the second run",
    ]
