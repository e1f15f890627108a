"""One dependency truth: pyproject.toml states the ranges the kit works with, the lock files
hold exact sets within them, environment.yml only installs the project through the lock, and
the environment the tests run in is the lock it was installed from.

``make setup`` installs ``requirements/lock.txt``; the lowest lane (``make test-lowest``) sets
``MLACCEL_LOCK=requirements/lowest.txt``, the oldest versions pyproject allows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from mlaccel_twin import seams
from tests.support import REPO, needs_git

LOCK = REPO / "requirements" / "lock.txt"
LOWEST = REPO / "requirements" / "lowest.txt"
# What the lab environment must not carry unless a user installs it: language servers and their
# JupyterLab extension, AI assistants, git and pipeline extensions, and the Elyra server.
UNWANTED_IN_LAB = re.compile(
    r"^(python-lsp-server|pylsp-.*|jupyterlab-lsp|jedi-language-server|jupyter-ai.*|"
    r"jupyterlab-git|jupyterlab-magic-wand|elyra.*|kfp.*|langchain.*|nbdime)$"
)
# The twin patches these libraries' internals: only the versions its seams were written for.
PATCHED = {"moto", "sagemaker", "stepfunctions"}
# pyarrow's majors come every quarter and keep the Parquet API the kit uses: no upper bound.
WITHOUT_UPPER_BOUND = {"pyarrow"}


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    marker: Marker | None


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirements(*, extras: bool = True) -> list[Requirement]:
    """pyproject's requirements (core, then every extra), the extras' references to the project
    itself left out."""
    project = _pyproject()["project"]
    listed = list(project["dependencies"])
    if extras:
        for extra in project["optional-dependencies"].values():
            listed += [d for d in extra if not d.startswith("mlaccel")]
    return [Requirement(d) for d in listed]


def _read_lock(path: Path) -> list[Locked]:
    entries = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        spec, _, marker = line.partition(";")
        name, _, version = spec.strip().partition("==")
        assert version, f"{path.name}: {line!r} is not pinned exactly; regenerate with make lock"
        entries.append(
            Locked(canonicalize_name(name), version, Marker(marker) if marker.strip() else None)
        )
    return entries


def _environment(python: str) -> dict[str, str]:
    """Marker values of CPython ``python`` (e.g. "3.12") on Linux x86_64, CI's platform."""
    env = dict(default_environment())
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def _applies(marker: Marker | None, env: dict[str, str]) -> bool:
    return marker is None or marker.evaluate({**env, "extra": ""})


def _locked_for(path: Path, env: dict[str, str]) -> dict[str, str]:
    """The lock's versions that ``env`` installs; a name locked twice for it is an error."""
    found: dict[str, str] = {}
    for entry in _read_lock(path):
        if _applies(entry.marker, env):
            assert entry.name not in found, f"{path.name} locks {entry.name} twice for {env}"
            found[entry.name] = entry.version
    return found


# -- pyproject.toml: ranges --------------------------------------------------------------


def test_every_runtime_dependency_has_a_tested_range() -> None:
    """Lower bounds everywhere; upper bounds below the next major; no exact pin in the core,
    so a shared environment (a SageMaker Distribution image) can satisfy them."""
    for req in _requirements(extras=False):
        operators = {spec.operator for spec in req.specifier}
        assert ">=" in operators, f"{req}: give the lowest version the lowest lane tests"
        assert "==" not in operators, f"{req}: a range, not a pin, for the library's users"
        if req.name not in WITHOUT_UPPER_BOUND:
            assert "<" in operators, f"{req}: stop below the next major version"


def test_only_the_libraries_the_twin_patches_are_pinned() -> None:
    twin = [Requirement(d) for d in _pyproject()["project"]["optional-dependencies"]["twin"]]
    exact = {r.name for r in twin if any(s.operator == "==" for s in r.specifier)}
    assert exact - {"duckdb", "duckdb-extension-httpfs"} <= PATCHED
    by_name = {r.name: r for r in twin}
    for name in PATCHED:  # exactly the versions check_versions accepts
        pinned = seams.PINNED_VERSIONS[name]
        oldest = seams.OLDEST_VERSIONS.get(name, pinned)
        tested = f"=={pinned}" if oldest == pinned else f">={oldest},<={pinned}"
        assert by_name[name].specifier == SpecifierSet(tested), f"{by_name[name]}: use {tested}"


def test_python_versions_agree() -> None:
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    for python in ("3.11", "3.12", "3.13"):
        assert f"{python}.0" in requires
    assert f"{sys.version_info.major}.{sys.version_info.minor}.0" in requires
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if str(d).startswith("python"))
    assert f"{conda_python.split('=')[1]}.0" in requires


def test_sagemaker_stays_on_v2_for_stepfunctions() -> None:
    sagemaker = next(r for r in _requirements(extras=False) if r.name == "sagemaker")
    assert not sagemaker.specifier.contains("3.0.0") and sagemaker.specifier.contains("2.257.7")
    text = (REPO / "pyproject.toml").read_text()
    assert "stepfunctions 2.3.0 imports" in text  # the reason stays next to the range


def test_xgboost_is_the_cpu_build() -> None:
    """The GPU build brings NVIDIA's libraries on Linux; nothing in the locks pulls it back."""
    env = _environment("3.11")
    linux = [r for r in _requirements() if r.marker is None or _applies(r.marker, env)]
    assert "xgboost-cpu" in {r.name for r in linux}
    assert "xgboost" not in {r.name for r in linux}
    for path, python in ((LOCK, "3.11"), (LOCK, "3.13"), (LOWEST, "3.12")):
        locked = _locked_for(path, _environment(python))
        assert "xgboost" not in locked, f"{path.name} brings the GPU xgboost back"
        assert not [n for n in locked if n.startswith("nvidia-")], path.name


