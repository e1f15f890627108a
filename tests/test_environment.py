"""One dependency truth: pyproject.toml pins everything, environment.yml only installs it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from tests.support import REPO


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_installs_the_project_and_nothing_else() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_deps = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(re.split(r"[=<>]", d)[0] for d in conda_deps) == ["pip", "python"]
    assert pip_deps == ["-e .[dev]"], "environment.yml must install pyproject's list, not its own"
    extras = _pyproject()["project"]["optional-dependencies"]
    assert "dev" in extras


def test_python_versions_agree() -> None:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    version = python.split("=")[1]
    assert f">={version}" in _pyproject()["project"]["requires-python"]
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == version


def test_every_dependency_is_pinned_exactly() -> None:
    project = _pyproject()["project"]
    deps = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        deps += [d for d in extra if not d.startswith("mlaccel")]
    loose = [d for d in deps if "==" not in d]
    assert not loose, f"pin these to the versions proven to work together: {loose}"


def test_sagemaker_stays_on_v2_for_stepfunctions() -> None:
    deps = _pyproject()["project"]["dependencies"]
    sagemaker = next(d for d in deps if d.startswith("sagemaker=="))
    assert sagemaker.split("==")[1].startswith("2.")
    text = (REPO / "pyproject.toml").read_text()
    assert "stepfunctions 2.3.0 imports" in text  # the reason stays next to the pin


def test_installed_versions_match_the_pins() -> None:
    from importlib import metadata

    deps = _pyproject()["project"]["dependencies"]
    wrong = {}
    for dep in deps:
        name, version = re.sub(r"\[.*\]", "", dep).split("==")
        if metadata.version(name) != version:
            wrong[name] = metadata.version(name)
    assert not wrong, f"installed versions differ from pyproject pins: {wrong}"


def test_import_mlaccel_does_not_load_heavy_sdks() -> None:
    code = (
        "import sys, mlaccel; "
        "print(','.join(m for m in ('sagemaker', 'awswrangler', 'boto3', 'pandas', 'moto') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
