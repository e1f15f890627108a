"""Fault injection: a notebook whose kernel dies half way leaves nothing billable behind.

The suite runner runs notebook 04 (and, apart, 05) on the twin with small parameters; once the
run's endpoint exists (found by its ``mlaccel:run-id`` tag), the test kills the notebook's
kernel. The runner must report the failure, remove what the run created, and say what it
removed; the twin must then hold no endpoint, endpoint configuration, model, scaling target or
rule tagged with the run.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

import mlaccel
from mlaccel.notebooks import NotebookResult, load_suite, run_suite
from mlaccel_twin import Twin
from tests.support import REPO, unique_name

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

SUITE = REPO / "notebooks" / "suite.yaml"
RUN_TAG = "mlaccel:run-id"
# How long a notebook may take to reach the point where its kernel is killed.
READY_TIMEOUT_SECONDS = 300


def _tagged(conn: mlaccel.Connection, run_id: str, types: list[str]) -> list[str]:
    """ARNs of resources of ``types`` tagged with the run, as the tagging API lists them."""
    pages = (
        conn.client("resourcegroupstaggingapi")
        .get_paginator("get_resources")
        .paginate(TagFilters=[{"Key": RUN_TAG, "Values": [run_id]}], ResourceTypeFilters=types)
    )
    return [item["ResourceARN"] for page in pages for item in page["ResourceTagMappingList"]]


def _scaling_targets_of(conn: mlaccel.Connection, run_id: str) -> list[str]:
    """SageMaker scalable targets tagged with the run."""
    scaling = conn.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    return [
        t["ResourceId"]
        for t in targets
        if scaling.list_tags_for_resource(ResourceARN=t["ScalableTargetARN"])["Tags"].get(RUN_TAG)
        == run_id
    ]


def _left_behind(conn: mlaccel.Connection, run_id: str) -> list[str]:
    """Everything billable tagged with the run that is still in the twin."""
    billable = [
        "sagemaker:endpoint",
        "sagemaker:endpoint-config",
        "sagemaker:model",
        "sagemaker:monitoring-schedule",
        "events:rule",
    ]
    return _tagged(conn, run_id, billable) + _scaling_targets_of(conn, run_id)


def _kernels() -> list[psutil.Process]:
    """The Jupyter kernels this test process started (through papermill)."""
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if "ipykernel_launcher" in " ".join(child.cmdline())
    ]


def _run_then_kill(
    name: str,
    overrides: dict[str, Any],
    twin: Twin,
    out: Path,
    ready: Callable[[str], bool],
) -> tuple[NotebookResult, str]:
    """Run notebook ``name`` with the suite runner; kill its kernel once ``ready(run_id)``."""
    run_id = unique_name("run-fault")
    entries = [e for e in load_suite(SUITE, {name: overrides}) if e.path.stem == name]
    env = {"MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local", "MLACCEL_RUN_ID": run_id}
    results: list[NotebookResult] = []
    runner = threading.Thread(
        target=lambda: results.extend(run_suite(entries, out, env=env, progress=False))
    )
    runner.start()
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not ready(run_id):
        assert runner.is_alive(), f"{name} ended before its kernel could be killed: {results}"
        assert time.monotonic() < deadline, f"{name} did not get ready in time"
        time.sleep(0.2)
    kernels = _kernels()
    assert len(kernels) == 1, f"expected the notebook's one kernel, found {kernels}"
    kernels[0].send_signal(signal.SIGKILL)
    runner.join(timeout=READY_TIMEOUT_SECONDS)
    assert not runner.is_alive(), "the runner did not notice that its kernel died"
    [result] = results
    return result, run_id


def _assert_failure_and_clean_up_reported(result: NotebookResult, out: Path, run_id: str) -> None:
    assert result.status == "failed"
    assert "DeadKernelError" in (result.error or ""), result.error
    assert result.run_id == run_id and result.cleanup_error is None
    summary = json.loads((out / "summary.json").read_text())
    assert summary[0]["cleaned_up"] == result.cleaned_up and summary[0]["run_id"] == run_id
    text = (out / "summary.md").read_text()
    assert f"run id: {run_id}" in text
    assert f"clean-up after {result.notebook} failed: removed " in text
    for label in result.cleaned_up or []:
        assert label in text


def test_a_pipeline_notebook_killed_half_way_leaves_nothing_billable(
    conn: mlaccel.Connection, twin: Twin, tmp_path: Path
) -> None:
    """Notebook 04's endpoint is created inside a Step Functions run: killed once it exists."""
    overrides = {
        "n_rows": 2_000,
        "n_scoring_rows": 50,
        "metric_threshold": 1e9,  # any model passes, so the run goes on to its endpoint
        "export_dir": str(tmp_path / "exports"),
    }

    def endpoint_exists(run_id: str) -> bool:
        return bool(_tagged(conn, run_id, ["sagemaker:endpoint"]))

    started = time.perf_counter()
    result, run_id = _run_then_kill(
        "04_author_pipelines", overrides, twin, tmp_path / "out", endpoint_exists
    )
    print(f"04 killed and cleaned up in {time.perf_counter() - started:.1f} s:", result.cleaned_up)

    _assert_failure_and_clean_up_reported(result, tmp_path / "out", run_id)
    removed = result.cleaned_up or []
    assert "endpoint:mlaccel-used-cars-pipeline" in removed
    kinds = {label.split(":")[0] for label in removed}
    assert {"endpoint", "endpoint-config", "model", "function"} <= kinds, removed
    assert _left_behind(conn, run_id) == []
    assert not conn.client("sagemaker").list_endpoints(NameContains="used-cars-pipeline")[
        "Endpoints"
    ]


def test_a_scoring_notebook_killed_half_way_leaves_nothing_billable(
    conn: mlaccel.Connection, twin: Twin, tmp_path: Path
) -> None:
    """Notebook 05 run alone (it trains a quick model): killed once its endpoints scale."""
    overrides = {
        "n_scoring_rows": 20,
        "n_latency_requests": 3,
        "n_latency_batch_requests": 1,
        "latency_batch_rows": 10,
    }

    def autoscaling_registered(run_id: str) -> bool:
        return bool(_scaling_targets_of(conn, run_id))

    started = time.perf_counter()
    result, run_id = _run_then_kill(
        "05_score_model", overrides, twin, tmp_path / "out", autoscaling_registered
    )
    print(f"05 killed and cleaned up in {time.perf_counter() - started:.1f} s:", result.cleaned_up)

    _assert_failure_and_clean_up_reported(result, tmp_path / "out", run_id)
    removed = result.cleaned_up or []
    for expected in (
        "scalable-target:endpoint/mlaccel-used-cars-xgboost/variant/AllTraffic",
        "endpoint:mlaccel-used-cars-xgboost",
        "endpoint:mlaccel-used-cars-linear",
        "function:mlaccel-used-cars-router",
    ):
        assert expected in removed
    assert _left_behind(conn, run_id) == []
    assert _tagged(conn, run_id, ["lambda:function"]) == []
