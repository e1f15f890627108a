"""The output-hygiene check: each rule on a small hand-built notebook, and what it lets pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlaccel.notebooks import check_executed, check_outputs


def _nb(*outputs: dict[str, Any]) -> dict[str, Any]:
    return {"cells": [{"cell_type": "markdown", "source": "# t"},
                      {"cell_type": "code", "source": "x", "outputs": list(outputs)}]}  # fmt: skip


def _stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text}


def _rules(notebook: dict[str, Any], **kwargs: Any) -> list[str]:
    return [f.rule for f in check_outputs(notebook, name="t", **kwargs)]


def test_a_clean_notebook_passes() -> None:
    table = {"output_type": "execute_result", "data": {"text/plain": "  a  b\n0 1  2"},
             "metadata": {}, "execution_count": 1}  # fmt: skip
    image = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "fig"},
             "metadata": {"image/png": {"alt": "Histogram of price"}}}  # fmt: skip
    uri = _stream("wrote s3://mlaccel-local/tmp/features/train.csv and /opt/ml/model\n")
    assert _rules(_nb(table, image, uri, _stream("...\n"))) == []


def test_each_rule_names_the_cell_and_what_it_saw() -> None:
    error = {"output_type": "error", "ename": "KeyError", "evalue": "'price'", "traceback": []}
    findings = check_outputs(_nb(error), name="03_train_model")
    assert [str(f) for f in findings] == ["03_train_model cell 2: traceback: KeyError: 'price'"]
    assert _rules(_nb(_stream("Traceback (most recent call last):\n  File x\n"))) == ["traceback"]
    assert _rules(_nb(_stream("INFO sagemaker.config loaded\n", name="stderr"))) == ["stderr"]
    home = "/".join(["", "home", "alice", "project"])  # built: the repository holds no such path
    assert _rules(_nb(_stream(f"see {home}/out.csv\n"))) == ["machine path"]
    assert _rules(_nb(_stream("at /tmp/pytest-1/out\n"))) == ["machine path"]
    assert _rules(
        _nb(_stream("in /srv/checkout/notebooks\n")), machine_paths=["/srv/checkout"]
    ) == ["machine path"]
    dumped = json.dumps({f"key{i}": {"a": i} for i in range(30)}, indent=1)
    assert _rules(_nb(_stream(dumped))) == ["long JSON"]
    assert _rules(_nb(_stream(dumped)), max_json_lines=200) == []
    dots = [_stream(".") for _ in range(10)]
    assert _rules(_nb(*dots)) == ["progress dots"]
    bare = {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}}
    assert _rules(_nb(bare)) == ["no alt text"]
    html = '<img src="x" alt="Scores by model"/>'
    with_html = {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": "x", "text/html": html}}  # fmt: skip
    assert _rules(_nb(with_html)) == []


def test_executed_files_are_checked_by_name(tmp_path: Path) -> None:
    (tmp_path / "01_a.ipynb").write_text(json.dumps(_nb(_stream("oops", name="stderr"))))
    (tmp_path / "02_b.ipynb").write_text(json.dumps(_nb(_stream("fine"))))
    findings = check_executed(tmp_path.glob("*.ipynb"))
    assert [(f.notebook, f.rule) for f in findings] == [("01_a", "stderr")]


def test_the_run_summary_lists_the_findings(tmp_path: Path) -> None:
    from mlaccel.notebooks import NotebookResult, write_summary

    (tmp_path / "01_a.ipynb").write_text(json.dumps(_nb(_stream("oops", name="stderr"))))
    write_summary(
        [NotebookResult("01_a", "succeeded"), NotebookResult("02_b", "skipped")], tmp_path
    )
    summary = (tmp_path / "summary.md").read_text()
    assert "output hygiene: 1 finding(s)\n- 01_a cell 2: stderr: oops" in summary
