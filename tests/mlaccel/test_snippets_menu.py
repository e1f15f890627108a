"""The snippets in the kit's JupyterLab sidebar: headers parsed, the catalog the server extension
serves, idempotent installs, a committed frontend build that matches its sources, the sidebar
shipped in the wheel, and the sidebar itself in headless Chromium."""

from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from mlaccel import _paths, cli, lab, snippets
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
LAB = REPO / "lab"

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


# -- the catalog the sidebar reads ------------------------------------------------------------


def test_catalog_groups_the_snippets_by_area_in_order(tmp_path: Path) -> None:
    first = snippets.parse_snippet(_write(tmp_path, "training/fit.py", GOOD))
    second = snippets.parse_snippet(_write(tmp_path, "data_access/query.py", GOOD))
    areas = lab.catalog([first, second])["areas"]
    assert [a["name"] for a in areas] == ["data_access", "training"]
    (entry,) = areas[0]["snippets"]
    assert entry == {
        "name": "mlaccel-data-access-query",
        "title": "Query a lake table",
        "description": "Athena in an account, DuckDB on the twin: one call, over two lines.",
        "needs": "conn, a published table",
        "code": second.code,
    }


def test_catalog_of_the_kit_lists_every_snippet_once() -> None:
    areas = lab.catalog(snippets.load_snippets(REPO / "snippets"))["areas"]
    assert [a["name"] for a in areas] == AREAS
    titles = [s["title"] for a in areas for s in a["snippets"]]
    assert len(titles) == len(SNIPPET_FILES) == len(set(titles))
    assert json.loads(json.dumps(areas)) == areas  # what the handler sends


# -- the frontend build and its install ---------------------------------------------------------


@needs_checkout
def test_the_committed_build_matches_its_sources() -> None:
    """A source under lab/ changed without `make labextension`: the build is stale."""
    hashes = runpy.run_path(str(LAB / "sources_hash.py"))
    recorded = (LAB / "labextension" / "sources.sha256").read_text().strip()
    assert recorded == hashes["sources_hash"](), "run `make labextension` and commit lab/"
    built = json.loads((LAB / "labextension" / "package.json").read_text())
    assert built["name"] == lab.EXTENSION_NAME
    assert (LAB / "labextension" / built["jupyterlab"]["_build"]["load"]).is_file()


@needs_checkout
def test_the_sources_hash_sees_a_changed_source(tmp_path: Path) -> None:
    hashes = runpy.run_path(str(LAB / "sources_hash.py"))
    copy = tmp_path / "lab"
    for name in ("package.json", "package-lock.json", "tsconfig.json", "src", "style"):
        source = LAB / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy(source, copy / name)
    before = hashes["sources_hash"](copy)
    assert before == hashes["sources_hash"](LAB)
    (copy / "src" / "index.ts").write_text("// edited\n", encoding="utf-8")
    assert hashes["sources_hash"](copy) != before


def test_install_puts_the_sidebar_in_a_prefix_idempotently(tmp_path: Path) -> None:
    first = snippets.install(prefix=tmp_path)
    target = tmp_path / "share" / "jupyter" / "labextensions" / "mlaccel-snippets"
    assert first.labextension == target and first.copied
    assert json.loads((target / "package.json").read_text())["name"] == "mlaccel-snippets"
    config = tmp_path / "etc" / "jupyter" / "jupyter_server_config.d" / "mlaccel.json"
    assert first.server_config == config
    assert json.loads(config.read_text()) == snippets.SERVER_CONFIG
    assert (
        json.loads((LAB / "jupyter-config" / "mlaccel.json").read_text()) == snippets.SERVER_CONFIG
    )
    kit = snippets.load_snippets(REPO / "snippets")
    copy = json.loads((target / "static" / snippets.CATALOG_FILE).read_text())
    assert copy == lab.catalog(kit)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    second = snippets.install(kit[:2], prefix=tmp_path)
    assert second.copied  # the clone's build is the newest: copied again
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    copy = json.loads((target / "static" / snippets.CATALOG_FILE).read_text())
    assert copy == lab.catalog(kit[:2])


