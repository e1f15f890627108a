"""Every snippet has its header and runs on the twin, areas in lifecycle order."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import mlaccel
from tests.support import REPO

AREAS = [
    "data_access",
    "exploration",
    "features",
    "training",
    "registry",
    "monitoring",
    "notifications",
]
ORDER = {  # within an area, files that need another's output come after it
    "data_access": ["publish_data_product.py"],
}
SNIPPETS = [
    path
    for area in AREAS
    for path in sorted(
        (REPO / "snippets" / area).glob("*.py"),
        key=lambda p: (p.name not in ORDER.get(p.parent.name, []), p.name),
    )
]


def test_every_area_folder_is_known() -> None:
    folders = {p.name for p in (REPO / "snippets").iterdir() if p.is_dir()}
    assert folders == set(AREAS)


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_snippet_has_a_header(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    fields = dict(line.split(":", 1) for line in doc.splitlines() if ":" in line)
    assert {"Title", "Description", "Needs"} <= set(fields), path.name
    assert all(fields[k].strip() for k in ("Title", "Description", "Needs"))


@pytest.mark.slow
def test_snippets_run_on_the_twin(conn: mlaccel.Connection) -> None:
    namespace: dict[str, Any] = {"conn": conn, "mlaccel": mlaccel}
    for path in SNIPPETS:
        try:
            exec(compile(path.read_text(), str(path), "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.relative_to(REPO)} failed: {exc!r}") from exc
    assert namespace["package_arn"].startswith("arn:aws:sagemaker:")
    assert "mileage" in namespace["result"].flagged_features