# -- the lock files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "python"),
    [(LOCK, "3.11"), (LOCK, "3.12"), (LOCK, "3.13"), (LOWEST, "3.12")],
    ids=["lock-3.11", "lock-3.12", "lock-3.13", "lowest-3.12"],
)
def test_the_lock_satisfies_pyprojects_ranges(path: Path, python: str) -> None:
    env = _environment(python)
    locked = _locked_for(path, env)
    wrong = []
    for req in _requirements():
        if not _applies(req.marker, env):
            continue
        name = canonicalize_name(req.name)
        if name not in locked or not req.specifier.contains(locked[name], prereleases=True):
            wrong.append(f"{req} (locked: {locked.get(name, 'missing')})")
    assert not wrong, f"{path.name} does not satisfy pyproject.toml, run `make lock`: {wrong}"


def test_the_lowest_set_is_at_every_lower_bound() -> None:
    """Each lower bound of pyproject is a version the lowest lane really runs."""
    locked = _locked_for(LOWEST, _environment("3.12"))
    untested = []
    for req in _requirements():
        if not _applies(req.marker, _environment("3.12")):
            continue
        lows = [spec.version for spec in req.specifier if spec.operator in (">=", "==")]
        if lows and Version(locked[canonicalize_name(req.name)]) != max(map(Version, lows)):
            untested.append(f"{req} (lowest lane: {locked[canonicalize_name(req.name)]})")
    assert not untested, f"raise these lower bounds to what the lowest lane runs: {untested}"


def test_the_locks_carry_no_language_server_ai_or_git_extension() -> None:
    for path in (LOCK, LOWEST):
        names = {entry.name for entry in _read_lock(path)}
        assert {"jupyterlab", "nbstripout"} <= names, path.name
        unwanted = sorted(n for n in names if UNWANTED_IN_LAB.match(n))
        assert not unwanted, f"{path.name} carries {unwanted}: the lab stays lean"
        header = "".join(path.read_text().splitlines(keepends=True)[:3])
        assert "uv pip compile pyproject.toml" in header and "--excludes" not in header


# -- environment.yml and the environment itself --------------------------------------------


def test_environment_yml_installs_the_lock_and_the_project_only() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_deps = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(re.split(r"[=<>]", d)[0] for d in conda_deps) == ["pip", "python"]
    assert pip_deps == ["-r requirements/lock.txt", "-e .[dev]"], (
        "environment.yml installs the lock and pyproject's project, never a list of its own"
    )


def test_installed_set_matches_the_lock() -> None:
    """Every locked package at its locked version, and nothing else (the GPU xgboost left
    behind by an old environment, say): reinstall with `make setup` when this fails."""
    lock = REPO / os.environ.get("MLACCEL_LOCK", "requirements/lock.txt")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = {**_environment(python), **default_environment()}
    locked = _locked_for(lock, env)
    # setuptools puts its vendored packages on sys.path once imported: not installed ones
    paths = [entry for entry in sys.path if "_vendor" not in Path(entry).parts]
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=paths)
    }
    differ = {
        name: f"{installed.get(name, 'missing')} (locked {version})"
        for name, version in locked.items()
        if installed.get(name) != version
    }
    extra = sorted(set(installed) - set(locked) - {"mlaccel", "pip"})
    assert not differ, f"installed versions differ from {lock.name}: {differ}"
    assert not extra, f"installed but not in {lock.name}: {extra}"


def test_import_mlaccel_does_not_load_heavy_sdks() -> None:
    code = (
        "import sys, mlaccel; "
        "print(','.join(m for m in ('sagemaker', 'awswrangler', 'boto3', 'pandas', 'moto') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- notebooks reach a commit without outputs ---------------------------------------------


@needs_git
def test_the_git_filter_strips_outputs_before_a_commit(tmp_path: Path) -> None:
    """.gitattributes names nbstripout, `make setup` defines it: a notebook added with
    outputs is staged clean, and a clean one (as nbclean or JupyterLab writes it) unchanged."""
    import nbformat

    from mlaccel import nbclean

    assert "*.ipynb filter=nbstripout" in (REPO / ".gitattributes").read_text()
    clean_line = next(
        line
        for line in (REPO / "Makefile").read_text().splitlines()
        if "filter.nbstripout.clean" in line
    )
    assert "-m nbstripout --keep-id" in clean_line
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout

    git("init", "--quiet")
    git("config", "filter.nbstripout.clean", f"{sys.executable} -m nbstripout --keep-id")
    git("config", "filter.nbstripout.smudge", "cat")
    shutil.copy(REPO / ".gitattributes", repo / ".gitattributes")
    executed = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "print(1)",
                execution_count=1,
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")],
            )
        ]
    )
    nbformat.write(executed, repo / "executed.ipynb")
    committed = next(p for p in sorted((REPO / "notebooks").glob("*.ipynb")))
    shutil.copy(committed, repo / "clean.ipynb")
    git("add", "executed.ipynb", "clean.ipynb")

    staged = json.loads(git("show", ":executed.ipynb"))
    assert staged["cells"][0]["outputs"] == [] and staged["cells"][0]["execution_count"] is None
    assert nbclean.normalize(staged) == staged
    assert git("show", ":clean.ipynb") == committed.read_text()
