"""Standards CI enforces: clean notebooks, no secrets, no machine paths or account ids."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlaccel import nbclean
from tests.support import REPO


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / f for f in out if (REPO / f).is_file()]


def test_committed_notebooks_are_normalized() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlaccel.nbclean", "--check", "notebooks"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_normalize_strips_outputs_and_keeps_the_parameters_tag() -> None:
    dirty = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"], "execution": {"t": 1}},
                "outputs": [{"output_type": "stream", "text": "x"}],
                "execution_count": 3,
                "source": "a = 1",
            }
        ],
        "metadata": {"kernelspec": {"name": "python3"}, "papermill": {"duration": 1.0}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    clean = nbclean.normalize(dirty)
    assert clean["cells"][0]["outputs"] == [] and clean["cells"][0]["execution_count"] is None
    assert clean["cells"][0]["metadata"] == {"tags": ["parameters"]}
    assert clean["metadata"] == {"kernelspec": {"name": "python3"}}
    assert nbclean.normalize(clean) == clean


def test_check_mode_fails_on_a_dirty_notebook(tmp_path: Path) -> None:
    path = tmp_path / "dirty.ipynb"
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}],
                        "execution_count": 1,
                        "source": "print(1)",
                    }
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    assert nbclean.main(["--check", str(path)]) == 1
    assert nbclean.main([str(path)]) == 0
    assert nbclean.main(["--check", str(path)]) == 0


@pytest.mark.slow  # 6 s: detect-secrets scans the checkout
def test_no_secrets_in_code_or_notebooks() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("detect-secrets")),
            "scan",
            "--exclude-files",
            # lab/labextension/ is webpack's build (its chunk hashes look like keys), checked
            # against its sources' hash by test_snippets_menu
            r"(^|/)\.venv/|^bench/\.venv-|^tests/.*fixtures/|\.ipynb_checkpoints|\.secrets\.baseline"
            r"|^lab/labextension/|^lab/node_modules/",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(result.stdout)["results"]
    assert not found, f"possible secrets (mark placeholders `pragma: allowlist secret`): {found}"


MACHINE_PATH = re.compile(r"(?<![\w.])/(root|home/\w+|Users/\w+)/")
ACCOUNT_ID = re.compile(r"arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):")
TEXT_SUFFIXES = {".py", ".ipynb", ".md", ".yml", ".yaml", ".json", ".toml", ".sh", ".cfg", ".txt"}


@pytest.mark.parametrize("pattern", [MACHINE_PATH, ACCOUNT_ID], ids=["machine paths", "accounts"])
def test_no_machine_paths_or_account_ids(pattern: re.Pattern[str]) -> None:
    offenders = []
    for path in _tracked_files():
        if path.suffix not in TEXT_SUFFIXES or "fixtures" in path.parts:
            continue
        for match in pattern.finditer(path.read_text(errors="ignore")):
            if pattern is ACCOUNT_ID and match.group(1) in {"000000000000", "123456789012"}:
                continue  # documentation placeholders, not accounts
            offenders.append(f"{path.relative_to(REPO)}: {match.group(0)}")
    assert not offenders, offenders
