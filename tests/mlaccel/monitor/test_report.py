"""The HTML drift report: content, and how it renders in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mlaccel import demo, drift_batch, monitor
from tests.support import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS, demo_contract, needs_chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    product = demo_contract("credit_risk")
    train = demo.generate("credit_risk", 5000, seed=0)
    current = drift_batch.drifted_batch(
        demo.generate("credit_risk", 3000, seed=1), product, seed=1, numeric_shift=1.0
    )
    features = list(product.features)
    result = monitor.check_against_baseline(
        current[features], monitor.compute_baseline(train[features])
    )
    path = tmp_path_factory.mktemp("report") / "drift.html"
    return monitor.write_report(
        result,
        path,
        baseline_data=train,
        current_data=current,
        title="Drift report: credit_risk",
        model_quality={"auc": 0.71},
    )


def test_report_is_self_contained_with_charts_and_violations(report: Path) -> None:
    page = report.read_text()
    assert page.startswith("<!doctype html>") and "Drift report: credit_risk" in page
    assert page.count("data:image/png;base64,") >= 3  # charts inline, no external files
    assert "income" in page and "baseline_drift_check" in page and "drift detected" in page
    assert "http://" not in page and "https://" not in page


@needs_chromium
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,1800",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / "drift_report.png")
