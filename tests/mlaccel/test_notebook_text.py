"""Notebooks 04-06 link their contents and import no private module; every notebook documents
each parameter with its default."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from tests.support import REPO

NOTEBOOKS = ["04_author_pipelines", "05_score_model", "06_analyze_drift"]


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize(
    "name", ["01_explore_data", "02_engineer_features", "03_train_model", *NOTEBOOKS]
)
def test_the_parameter_table_names_every_parameter_with_its_default(name: str) -> None:
    notebook = _read(name)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    defaults = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", notebook.cells[0].source, re.MULTILINE)
    assert {key: ast.literal_eval(value) for key, value in rows} == defaults


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_contents_link_has_its_anchor_and_the_notebook_ends_with_what_to_change(
    name: str,
) -> None:
    notebook = _read(name)
    links = re.findall(r"\]\(#([\w-]+)\)", notebook.cells[0].source)
    anchors = {a for c in notebook.cells for a in re.findall(r'<a id="([\w-]+)"></a>', c.source)}
    assert links and set(links) <= anchors, set(links) - anchors
    assert notebook.cells[-1].source.splitlines()[1] == "## What to change next"
    assert "**Runtime.**" in notebook.cells[0].source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_private_module_is_imported_and_figures_carry_alt_text(name: str) -> None:
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert not re.search(r"from mlaccel\._\w+ import|import mlaccel\._", code)
    assert "display(Image(" not in code  # images go through report.show_figure (alt text)