def test_install_without_a_build_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(MLAccelError, match="make labextension") as caught:
        snippets.install(prefix=tmp_path / "env", source=tmp_path / "missing")
    assert str(tmp_path / "missing") in str(caught.value)


def test_cli_install_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["snippets", "install", "--target", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"snippets sidebar copied to {tmp_path}/share/jupyter/labextensions/" in out
    assert f"lists {len(SNIPPET_FILES)} snippets" in out
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
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "lib" / "mlaccel",
        source / "lib" / "mlaccel",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(REPO / "snippets", source / "snippets")
    shutil.copytree(LAB, source / "lab", ignore=shutil.ignore_patterns("node_modules", "lib"))
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
    # the sidebar: its built frontend and the file that enables its server extension
    built = LAB / "labextension"
    prefix = "mlaccel-0.1.0.data/data/share/jupyter/labextensions/mlaccel-snippets/"
    shipped = {prefix + p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    assert shipped <= set(members), shipped - set(members)
    config = "mlaccel-0.1.0.data/data/etc/jupyter/jupyter_server_config.d/mlaccel.json"
    assert config in members
    assert "mlaccel/lab/__init__.py" in members


# -- %load from a notebook's folder ------------------------------------------------------------

DOCS_WITH_LOAD = ("README.md", "docs/workshop.md", "snippets/README.md")


@needs_checkout
def test_documented_load_paths_resolve_from_the_notebooks_folder() -> None:
    found = {
        (doc, path)
        for doc in DOCS_WITH_LOAD
        for path in re.findall(r"%load (\.\./snippets/[\w/]+\.py)", (REPO / doc).read_text())
    }
    assert {doc for doc, _ in found} == set(DOCS_WITH_LOAD), "each doc shows a %load line"
    missing = [(doc, path) for doc, path in found if not (REPO / "notebooks" / path).is_file()]
    assert not missing, f"not found from notebooks/: {missing}"
    unprefixed = [
        doc for doc in DOCS_WITH_LOAD if re.search(r"%load snippets/", (REPO / doc).read_text())
    ]
    assert not unprefixed, f"%load snippets/... fails from notebooks/: {unprefixed}"


@pytest.mark.slow
@needs_checkout
def test_load_pastes_the_snippet_in_a_kernel_started_in_notebooks() -> None:
    """IPython's %load, in a kernel whose working folder is notebooks/ as JupyterLab's is."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO / "notebooks"))
    try:
        reply = client.execute_interactive(
            "%load ../snippets/data_access/query_sql.py", timeout=60, store_history=False
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    (payload,) = [p for p in reply["content"]["payload"] if p["source"] == "set_next_input"]
    pasted = payload["text"]
    assert pasted.startswith("# %load ../snippets/data_access/query_sql.py\n")
    source = (REPO / "snippets" / "data_access" / "query_sql.py").read_text()
    assert pasted.split("\n", 1)[1].strip() == source.strip()


# -- the sidebar, for real ----------------------------------------------------------------


def _page_config(page_html: str) -> dict[str, object]:
    """The JSON JupyterLab embeds in its page: the extensions it loads, among others."""
    found = re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page_html, re.S)
    assert found, "JupyterLab's page has no jupyter-config-data"
    return dict(json.loads(found.group(1)))


@pytest.mark.slow
@needs_chromium
def test_snippets_show_in_the_sidebar_and_insert_into_a_cell(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    kit = snippets.load_snippets(REPO / "snippets")
    chosen = next(s for s in kit if s.path.name == "query_sql.py")
    root = tmp_path / "lab"
    root.mkdir()
    notebook = root / "snippets.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebook)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with jupyterlab(root, tmp_path) as (url, token), sync_playwright() as p:
        with urllib.request.urlopen(f"{url}/mlaccel/snippets?token={token}") as answer:
            served = json.load(answer)
        with urllib.request.urlopen(f"{url}/lab?token={token}") as answer:
            config = _page_config(answer.read().decode())
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

        page.locator(".jp-SideBar .lm-TabBar-tab[data-id='mlaccel-snippets']").click()
        page.wait_for_selector(".mlaccel-Snippets-item", timeout=30_000)
        shown_areas = page.locator(".mlaccel-Snippets-area").evaluate_all(
            "sections => sections.map(s => s.dataset.area)"
        )
        shown_titles = page.locator(".mlaccel-Snippets-insert").all_inner_texts()
        descriptions = page.locator(".mlaccel-Snippets-description").all_inner_texts()

        search = page.locator(".mlaccel-Snippets-search")
        search.fill("athena")
        filtered = page.locator(".mlaccel-Snippets-insert").all_inner_texts()
        search.fill("no snippet says this")
        nothing = page.locator(".mlaccel-Snippets-status").inner_text()
        search.fill("")

        page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
        page.locator(f".mlaccel-Snippets-item[data-name='{chosen.name}'] button").click()
        page.wait_for_function(  # a new cell below the active one, which has code
            "text => [...document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content')]"
            ".some(cell => cell.innerText.includes(text))",
            arg="data.query(",
            timeout=15_000,
        )
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab_snippets_sidebar.png"))
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        sources: list[str] = []
        while time.monotonic() < deadline and chosen.code.rstrip("\n") not in sources:
            time.sleep(0.5)
            sources = [c.source for c in nbformat.read(notebook, as_version=4).cells]

        page.keyboard.press("Control+Shift+l")  # the launcher
        page.wait_for_selector(".jp-LauncherCard", timeout=15_000)
        tiles = page.locator(".jp-LauncherCard").evaluate_all(
            "cards => cards.map(c => c.closest('.jp-Launcher-section')"
            ".querySelector('.jp-Launcher-sectionTitle').innerText + ' / ' + c.title)"
        )
        browser.close()

    assert [a["name"] for a in served["areas"]] == AREAS
    assert shown_areas == AREAS
    assert sorted(shown_titles) == sorted(s.title for s in kit)
    assert set(descriptions) == {s.description for s in kit}
    assert chosen.title in filtered and 0 < len(filtered) < len(kit), filtered
    assert nothing == "No snippet matches the search."
    assert sources == ["x = 1", chosen.code.rstrip("\n")], sources
    assert tiles and len(tiles) == len(set(tiles)), f"launcher tiles twice: {tiles}"
    loaded = [e["name"] for e in config["federated_extensions"]]  # type: ignore[index]
    assert lab.EXTENSION_NAME in loaded
    unwanted = [n for n in loaded if {"lsp", "ai", "git", "elyra"} & set(re.split(r"\W+", n))]
    assert not unwanted, f"JupyterLab loads {unwanted}"
    assert not (root / ".virtual_documents").exists()


@pytest.mark.slow
@needs_chromium
def test_the_sidebar_reads_the_installed_catalog_without_the_server_extension(
    tmp_path: Path,
) -> None:
    """A JupyterLab that cannot import mlaccel.lab (Studio's image) lists the copy
    `mlaccel snippets install --target PREFIX` wrote beside the frontend."""
    from playwright.sync_api import sync_playwright

    kit = snippets.load_snippets(REPO / "snippets")
    prefix = tmp_path / "user"
    snippets.install(kit, prefix=prefix)
    config = tmp_path / "jupyter-config"
    config.mkdir()
    disabled = {"ServerApp": {"jpserver_extensions": {"mlaccel.lab": False}}}
    (config / "jupyter_server_config.json").write_text(json.dumps(disabled))
    root = tmp_path / "lab"
    root.mkdir()
    env = {"JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    with jupyterlab(root, tmp_path, env) as (url, token), sync_playwright() as p:
        with pytest.raises(urllib.error.HTTPError) as served:
            urllib.request.urlopen(f"{url}/mlaccel/snippets?token={token}")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/lab?token={token}")
        page.locator(".jp-SideBar .lm-TabBar-tab[data-id='mlaccel-snippets']").click()
        page.wait_for_selector(".mlaccel-Snippets-item", timeout=30_000)
        titles = page.locator(".mlaccel-Snippets-insert").all_inner_texts()
        browser.close()
    assert served.value.code == 404
    assert sorted(titles) == sorted(s.title for s in kit)
