"""The wheel ships the whole kit: both packages, and ``seedcode/``, ``notebooks/`` (with the
suite file) and ``snippets/`` under ``share/mlaccel/``, where :mod:`mlaccel._paths` finds them
outside a clone, and the Snippets sidebar where JupyterLab finds it; the CLI runs the installed
notebooks from any folder."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlaccel import _paths, cli
from mlaccel.errors import MLAccelError
from tests.support import REPO, needs_checkout, needs_tool

SHIPPED = ("seedcode", "notebooks", "snippets")
# and the compiled pass an editable install builds in place: the wheel builds its own
CACHES = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints", "*.so")


def _kit_files(folder: str) -> list[Path]:
    """The files of one of the kit's folders, as a clone has them (caches left out)."""
    return sorted(
        path
        for path in (REPO / folder).rglob("*")
        if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts)
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel built from a copy of what the repository tracks (no build outputs)."""
    pytest.importorskip("setuptools")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("lib", *SHIPPED):
        shutil.copytree(REPO / folder, source / folder, ignore=CACHES)
    # the sidebar's committed build and config; node_modules/ and lib/ are local build outputs
    shutil.copytree(
        REPO / "lab", source / "lab", ignore=shutil.ignore_patterns("node_modules", "lib")
    )
    build = subprocess.run(
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
            str(work / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (built,) = (work / "dist").glob("mlaccel-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _data_prefix(archive: zipfile.ZipFile) -> str:
    """``mlaccel-<version>.data/data/``: what pip installs under the environment's prefix."""
    (dist_info,) = {name.split("/")[0] for name in archive.namelist() if ".dist-info/" in name}
    return dist_info.replace(".dist-info", ".data") + "/data/"


@pytest.mark.parametrize("folder", SHIPPED)
def test_the_wheel_carries_every_file_of_the_kit_folder(
    wheel: zipfile.ZipFile, folder: str
) -> None:
    share = _data_prefix(wheel) + "share/mlaccel/"
    expected = {share + path.relative_to(REPO).as_posix() for path in _kit_files(folder)}
    missing = sorted(expected - set(wheel.namelist()))
    assert not missing, (
        f"the wheel lacks {missing}: add their folder and file types to "
        "[tool.setuptools.data-files] in pyproject.toml"
    )
    if folder == "notebooks":
        assert share + "notebooks/suite.yaml" in expected


def test_the_wheel_carries_the_snippets_sidebar(wheel: zipfile.ZipFile) -> None:
    """Every file of the built frontend where JupyterLab looks, and the file that enables the
    server extension where Jupyter Server looks: no step after `pip install`."""
    data = _data_prefix(wheel)
    built = REPO / "lab" / "labextension"
    expected = {
        data + "share/jupyter/labextensions/mlaccel-snippets/" + p.relative_to(built).as_posix()
        for p in built.rglob("*")
        if p.is_file()
    }
    expected.add(data + "etc/jupyter/jupyter_server_config.d/mlaccel.json")
    missing = sorted(expected - set(wheel.namelist()))
    assert not missing, f"the wheel lacks {missing}: see [tool.setuptools.data-files]"
    assert {"mlaccel/lab/__init__.py", "mlaccel/lab/_handler.py"} <= set(wheel.namelist())


def test_the_wheel_carries_both_packages_and_their_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for member in (
        "mlaccel/__init__.py",
        "mlaccel/_paths.py",
        "mlaccel/py.typed",
        "mlaccel/sagemaker_config.yaml",
        "mlaccel_twin/__init__.py",
        "mlaccel_twin/py.typed",
    ):
        assert member in names, member
    assert not [name for name in names if "__pycache__" in name]


@needs_tool("cc", "apt-get install gcc (pip builds the drift check's compiled pass with it)")
def test_the_wheel_carries_the_drift_checks_compiled_pass(wheel: zipfile.ZipFile) -> None:
    compiled = [n for n in wheel.namelist() if n.startswith("mlaccel/monitor/_scan.")]
    assert len([n for n in compiled if n.endswith(".so")]) == 1, compiled


