"""JupyterLab for real: the pinned JupyterLab on loopback, a notebook run through its UI in
headless Chromium, and a screenshot of the result; notebooks opened and saved there stay clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlaccel import nbclean
from mlaccel_twin import Twin
from tests.support import CHROMIUM, CHROMIUM_FLAGS, REPO, SCREENSHOTS, jupyterlab, needs_chromium

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture
def lab(twin: Twin, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab serving a copy of the notebooks, its kernels pointed at the test twin."""
    root = tmp_path / "lab"
    shutil.copytree(REPO / "notebooks", root)
    env = {"MLACCEL_TWIN_URL": twin.url, "MLACCEL_BACKEND": "local"}
    with jupyterlab(root, tmp_path, env) as (url, token):
        yield url, token, root


def test_notebook_runs_through_the_jupyterlab_ui(lab: tuple[str, str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, token, root = lab
    notebook = (
        "01_explore_data.ipynb"
        if (root / "01_explore_data.ipynb").exists()
        else sorted(p.name for p in root.glob("0*.ipynb"))[0]
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{notebook}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
        )

        def accept_dialog() -> bool:  # "Select Kernel" shows up when the kernel starts
            button = page.locator(".jp-Dialog .jp-mod-accept")
            if button.count():
                button.first.click()
                return True
            return False

        def run_all() -> None:
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

        page.wait_for_timeout(3000)
        accept_dialog()
        run_all()
        code_cells = sum(
            c["cell_type"] == "code" for c in json.loads((root / notebook).read_text())["cells"]
        )
        done: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if accept_dialog():  # it interrupted the run: start it again
                run_all()
            prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
            done = [t for t in prompts if re.fullmatch(r"\[\d+\]:", t.strip())]
            if len(done) == code_cells:
                break
            time.sleep(1)
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab_notebook.png"), full_page=False)
        browser.close()
    assert len(done) == code_cells, f"{len(done)} of {code_cells} cells ran in the UI"
    assert not tracebacks, tracebacks[:2]


def _open_and_save(url: str, token: str, name: str) -> bool:
    """Open ``name`` in JupyterLab, wait for its kernel, save it (Ctrl+S); whether it showed
    as modified before the save."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/lab/tree/{name}?reset&token={token}")  # reset: no restored tabs
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_function(  # the kernel is connected: JupyterLab has its metadata
            "() => document.querySelector('.jp-StatusBar-Widget')"
            " && document.body.innerText.includes('| Idle')",
            timeout=60_000,
        )
        page.wait_for_timeout(2000)
        modified = page.locator(".jp-mod-current.jp-mod-dirty").count() > 0
        page.locator(".jp-NotebookPanel:visible .jp-NotebookPanel-toolbar").click()  # no edit
        page.keyboard.press("Control+s")
        page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=20_000)
        page.wait_for_timeout(1000)
        browser.close()
    return modified


def test_notebooks_opened_and_saved_in_jupyterlab_stay_clean(tmp_path: Path) -> None:
    """Opening marks nothing modified once the notebook carries JupyterLab's kernel metadata
    (``nbclean --kernel-metadata``); saving either form keeps the normalization check green,
    and a save changes nothing but that metadata."""
    root = tmp_path / "lab"
    root.mkdir()
    committed = REPO / "notebooks" / "02_engineer_features.ipynb"
    if not committed.exists():
        committed = sorted((REPO / "notebooks").glob("0*.ipynb"))[0]
    as_committed = root / "as_committed.ipynb"
    with_kernel = root / "with_kernel_metadata.ipynb"
    shutil.copyfile(committed, as_committed)
    shutil.copyfile(committed, with_kernel)
    assert nbclean.main(["--kernel-metadata", str(with_kernel)]) == 0
    kernel_form = with_kernel.read_text()

    with jupyterlab(root, tmp_path) as (url, token):
        modified = _open_and_save(url, token, with_kernel.name)
        _open_and_save(url, token, as_committed.name)

    assert not modified, "opening the notebook marked it modified"
    assert with_kernel.read_text() == kernel_form  # a save writes exactly the same bytes
    check = subprocess.run(
        [sys.executable, "-m", "mlaccel.nbclean", "--check", str(root)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    before, after = json.loads(committed.read_text()), json.loads(as_committed.read_text())
    assert after["cells"] == before["cells"]
    assert {k: v for k, v in after.items() if k != "metadata"} == {
        k: v for k, v in before.items() if k != "metadata"
    }
    assert set(after["metadata"]) == {"kernelspec", "language_info"}
    assert after["metadata"] == json.loads(kernel_form)["metadata"]
