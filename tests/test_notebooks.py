"""Every notebook is a tested artifact: its parameters cell, and a headless run on the twin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from mlaccel_twin import Twin

from mlaccel.notebooks import load_suite, notebook_parameters, read_records, run_suite
from tests.support import REPO

SUITE = REPO / "notebooks" / "suite.yaml"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_suite_lists_every_notebook_in_order() -> None:
    entries = load_suite(SUITE)
    assert [e.path.name for e in entries] == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_one_cell_of_literals(path: Path) -> None:
    params = notebook_parameters(path)
    assert params["backend"] == "local", "safe offline default"
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "papermill" in nb.cells[0].source
    assert "parameters" in nb.cells[1].metadata.get("tags", []), "cell 2 is the parameters cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    assert "!pip" not in path.read_text() and "%pip" not in path.read_text()


def test_suite_passes_only_declared_parameters() -> None:
    for entry in load_suite(SUITE):
        declared = notebook_parameters(entry.path)
        assert set(entry.parameters) <= set(declared), entry.path.name


def _run(
    names: list[str], twin: Twin, out: Path, overrides: dict[str, Any] | None = None
) -> list[Any]:
    # Notebook 04 exports its definitions; tests keep them out of the checkout.
    overrides = {"04_author_pipelines": {"export_dir": str(out / "exports")}, **(overrides or {})}
    entries = [e for e in load_suite(SUITE, overrides) if e.path.stem in names]
    env = {"MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local"}
    return run_suite(entries, out, env=env, progress=False)


@pytest.mark.notebook
@pytest.mark.slow
def test_suite_runs_twice_in_the_same_twin(twin: Twin, tmp_path: Path) -> None:
    """Default parameters, then a second run in the same twin: reruns must not fail."""
    names = [p.stem for p in NOTEBOOKS]
    for attempt in ("first", "second"):
        results = _run(names, twin, tmp_path / attempt)
        failed = [(r.notebook, r.failed_cell, r.error) for r in results if r.status != "succeeded"]
        assert not failed, f"{attempt} run: {failed}"
    summary = json.loads((tmp_path / "second" / "summary.json").read_text())
    assert [s["notebook"] for s in summary] == names
    for name in names:
        assert (tmp_path / "second" / f"{name}.html").exists()
    exported = sorted((tmp_path / "first" / "exports").iterdir())
    golden = REPO / "seedcode" / "workflows"
    assert len(exported) == 8, "training, scoring, monitoring and the SageMaker Pipeline"
    for path in exported:
        assert path.read_text() == (golden / path.name).read_text(), f"{path.name} changed"
    _nbval(sorted((tmp_path / "first").glob("*.ipynb")))


def _nbval(executed: list[Path]) -> None:
    """nbval re-runs the first run's notebooks in the same twin and compares the outputs of
    cells marked ``# NBVAL_CHECK_OUTPUT`` (lax mode), volatile parts sanitized."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--sanitize-with",
            str(REPO / "notebooks" / "nbval_sanitize.cfg"),
            "-p",
            "no:cacheprovider",
            "-q",
            *map(str, executed),
        ],
        capture_output=True,
        text=True,
        cwd=REPO / "notebooks",
        env=dict(os.environ),
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout


@pytest.mark.notebook
@pytest.mark.slow
def test_notebooks_adapt_to_the_other_data_product(twin: Twin, tmp_path: Path) -> None:
    names = [p.stem for p in NOTEBOOKS if p.stem[:2] in {"01", "02", "03", "04"}]
    results = _run(names, twin, tmp_path, {"defaults": {"data_product": "credit_risk"}})
    failed = [(r.notebook, r.failed_cell, r.error) for r in results if r.status != "succeeded"]
    assert not failed
    records = read_records(tmp_path / f"{names[-1]}.ipynb")
    assert records, "the notebook records its key outputs"
    for path in (tmp_path / "exports").iterdir():
        assert "credit-risk" in path.name
        assert path.read_text() == (REPO / "seedcode" / "workflows" / path.name).read_text()
