"""Every notebook is a tested artifact: its parameters cell, and a headless run on the twin.

The suite runs once with papermill (`make test`); nbval's re-execution of the executed notebooks
is the rerun check. The other data product is the `matrix` lane (`make test-matrix`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from mlaccel import config, demo
from mlaccel.notebooks import (
    SPEC_TAG,
    check_executed,
    load_suite,
    notebook_parameters,
    parameter_spec,
    run_suite,
)
from mlaccel.parameters import parameter_problems
from mlaccel_twin import Twin
from tests.support import CHROMIUM, MISSING_TOOL, REPO, SCREENSHOTS, screenshot_pages

SUITE = REPO / "notebooks" / "suite.yaml"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_suite_lists_every_notebook_in_order() -> None:
    entries = load_suite(SUITE)
    assert [e.path.name for e in entries] == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_one_cell_of_literals(path: Path) -> None:
    params = notebook_parameters(path)
    assert params["backend"] == "", "follows MLACCEL_BACKEND, else the local twin"
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_spec_its_default_passes(path: Path) -> None:
    """Cell 3 checks the parameters in the kernel; the runner reads the same spec before any
    kernel starts."""
    nb = nbformat.read(path, as_version=4)
    assert SPEC_TAG in nb.cells[2].metadata.get("tags", []), "cell 3 checks the parameters"
    spec, defaults = parameter_spec(path), notebook_parameters(path)
    assert spec is not None and set(spec) == set(defaults)
    assert parameter_problems(defaults, spec) == {}
    assert spec["backend"]["choices"] == list(config.BACKENDS)
    # any registered product, not only the demos: the name is all a notebook needs
    assert spec["data_product"] == {"type": "str"}
    if "n_rows" in spec:
        assert spec["n_rows"]["max"] == demo.MAX_ROWS


def test_suite_defaults_reach_every_notebook_that_declares_them() -> None:
    for entry in load_suite(SUITE):
        assert entry.parameters["seed"] == 0, entry.path.name


def _run(
    names: list[str], twin: Twin, out: Path, overrides: dict[str, Any] | None = None
) -> list[Any]:
    # Notebooks write only under the run's output folder (notebook 04's exports: out/workflows).
    entries = [e for e in load_suite(SUITE, overrides) if e.path.stem in names]
    env = {"MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local"}
    return run_suite(entries, out, env=env, progress=False)


def _assert_exports_match_golden(folder: Path) -> None:
    exported = sorted(folder.iterdir())
    golden = REPO / "seedcode" / "workflows"
    assert len(exported) == 8, "training, scoring, monitoring and the SageMaker Pipeline"
    for path in exported:
        assert path.read_text() == (golden / path.name).read_text(), f"{path.name} changed"


@pytest.mark.notebook
@pytest.mark.slow
def test_suite_runs_then_reruns_with_the_same_outputs(twin: Twin, tmp_path: Path) -> None:
    """The suite once with default parameters; nbval then re-runs the executed notebooks in the
    same twin, which is the rerun check (reruns must not fail) and the output comparison."""
    names = [p.stem for p in NOTEBOOKS]
    checkout_before = _checkout_files()
    results = _run(names, twin, tmp_path)
    failed = [(r.notebook, r.failed_cell, r.error) for r in results if r.status != "succeeded"]
    assert not failed, f"papermill run: {failed}"
    assert _checkout_files() == checkout_before, "the notebooks wrote into the checkout"
    assert (tmp_path / "reports" / "drift_report.html").exists(), "06 reports in the output"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [s["notebook"] for s in summary] == names
    for name in names:
        assert (tmp_path / f"{name}.html").exists()
    # What readers of the shared outputs see (cells, HTML) names no path of this machine; the
    # executed notebooks' metadata included.
    home = str(Path.home())
    machine_paths = [str(REPO), str(tmp_path), *([home] if len(home) > 1 else [])]
    for shared in sorted([*tmp_path.glob("*.ipynb"), *tmp_path.glob("*.html")]):
        text = shared.read_text()
        shown = text if shared.suffix == ".html" else json.dumps(json.loads(text))
        assert not [p for p in machine_paths if p in shown], f"{shared.name} shows a local path"
    findings = check_executed(tmp_path.glob("*.ipynb"), machine_paths=machine_paths)
    assert not findings, "what readers should not see:\n" + "\n".join(map(str, findings))
    if CHROMIUM:  # what a reviewer reads: every executed notebook as its HTML page renders
        shots = screenshot_pages(sorted(tmp_path.glob("*.html")), SCREENSHOTS / "notebooks")
        assert [s.stem for s in shots] == names and all(s.stat().st_size > 10_000 for s in shots)
    _assert_exports_match_golden(tmp_path / "workflows")
    passed = _nbval(sorted(tmp_path.glob("*.ipynb")), twin)
    assert passed > 0, "nbval ran no cell"
    _assert_exports_match_golden(tmp_path / "workflows")  # what the rerun exported
    assert _checkout_files() == checkout_before, "the rerun wrote into the checkout"
    if not CHROMIUM:
        pytest.skip(f"{MISSING_TOOL} chromium: the suite passed; its pages' screenshots need it")


def _checkout_files() -> set[tuple[str, int]]:
    """The kit's folders as git sees them, ignored files included (caches aside), with each
    listed file's modification time: a notebook that writes outside its output folder, even
    over an ignored file such as an old report, changes this."""
    folders = ["notebooks", "seedcode", "snippets", "docs", "output"]
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored", "--", *folders],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    # caches, and the browser tests' screenshots (written by tests beside this one)
    skipped = ("__pycache__", "checkpoints", "output/screenshots/")
    kept = [line for line in listed if not any(part in line for part in skipped)]
    return {(line, _mtime(REPO / line[3:])) for line in kept}


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.is_file() else 0


def _nbval(executed: list[Path], twin: Twin) -> int:
    """nbval re-runs the executed notebooks (with the parameters papermill injected) in the same
    twin and compares the outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` (lax mode), volatile
    parts sanitized; returns how many cells passed."""
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
        env={**os.environ, "MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local"},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    counted = re.search(r"(\d+) passed", result.stdout)
    assert counted, result.stdout[-2000:]
    return int(counted.group(1))


@pytest.mark.notebook
def test_a_notebook_run_alone_follows_mlaccel_backend(tmp_path: Path) -> None:
    """Its parameters cell leaves the backend to the environment: with MLACCEL_BACKEND=aws
    and no credentials, notebook 01 stops at connect() instead of running on the twin."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.pop("MLACCEL_TWIN_URL", None)
    env = {
        **clean,
        "MLACCEL_BACKEND": "aws",
        "MLACCEL_HOME": str(tmp_path / "home"),
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        with pytest.raises(PapermillExecutionError, match="found no AWS credentials"):
            papermill.execute_notebook(
                str(REPO / "notebooks" / "01_explore_data.ipynb"),
                str(tmp_path / "01.ipynb"),
                cwd=str(REPO / "notebooks"),
                progress_bar=False,
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert not (tmp_path / "home").exists(), "no twin was started"
