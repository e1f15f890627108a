"""The lowest lane's done-when (`make test-lowest`): the built wheel, installed into a fresh
Python 3.12 environment with the oldest versions pyproject allows, runs the whole notebook
suite from an empty folder on the twin. Every other lane tests the clone and skips these."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlaccel import _paths
from tests.support import FROM_CHECKOUT, REPO

pytestmark = pytest.mark.skipif(
    FROM_CHECKOUT, reason="tests the installed wheel: runs in `make test-lowest`"
)


def _installed_files() -> dict[str, float]:
    """Every file of the kit's installed copy, with its modification time."""
    return {
        str(path): path.stat().st_mtime
        for copy in _paths.installed_copies()
        if copy.is_dir()
        for path in copy.rglob("*")
    }


def test_the_library_and_the_kit_files_come_from_the_wheel() -> None:
    import mlaccel
    import mlaccel_twin

    for module in (mlaccel, mlaccel_twin):
        location = Path(module.__file__ or "").resolve()
        assert "site-packages" in location.parts, location
        assert REPO / "lib" not in location.parents, location
    for folder in (_paths.seedcode_dir(), _paths.notebooks_dir(), _paths.snippets_dir()):
        assert _paths.is_installed_copy(folder), folder
    assert (_paths.notebooks_dir() / "suite.yaml").is_file()


@pytest.mark.slow
@pytest.mark.notebook
def test_the_suite_runs_from_an_empty_folder_on_the_twin(tmp_path: Path) -> None:
    here = tmp_path / "empty"
    here.mkdir()
    env = {**os.environ, "MLACCEL_HOME": str(tmp_path / "home")}
    for name in ("MLACCEL_TWIN_URL", "MLACCEL_BACKEND", "MLACCEL_SEEDCODE", "MLACCEL_OUTPUT_DIR"):
        env.pop(name, None)
    before = _installed_files()
    mlaccel_command = Path(sys.executable).with_name("mlaccel")
    run = subprocess.run(
        [str(mlaccel_command), "notebooks", "run"],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    summary = json.loads((here / "output" / "notebooks" / "summary.json").read_text())
    suite = yaml.safe_load((_paths.notebooks_dir() / "suite.yaml").read_text())
    expected = [Path(item["path"]).stem for item in suite["notebooks"]]
    assert [entry["notebook"] for entry in summary] == expected
    failed = {e["notebook"]: e.get("error") for e in summary if e["status"] != "succeeded"}
    assert not failed, failed
    assert all(entry["html"] for entry in summary), "every executed notebook renders as HTML"
    # what the notebooks write lands in the output folder, never in the installed package
    assert (here / "output" / "notebooks" / "reports" / "drift_report.html").is_file()
    assert _installed_files() == before