def test_the_wheels_metadata_states_ranges_and_the_cpu_xgboost(wheel: zipfile.ZipFile) -> None:
    (metadata_file,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    metadata = email.message_from_bytes(wheel.read(metadata_file))
    assert metadata["Requires-Python"] == "<3.14,>=3.11"
    requires = metadata.get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("pandas") and "<4" in r and ">=2.2" in r for r in core), core
    assert any(r.startswith("numpy") and "<3" in r and ">=1.26" in r for r in core), core
    xgboost = [r for r in core if r.startswith("xgboost")]
    assert any(r.startswith("xgboost-cpu") and 'sys_platform != "darwin"' in r for r in xgboost)
    assert all("darwin" in r for r in xgboost), "the GPU xgboost only where it is CPU-only"


# -- where the kit's files are found ------------------------------------------------------


def _installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A process whose library is outside a clone, with the wheel's files under ``prefix``."""
    for name in ("MLACCEL_SEEDCODE", "MLACCEL_SNIPPETS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_paths, "_CHECKOUT", tmp_path / "site-packages")
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(_paths.sysconfig, "get_path", lambda name: str(prefix))
    return prefix / "share" / "mlaccel"


def test_an_installed_wheels_folders_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = _installed(tmp_path, monkeypatch)
    with pytest.raises(MLAccelError, match=r"seedcode/ folder .*MLACCEL_SEEDCODE"):
        _paths.seedcode_dir()
    with pytest.raises(MLAccelError, match=r"notebooks/ folder .*reinstall mlaccel"):
        _paths.notebooks_dir()
    for folder in SHIPPED:
        shutil.copytree(REPO / folder, share / folder, ignore=CACHES)
    assert _paths.seedcode_dir() == share / "seedcode"
    assert _paths.notebooks_dir() == share / "notebooks"
    assert _paths.snippets_dir() == share / "snippets"
    assert _paths.is_installed_copy(share / "notebooks" / "suite.yaml")
    assert not _paths.is_installed_copy(REPO / "notebooks" / "suite.yaml")


@needs_checkout
def test_a_clone_comes_first_and_the_override_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLACCEL_SEEDCODE", raising=False)
    assert _paths.seedcode_dir() == REPO / "seedcode"
    assert _paths.notebooks_dir() == REPO / "notebooks"
    monkeypatch.setenv("MLACCEL_SEEDCODE", str(tmp_path))
    assert _paths.seedcode_dir() == tmp_path
    # an override that does not exist is an error, never a silent fall-back to another copy
    monkeypatch.setenv("MLACCEL_SEEDCODE", str(tmp_path / "missing"))
    with pytest.raises(MLAccelError, match="set MLACCEL_SEEDCODE to its path"):
        _paths.seedcode_dir()


def test_installed_notebooks_run_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wheel's notebooks are kit to read: their kernels start in the folder the command
    runs in, never inside the installed package."""
    share = _installed(tmp_path, monkeypatch)
    shutil.copytree(REPO / "notebooks", share / "notebooks", ignore=CACHES)
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert cli._kernel_workdir(share / "notebooks" / "suite.yaml") == here
    # a clone's suite, or a user's own, runs where its notebooks are, as papermill does
    assert cli._kernel_workdir(REPO / "notebooks" / "suite.yaml") is None


def test_the_default_suite_is_the_kits_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From any folder, `mlaccel notebooks run` reads the kit's suite (here: a wrong parameter
    stops it before a twin or kernel starts, naming that suite)."""
    monkeypatch.chdir(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text("defaults: {no_such_parameter: 1}\n")
    code = cli.main(["notebooks", "run", "--params", str(params), "--backend", "local"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no_such_parameter" in err and "which no notebook of the suite declares" in err
    assert not (tmp_path / "output").exists()
