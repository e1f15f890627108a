"""The snippets in JupyterLab's Code Snippets sidebar: headers parsed, instances written in the
extension's format (checked against its own schema and its own reader), idempotent installs,
the snippets shipped in the wheel, and the sidebar itself in headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from mlaccel import _paths, cli, snippets
from mlaccel.errors import MLAccelError
from tests.support import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    REPO,
    SCREENSHOTS,
    jupyterlab,
    needs_checkout,
    needs_chromium,
)

SNIPPET_FILES = sorted((REPO / "snippets").glob("*/*.py"))
AREAS = sorted(p.name for p in (REPO / "snippets").iterdir() if p.is_dir())
HAS_ELYRA = importlib.util.find_spec("elyra") is not None
needs_elyra = pytest.mark.skipif(not HAS_ELYRA, reason="needs the `lab` extra (elyra-server)")

GOOD = '''"""Title: Query a lake table
Description: Athena in an account, DuckDB on the twin: one call,
  over two lines.
Needs: conn, a published table
"""

from mlaccel import data

frame = data.query("SELECT 1", connection=conn)
frame
'''


def _write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- headers ------------------------------------------------------------------------------


def test_every_kit_snippet_parses_into_a_named_instance() -> None:
    found = snippets.load_snippets(REPO / "snippets")
    assert [s.path for s in found] == SNIPPET_FILES
    assert {s.area for s in found} == set(AREAS)
    names = [s.name for s in found]
    assert len(set(names)) == len(names)
    assert all(n.startswith("mlaccel-") and n == n.lower() and "_" not in n for n in names)
    query = next(s for s in found if s.path.name == "query_sql.py")
    assert query.name == "mlaccel-data-access-query-sql"
    assert query.title == "Query a lake table with SQL"
    assert query.needs == "conn, a published table"
    assert query.body.startswith("from mlaccel import data")


def test_header_fields_continuation_and_body(tmp_path: Path) -> None:
    snippet = snippets.parse_snippet(_write(tmp_path, "data_access/query.py", GOOD))
    assert snippet.area == "data_access"
    assert snippet.title == "Query a lake table"
    assert (
        snippet.description == "Athena in an account, DuckDB on the twin: one call, over two lines."
    )
    assert snippet.needs == "conn, a published table"
    assert (
        snippet.body
        == 'from mlaccel import data\n\nframe = data.query("SELECT 1", connection=conn)\nframe\n'
    )
    assert snippet.code.splitlines()[:3] == [
        "# Query a lake table",
        "# Needs: conn, a published table",
        "",
    ]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("x = 1\n", "no header docstring"),
        ('"""Title: T\nDescription: D\n"""\nx = 1\n', "Needs"),
        ('"""Title:\nDescription: D\nNeeds: conn\n"""\nx = 1\n', "Title"),
        ('"""Title: T\nTitle: U\nDescription: D\nNeeds: conn\n"""\nx = 1\n', "appears twice"),
        ('"""A cell.\nTitle: T\nDescription: D\nNeeds: conn\n"""\nx = 1\n', "comes before Title"),
        ('"""Title: T\nDescription: D\nNeeds: conn\n"""\n', "no code after it"),
        ('"""Title: T\nDescription: D\nNeeds: conn\n"""\nx = (\n', "not valid Python"),
    ],
    ids=["no-docstring", "no-needs", "empty-title", "twice", "prose-first", "no-code", "syntax"],
)
def test_malformed_header_names_the_file(tmp_path: Path, text: str, complaint: str) -> None:
    path = _write(tmp_path, "area/bad_one.py", text)
    with pytest.raises(MLAccelError, match=complaint) as caught:
        snippets.load_snippets(tmp_path)
    assert str(path) in str(caught.value)


def test_no_snippets_names_the_folder(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "no code here")
    with pytest.raises(MLAccelError, match="no snippets in") as caught:
        snippets.load_snippets(tmp_path)
    assert str(tmp_path) in str(caught.value)


# -- instances ----------------------------------------------------------------------------


def test_instance_format(tmp_path: Path) -> None:
    snippet = snippets.parse_snippet(_write(tmp_path, "data_access/query.py", GOOD))
    doc = snippets.instance(snippet)
    assert doc["name"] == "mlaccel-data-access-query"
    assert doc["display_name"] == "Query a lake table"
    assert doc["schema_name"] == "code-snippet"
    assert doc["metadata"]["language"] == "Python"
    assert doc["metadata"]["tags"] == ["data_access"]
    assert doc["metadata"]["description"].endswith("Needs: conn, a published table.")
    assert "\n".join(doc["metadata"]["code"]) + "\n" == snippet.code


@needs_elyra
def test_instances_follow_the_extensions_own_schema() -> None:
    import jsonschema

    spec = importlib.util.find_spec("elyra")
    assert spec is not None and spec.submodule_search_locations
    schema_file = Path(next(iter(spec.submodule_search_locations))) / "metadata"
    schema = json.loads((schema_file / "schemas" / "code-snippet.json").read_text())
    schema.pop("$schema")  # Elyra's meta-schema, an address; the body is plain JSON Schema
    for snippet in snippets.load_snippets(REPO / "snippets"):
        jsonschema.validate(snippets.instance(snippet), schema)


@needs_elyra
def test_the_extensions_reader_lists_every_snippet(tmp_path: Path) -> None:
    """Elyra's own metadata manager (what the sidebar's REST call uses) reads them as valid."""
    data_dir = tmp_path / "jupyter-data"
    installed = snippets.install(snippets.load_snippets(REPO / "snippets"), data_dir=data_dir)
    reader = (
        "import json\n"
        "from elyra.metadata.manager import MetadataManager\n"
        "found = MetadataManager(schemaspace='code-snippets').get_all(include_invalid=True)\n"
        "print(json.dumps({m.name: m.reason for m in found}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", reader],
        env={"JUPYTER_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(run.stdout.strip().splitlines()[-1])
    ours = {name: reason for name, reason in found.items() if name.startswith("mlaccel-")}
    assert sorted(ours) == sorted(installed.written)
    assert not any(ours.values()), ours  # `reason` is set only for an invalid instance


# -- install ------------------------------------------------------------------------------


def test_install_is_idempotent(tmp_path: Path) -> None:
    kit = snippets.load_snippets(REPO / "snippets")
    first = snippets.install(kit, data_dir=tmp_path)
    contents = {p.name: p.read_bytes() for p in first.directory.iterdir()}
    second = snippets.install(kit, data_dir=tmp_path)
    assert first.directory == second.directory == tmp_path / "metadata" / "code-snippets"
    assert first.written == second.written == [s.name for s in kit]
    assert second.removed == []
    assert {p.name: p.read_bytes() for p in second.directory.iterdir()} == contents
    assert sorted(contents) == sorted(f"{s.name}.json" for s in kit)


def test_install_removes_its_stale_instances_only(tmp_path: Path) -> None:
    folder = tmp_path / "metadata" / "code-snippets"
    folder.mkdir(parents=True)
    stale = folder / "mlaccel-old-area-gone.json"
    stale.write_text("{}")
    mine = folder / "my-own-snippet.json"
    mine.write_text('{"display_name": "mine"}')
    result = snippets.install(snippets.load_snippets(REPO / "snippets"), data_dir=tmp_path)
    assert result.removed == ["mlaccel-old-area-gone"]
    assert not stale.exists()
    assert mine.read_text() == '{"display_name": "mine"}'


def test_install_follows_jupyter_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    result = snippets.install()
    assert result.directory == tmp_path / "data" / "metadata" / "code-snippets"
    assert len(result.written) == len(SNIPPET_FILES)


def test_cli_install_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["snippets", "install", "--target", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{len(SNIPPET_FILES)} snippets installed in {tmp_path}" in out
    assert len(list((tmp_path / "metadata" / "code-snippets").glob("mlaccel-*.json"))) == len(
        SNIPPET_FILES
    )
    assert cli.main(["snippets", "list"]) == 0
    listed = capsys.readouterr().out
    assert "mlaccel-data-access-query-sql  Query a lake table with SQL" in listed
    assert len(listed.splitlines()) == len(SNIPPET_FILES)


def test_cli_error_names_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["snippets", "install", "--source", str(empty), "--target", str(tmp_path)]) == 2
    assert f"no snippets in {empty}" in capsys.readouterr().err


# -- where the snippets are ---------------------------------------------------------------


@needs_checkout
def test_snippets_dir_in_a_clone_and_by_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLACCEL_SNIPPETS", raising=False)
    assert _paths.snippets_dir() == REPO / "snippets"
    monkeypatch.setenv("MLACCEL_SNIPPETS", str(tmp_path))
    assert _paths.snippets_dir() == tmp_path
    monkeypatch.setenv("MLACCEL_SNIPPETS", str(tmp_path / "missing"))
    with pytest.raises(MLAccelError, match="MLACCEL_SNIPPETS"):
        _paths.snippets_dir()


def test_snippets_dir_of_an_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a clone, the copy the wheel put in <prefix>/share/mlaccel/snippets."""
    monkeypatch.delenv("MLACCEL_SNIPPETS", raising=False)
    monkeypatch.setattr(_paths, "_CHECKOUT", tmp_path / "site-packages")
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(_paths.sysconfig, "get_path", lambda name: str(prefix))
    with pytest.raises(MLAccelError, match="snippets/ folder"):
        _paths.snippets_dir()
    shutil.copytree(REPO / "snippets", prefix / "share" / "mlaccel" / "snippets")
    assert _paths.snippets_dir() == prefix / "share" / "mlaccel" / "snippets"
    assert len(snippets.load_snippets()) == len(SNIPPET_FILES)


