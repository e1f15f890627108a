"""Two people, one twin: two whole suites run at the same time against one twin, each on its own
data product, and neither sees the other's resources (model registry, pipelines, endpoints,
traffic). The heavy lane: `make test-matrix`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from sklearn import datasets

from mlaccel.notebooks import read_records
from mlaccel_twin import Twin
from tests.support import REPO
from tests.test_own_data import LIGHT


def _start_suite(twin: Twin, folder: Path, data_set: str, product: str) -> subprocess.Popen:
    """``mlaccel notebooks run`` on ``product``, registered from a scikit-learn data set."""
    folder.mkdir()
    csv = folder / f"{data_set}.csv"
    getattr(datasets, f"load_{data_set}")(as_frame=True).frame.to_csv(csv, index=False)
    params = {
        **LIGHT,
        "defaults": {"data_product": product},
        "01_explore_data": {"source": str(csv), "target": "target"},
    }
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local"}
    command = [sys.executable, "-m", "mlaccel.cli", "notebooks", "run"]
    return subprocess.Popen(
        [*command, "--params", str(folder / "params.yaml"), "--output", str(folder / "out")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.matrix
def test_two_suites_at_once_in_one_twin_keep_to_their_own_product(
    twin: Twin, tmp_path: Path
) -> None:
    stamp = uuid.uuid4().hex[:6]
    products = {"diabetes": f"sugar_{stamp}", "wine": f"grapes_{stamp}"}
    running = {
        data_set: _start_suite(twin, tmp_path / data_set, data_set, product)
        for data_set, product in products.items()
    }
    outputs = {}
    try:
        for data_set, process in running.items():
            outputs[data_set], _ = process.communicate(timeout=1500)
    finally:  # a failed or stuck suite must not outlive the test
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for data_set, process in running.items():
        assert process.returncode == 0, f"{data_set}: {outputs.get(data_set, '')[-3000:]}"
    for data_set, product in products.items():
        out = tmp_path / data_set / "out"
        summary = json.loads((out / "summary.json").read_text())
        assert [entry["status"] for entry in summary] == ["succeeded"] * 6, summary
        records = {p.stem: read_records(p) for p in sorted(out.glob("0*.ipynb"))}
        # each registry group holds the suite's own models only: 03's, then 05 serves version 1
        assert records["05_score_model"]["model_package_version"] == 1
        metric = "rmse" if data_set == "diabetes" else "log_loss"
        assert f"test_{metric}" in records["03_train_model"], "its own product's objective"
        assert records["06_analyze_drift"]["judged_model"] == "training pipeline"
        exported = sorted(p.name for p in (out / "workflows").iterdir())
        slug = product.replace("_", "-")
        assert exported and all(slug in name for name in exported), exported