def test_every_area_is_shipped_in_the_wheel() -> None:
    table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    areas = {
        k: v for k, v in table["data-files"].items() if k.startswith("share/mlaccel/snippets/")
    }
    assert areas == {f"share/mlaccel/snippets/{a}": [f"snippets/{a}/*.py"] for a in AREAS}


def test_the_wheel_carries_the_snippets(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "lib" / "mlaccel",
        source / "lib" / "mlaccel",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(REPO / "snippets", source / "snippets")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("mlaccel-*.whl")
    members = zipfile.ZipFile(wheel).namelist()
    data = "mlaccel-0.1.0.data/data/share/mlaccel/snippets/"
    expected = {data + str(p.relative_to(REPO / "snippets")) for p in SNIPPET_FILES}
    assert expected <= set(members)


# -- the sidebar, for real ----------------------------------------------------------------


@pytest.mark.slow
@needs_chromium
@needs_elyra
def test_snippets_show_in_the_sidebar_and_insert_into_a_cell(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    data_dir = tmp_path / "jupyter-data"
    env = {"JUPYTER_DATA_DIR": str(data_dir)}
    install = subprocess.run(
        [sys.executable, "-m", "mlaccel.cli", "snippets", "install"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert install.returncode == 0, install.stderr
    kit = snippets.load_snippets(REPO / "snippets")
    chosen = next(s for s in kit if s.path.name == "query_sql.py")

    root = tmp_path / "lab"
    root.mkdir()
    notebook = root / "snippets.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebook)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with jupyterlab(root, tmp_path, env) as (url, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/lab/tree/{notebook.name}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60_000)
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
        )
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():  # "Select Kernel", when the kernel is slow to start
            dialog.first.click()

        page.locator(".jp-SideBar .lm-TabBar-tab[data-id='elyra-metadata:code-snippets']").click()
        page.wait_for_selector(".elyra-expandableContainer-name", timeout=30_000)
        shown = set(page.locator(".elyra-expandableContainer-name").all_inner_texts())
        handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
        box = handle.bounding_box()
        if box:  # a wider sidebar, so the titles read in full on the screenshot
            page.mouse.move(box["x"] + 1, box["y"] + 200)
            page.mouse.down()
            page.mouse.move(box["x"] + 300, box["y"] + 200, steps=5)
            page.mouse.up()

        page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
        item = page.locator(".elyra-metadata-item").filter(
            has=page.locator(".elyra-expandableContainer-name", has_text=chosen.title)
        )
        item.locator("button[title='Show Details']").click()
        item.locator("button[title='Insert']").click()
        page.wait_for_function(  # the sidebar puts it in a new cell below the active one
            "text => [...document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content')]"
            ".some(cell => cell.innerText.includes(text))",
            arg="data.query(",
            timeout=15_000,
        )
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        sources: list[str] = []
        while time.monotonic() < deadline and chosen.code.rstrip("\n") not in sources:
            time.sleep(0.5)
            sources = [c.source for c in nbformat.read(notebook, as_version=4).cells]
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab_code_snippets.png"))
        browser.close()

    assert {f"[Python] {s.title}" for s in kit} <= shown, shown
    assert chosen.code.rstrip("\n") in sources, sources
