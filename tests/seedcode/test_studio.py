"""The Studio start-up script (``seedcode/studio/on-start.sh``) and the notebook-job path.

The script writes the space's settings, then builds the kit's own environment and registers it
as the kernel ``mlaccel``, leaving the image's Python environment as it was. Most tests stub the
environment builders (micromamba, the venv's Python) at the command boundary and read what they
were asked to do; one runs the script against a stand-in for a SageMaker Distribution image, and
one runs a kit notebook the way a notebook job does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from mlaccel.notebooks import read_records
from mlaccel_twin import Twin
from tests.network_guard.mlaccel_network_guard import LOG_VARIABLE
from tests.support import MISSING_TOOL, REPO, needs_git, needs_shellcheck

ON_START = REPO / "seedcode" / "studio" / "on-start.sh"
# Studio takes a lifecycle configuration as base64 of at most 16384 characters.
STUDIO_CONTENT_LIMIT = 16384
FAKE_ACCOUNT = "123456789012"
NOTEBOOK = REPO / "notebooks" / "06_analyze_drift.ipynb"


# --------------------------------------------------------------------------- the script's text


def test_on_start_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(ON_START)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = ON_START.read_text()
    assert text.startswith("#!/bin/bash") and "set -euo pipefail" in text
    assert '/bin/mlaccel" snippets install' in text, "from the kit's environment"
    assert "ipykernel install --user --name mlaccel" in text


def test_on_start_script_installs_nothing_into_the_image_environment() -> None:
    """Every pip install of the script runs with the kit's own environment's Python."""
    code = [line for line in ON_START.read_text().splitlines() if not line.lstrip().startswith("#")]
    installs = [line.strip() for line in code if re.search(r"\bpip3?\b.*\binstall\b", line)]
    assert installs, "the venv fallback installs the kit with pip"
    for line in installs:
        assert line.startswith('"$KIT_ENV/bin/python" -m pip install'), line
    assert not re.search(r"\b(conda|micromamba|mamba) install\b", "\n".join(code))


@needs_shellcheck
def test_on_start_script_passes_shellcheck() -> None:
    done = subprocess.run(["shellcheck", str(ON_START)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_on_start_script_fits_in_a_studio_lifecycle_configuration() -> None:
    encoded = base64.b64encode(ON_START.read_bytes())
    assert len(encoded) <= STUDIO_CONTENT_LIMIT, (
        f"base64 of {ON_START.name} is {len(encoded)} characters; Studio takes at most "
        f"{STUDIO_CONTENT_LIMIT}: shorten the script (explanations belong in docs/workshop.md)"
    )


def test_on_start_script_uses_only_the_settings_config_defines() -> None:
    defined = set(re.findall(r"MLACCEL_[A-Z_]+", (REPO / "lib/mlaccel/config.py").read_text()))
    used = set(re.findall(r"MLACCEL_[A-Z_]+", ON_START.read_text()))
    assert {"MLACCEL_BACKEND", "MLACCEL_ROLE_ARN", "MLACCEL_BUCKET"} <= used
    assert used <= defined, f"not settings of mlaccel.config: {used - defined}"


# --------------------------------------------------------------------------- running it, stubbed

# Each stub appends what it was asked to do to $HOME/calls.log.
_STUBS = {
    "aws": """#!/bin/bash
echo "aws $*" >> "$HOME/calls.log"
case "$*" in
  *describe-space*) echo alice ;;
  *describe-user-profile*) echo "arn:aws:iam::123456789012:role/service-role/TeamRole" ;;
  *get-caller-identity*) echo 123456789012 ;;
  *) echo None ;;
esac
""",
    # micromamba: records its arguments and makes an environment of stubs at --prefix;
    # FAKE_ENV_FAILS=1 makes it fail as an unsolvable environment does.
    "micromamba": """#!/bin/bash
echo "micromamba $* in $PWD" >> "$HOME/calls.log"
if [ -n "${FAKE_ENV_FAILS:-}" ]; then echo "error: could not solve the environment" >&2; exit 1; fi
while [ $# -gt 0 ]; do if [ "$1" = --prefix ]; then prefix=$2; fi; shift; done
mkdir -p "$prefix/bin"
cp "$(dirname "$0")/kit-python" "$prefix/bin/python"
cp "$(dirname "$0")/mlaccel" "$prefix/bin/mlaccel"
""",
    # A Python that records its arguments; as KIT_VENV_PYTHON, `-m venv P` makes P of stubs.
    "kit-python": """#!/bin/bash
echo "python $*" >> "$HOME/calls.log"
case "$1 $2" in
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "${0%/*}/mlaccel" "$3/bin/" ;;
  "-c "*) echo 3.11 ;;
esac
""",
    "mlaccel": '#!/bin/bash\necho "mlaccel $* in $PWD" >> "$HOME/calls.log"\n',
    # The image's JupyterLab.
    "jupyter": "#!/bin/bash\necho 'JupyterLab v4.4.0'\n",
}


def _stubs(folder: Path, names: tuple[str, ...] = tuple(_STUBS)) -> Path:
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        (bin_dir / name).write_text(_STUBS[name])
        (bin_dir / name).chmod(0o755)
    return bin_dir


def _space_metadata(folder: Path) -> Path:
    metadata = folder / "resource-metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "AppType": "JupyterLab",
                "DomainId": "d-abc123",
                "SpaceName": "team-space",
                "ResourceArn": f"arn:aws:sagemaker:eu-west-1:{FAKE_ACCOUNT}:app/d-abc123/"
                "team-space/jupyterlab/default",
            }
        )
    )
    return metadata


def _guard_environment() -> dict[str, str]:
    """What carries the network guard into the Python processes the script starts."""
    return {k: os.environ[k] for k in ("PYTHONPATH", LOG_VARIABLE) if k in os.environ}


def _run_on_start(
    tmp_path: Path, home: Path, *, shell: str = "bash", path: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin" if (tmp_path / "bin").exists() else _stubs(tmp_path)
    env = {
        "PATH": path or f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(home),
        "STUDIO_METADATA_FILE": str(_space_metadata(tmp_path)),
        **_guard_environment(),
        **extra,
    }
    return subprocess.run(
        [shell, str(ON_START)], env=env, capture_output=True, text=True, timeout=120
    )


def _wait_for(path: Path, text: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}:\n{content}")


def _wait_for_outcome(log: Path, seconds: float = 60) -> str:
    """The log once the background build has said ``done`` or ``FAILED``."""
    deadline = time.monotonic() + seconds
    content = ""
    while time.monotonic() < deadline:
        content = log.read_text() if log.exists() else ""
        if "done: open" in content or "FAILED" in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"the background build never finished; {log}:\n{content}")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


def _kit_origin(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A git repository standing for the team's clone of the kit, on branch main."""
    origin = folder / "origin"
    origin.mkdir()
    _git(origin, "init", "--quiet", "-b", "main")
    for name, text in (files or {}).items():
        (origin / name).parent.mkdir(parents=True, exist_ok=True)
        (origin / name).write_text(text)
    (origin / "README.md").write_text("kit\n")
    _git(origin, "add", "-A")
    _git(origin, "commit", "--quiet", "-m", "kit")
    return origin


def _kernel_says(home: Path) -> list[str]:
    """What a first cell run in this space prints of its settings: IPython runs the space's
    startup files, then the cell (with MLACCEL_BACKEND already set to local)."""
    cell = "import os; print(os.environ['MLACCEL_ROLE_ARN'], os.environ['MLACCEL_BACKEND'])"
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--HistoryManager.enabled=False"]
    done = subprocess.run(
        [*ipython, "-c", cell],
        env={"HOME": str(home), "PATH": os.environ["PATH"], "MLACCEL_BACKEND": "local"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_on_start_writes_the_settings_shells_and_kernels_read(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = _run_on_start(tmp_path, home)
    assert done.returncode == 0, done.stderr
    settings = (home / ".mlaccel" / "studio.env").read_text()
    assert "MLACCEL_BACKEND=aws" in settings
    assert "MLACCEL_REGION=eu-west-1" in settings
    assert f"MLACCEL_ROLE_ARN=arn:aws:iam::{FAKE_ACCOUNT}:role/service-role/TeamRole" in settings
    assert f"MLACCEL_BUCKET=sagemaker-eu-west-1-{FAKE_ACCOUNT}" in settings
    calls = (home / "calls.log").read_text()
    assert "describe-space" in calls and "--user-profile-name alice" in calls

    shell = subprocess.run(
        ["bash", "-c", f"source {home}/.bashrc; echo $MLACCEL_BACKEND $MLACCEL_BUCKET"],
        env={"HOME": str(home), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
    )
    assert shell.stdout.split() == ["aws", f"sagemaker-eu-west-1-{FAKE_ACCOUNT}"]

    # The placeholder URL builds nothing, and says so in the log and in every kernel.
    log = _wait_for_outcome(home / ".mlaccel" / "on-start.log")
    assert "FAILED: KIT_REPO_URL is still the placeholder" in log
    assert (home / ".mlaccel" / "kit-env.status").read_text().strip() == "failed"
    *before, settings_line = _kernel_says(home)
    role, backend = settings_line.split()
    assert role.endswith("role/service-role/TeamRole")
    assert backend == "local", "a value already in the kernel's environment wins"
    assert before == ["mlaccel: no kernel mlaccel, ~/.mlaccel/on-start.log says why"]

    # At the next start the .bashrc line is not added twice.
    assert _run_on_start(tmp_path, home).returncode == 0
    assert (home / ".bashrc").read_text().count("mlaccel studio settings") == 1


@needs_git
def test_on_start_builds_the_kit_environment_once_and_rebuilds_it_when_its_files_change(
    tmp_path: Path,
) -> None:
    origin = _kit_origin(
        tmp_path, {"environment.yml": "name: mlaccel\n", "pyproject.toml": "[project]\n"}
    )
    home = tmp_path / "home"
    home.mkdir()
    log = home / ".mlaccel" / "on-start.log"
    kit, env = home / "mlaccel", home / ".mlaccel" / "env"

    done = _run_on_start(tmp_path, home, KIT_REPO_URL=str(origin))
    assert done.returncode == 0, done.stderr
    assert "building in the background" in done.stderr, "Studio's 5 minutes are not waited on"
    content = _wait_for_outcome(log)
    assert "done: open" in content, content
    assert (kit / "README.md").exists()
    calls = (home / "calls.log").read_text()
    assert (
        f"micromamba create --yes --quiet --prefix {env} --file environment.yml in {kit}" in calls
    )
    assert (
        "python -m ipykernel install --user --name mlaccel --display-name mlaccel (Python 3.11)"
        in calls
    )
    assert f"mlaccel snippets install --target {home}/.local in {kit}" in calls
    assert (home / ".mlaccel" / "kit-env.status").read_text().strip() == "ready"
    assert "the Snippets tab of JupyterLab's left sidebar" in content, "say where they are"
    assert "pip" not in calls, "nothing is pip-installed anywhere with micromamba"

    # A new commit that leaves environment.yml and pyproject.toml alone keeps the environment.
    (origin / "README.md").write_text("kit v2\n")
    _git(origin, "commit", "--quiet", "-am", "v2")
    log.write_text("")
    (home / "calls.log").write_text("")
    assert _run_on_start(tmp_path, home, KIT_REPO_URL=str(origin)).returncode == 0
    content = _wait_for_outcome(log)
    assert f"updating {kit}" in content and f"{env} is up to date" in content
    assert (kit / "README.md").read_text() == "kit v2\n"
    calls = (home / "calls.log").read_text()
    assert "micromamba" not in calls
    assert "ipykernel install --user --name mlaccel" in calls, "the kernel is registered again"

    # A changed environment.yml rebuilds it.
    (origin / "environment.yml").write_text("name: mlaccel\ndependencies: [python=3.11]\n")
    _git(origin, "commit", "--quiet", "-am", "python 3.11")
    log.write_text("")
    assert _run_on_start(tmp_path, home, KIT_REPO_URL=str(origin)).returncode == 0
    content = _wait_for_outcome(log)
    assert f"building {env} with micromamba" in content and "done: open" in content
    assert (home / "calls.log").read_text().count("micromamba create") == 1


@needs_git
def test_on_start_without_conda_builds_a_venv_with_the_kit(tmp_path: Path) -> None:
    origin = _kit_origin(tmp_path, {"pyproject.toml": "[project]\n"})
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = _stubs(tmp_path)
    done = _run_on_start(
        tmp_path,
        home,
        KIT_REPO_URL=str(origin),
        KIT_ENV_TOOL="venv",
        KIT_VENV_PYTHON=str(bin_dir / "kit-python"),
        KIT_EXTRAS="twin",
    )
    assert done.returncode == 0, done.stderr
    assert "done: open" in _wait_for_outcome(home / ".mlaccel" / "on-start.log")
    calls = (home / "calls.log").read_text().splitlines()
    env, kit = home / ".mlaccel" / "env", home / "mlaccel"
    python_calls = [line for line in calls if line.startswith("python -m")]
    assert python_calls[:3] == [
        f"python -m venv {env}",
        f"python -m pip install --quiet -e {kit}[twin]",
        "python -m ipykernel install --user --name mlaccel --display-name mlaccel (Python 3.11)",
    ]
    assert not any(line.startswith("micromamba") for line in calls)


@needs_git
def test_on_start_reports_an_environment_that_could_not_be_built(tmp_path: Path) -> None:
    origin = _kit_origin(tmp_path, {"environment.yml": "name: mlaccel\n"})
    home = tmp_path / "home"
    home.mkdir()
    log = home / ".mlaccel" / "on-start.log"
    assert (
        _run_on_start(tmp_path, home, KIT_REPO_URL=str(origin), FAKE_ENV_FAILS="1").returncode == 0
    )
    content = _wait_for_outcome(log)
    assert "error: could not solve the environment" in content, "the tool's own error is kept"
    assert "micromamba could not build" in content
    assert "FAILED: the kit's environment is not ready" in content
    assert "ipykernel" not in (home / "calls.log").read_text(), "no kernel without environment"
    assert not (home / ".mlaccel" / "env" / ".mlaccel-env-hash").exists()
    assert "mlaccel: no kernel mlaccel" in _kernel_says(home)[0]

    # The next start tries again, and a success clears the warning.
    log.write_text("")
    assert _run_on_start(tmp_path, home, KIT_REPO_URL=str(origin)).returncode == 0
    assert "done: open" in _wait_for_outcome(log)
    assert len(_kernel_says(home)) == 1, "only the cell's own output"


@needs_git
def test_on_start_as_a_notebook_job_start_up_script_builds_before_the_notebook(
    tmp_path: Path,
) -> None:
    """A notebook job's driver runs the start-up script with sh, then the notebook at once."""
    origin = _kit_origin(tmp_path, {"environment.yml": "name: mlaccel\n"})
    home = tmp_path / "home"
    home.mkdir()
    job = {"SM_INPUT_NOTEBOOK_NAME": "06_analyze_drift.ipynb", "KIT_REPO_URL": str(origin)}
    done = _run_on_start(tmp_path, home, shell="sh", **job)
    assert done.returncode == 0, done.stderr
    assert "done: open" in done.stderr, "the job's log shows the build"
    # Already there when the script returns, without waiting for a background build.
    assert "ipykernel install --user --name mlaccel" in (home / "calls.log").read_text()

    failing = tmp_path / "failing-home"
    failing.mkdir()
    done = _run_on_start(tmp_path, failing, shell="sh", FAKE_ENV_FAILS="1", **job)
    assert done.returncode != 0, "a job whose kernel cannot exist fails at its start-up script"
    assert "FAILED: the kit's environment is not ready" in done.stderr


# --------------------------------------------------------------------------- against an image


def _python_312() -> Path | None:
    """Python 3.12, as SageMaker Distribution images have: PY312, pyenv's, else on PATH (the
    Makefile's lowest lane looks in the same places)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [
        os.environ.get("PY312"),
        *sorted(map(str, pyenv_root.glob("versions/3.12*/bin/python3.12"))),
        shutil.which("python3.12"),
    ]
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
        )
        if done.stdout.strip() == "True":
            return Path(candidate)
    return None


PYTHON_312 = _python_312()


def _digest(text: str) -> str:
    """A file's hash as a wheel's RECORD writes it."""
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


def _stub_wheel(folder: Path, name: str, version: str) -> Path:
    """A wheel of a package ``name`` whose ``__version__`` is ``version``, and nothing else."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\n',
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


# The image's own set: the SageMaker SDK 3 and pandas < 3 / numpy < 2, as SageMaker
# Distribution images ship them (stubs: the test is about whether the script touches them).
IMAGE_PACKAGES = {"sagemaker": "3.0.0", "pandas": "2.2.3", "numpy": "1.26.4"}


def _image(folder: Path) -> Path:
    """A stand-in for a SageMaker Distribution image's Python environment: Python 3.12 with
    pip and stub distributions of :data:`IMAGE_PACKAGES`, installed from local wheels."""
    assert PYTHON_312 is not None
    image = folder / "image"
    subprocess.run([str(PYTHON_312), "-m", "venv", str(image)], check=True)
    wheels = folder / "wheels"
    wheels.mkdir()
    for name, version in IMAGE_PACKAGES.items():
        _stub_wheel(wheels, name, version)
    packages = [f"{name}=={version}" for name, version in IMAGE_PACKAGES.items()]
    pip = shlex.split("-m pip install --quiet --no-index --disable-pip-version-check")
    subprocess.run(
        [str(image / "bin" / "python"), *pip, "--find-links", str(wheels), *packages], check=True
    )
    return image


def _freeze(image: Path) -> str:
    return subprocess.run(
        [str(image / "bin" / "python"), "-m", "pip", "freeze", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
        if not p.is_dir() or p.is_symlink()
    }


# micromamba, stubbed at the command boundary: it records its arguments and makes at --prefix a
# Python 3.11 venv that sees the clone's lib/ (as `pip install -e .` would) and this test run's
# packages (ipykernel, jupyter_core and the kit's dependencies), plus the kit's `mlaccel` command.
_MICROMAMBA = """#!{python}
import subprocess
import sys
from pathlib import Path

with open(Path.home() / "calls.log", "a") as log:
    log.write("micromamba " + " ".join(sys.argv[1:]) + " in " + str(Path.cwd()) + "\\n")
prefix = Path(sys.argv[sys.argv.index("--prefix") + 1])
environment_file = Path.cwd() / sys.argv[sys.argv.index("--file") + 1]
subprocess.run([{python!r}, "-m", "venv", "--without-pip", str(prefix)], check=True)
site = next(prefix.glob("lib/python3.*/site-packages"))
(site / "kit.pth").write_text(
    str(environment_file.parent / "lib") + "\\n" + {site_packages!r} + "\\n"
)
command = prefix / "bin" / "mlaccel"
command.write_text(
    "#!" + str(prefix / "bin" / "python") + "\\nimport sys\\nfrom mlaccel.cli import main\\n"
    "sys.exit(main())\\n"
)
command.chmod(0o755)
"""


@pytest.mark.slow
@needs_git
@pytest.mark.skipif(
    PYTHON_312 is None,
    reason=f"{MISSING_TOOL} python3.12: pyenv install 3.12 (or name one with PY312=...)",
)
def test_on_start_leaves_the_image_environment_as_it_was(tmp_path: Path) -> None:
    image = _image(tmp_path)
    freeze_before, files_before = _freeze(image), _files(image)
    assert all(f"{name}=={v}" in freeze_before for name, v in IMAGE_PACKAGES.items())

    # The team's clone of the kit: what the environment is built from, from this checkout.
    kit_files = {name: (REPO / name).read_text() for name in ("environment.yml", "pyproject.toml")}
    origin = _kit_origin(tmp_path, kit_files)
    for folder in ("lib/mlaccel", "snippets", "lab/labextension"):
        shutil.copytree(
            REPO / folder, origin / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    _git(origin, "add", "-A")
    _git(origin, "commit", "--quiet", "-m", "the kit")

    bin_dir = _stubs(tmp_path, ("aws",))
    micromamba = bin_dir / "micromamba"
    micromamba.write_text(
        _MICROMAMBA.format(python=sys.executable, site_packages=sysconfig.get_paths()["purelib"])
    )
    micromamba.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    # The image's environment leads PATH, as in a Studio space; nothing else of this machine's
    # Pythons is on it.
    path = f"{bin_dir}:{image / 'bin'}:/usr/bin:/bin"
    log = home / ".mlaccel" / "on-start.log"

    done = _run_on_start(tmp_path, home, path=path, KIT_REPO_URL=str(origin))
    assert done.returncode == 0, done.stderr
    content = _wait_for_outcome(log, seconds=120)
    assert "done: open" in content, content

    # The image: the same packages, the same files, and still the SageMaker SDK 3.
    assert _freeze(image) == freeze_before
    assert _files(image) == files_before, "the script wrote into the image's environment"
    version = subprocess.run(
        [str(image / "bin" / "python"), "-c", "import sagemaker; print(sagemaker.__version__)"],
        capture_output=True,
        text=True,
    )
    assert version.stdout.strip() == "3.0.0", version.stderr

    # The kernel mlaccel runs the new environment's Python, which has the clone's kit.
    env_python = home / ".mlaccel" / "env" / "bin" / "python"
    spec = json.loads((home / ".local/share/jupyter/kernels/mlaccel/kernel.json").read_text())
    assert spec["argv"][0] == str(env_python)
    assert spec["display_name"] == "mlaccel (Python {}.{})".format(*sys.version_info[:2])
    where = subprocess.run(
        [str(env_python), "-c", "import mlaccel; print(mlaccel.__file__)"],
        capture_output=True,
        text=True,
        env={"HOME": str(home), "PATH": path, **_guard_environment()},
    )
    assert where.stdout.strip() == str(home / "mlaccel" / "lib" / "mlaccel" / "__init__.py")
    calls = (home / "calls.log").read_text()
    assert "--file environment.yml" in calls
    sidebar = home / ".local/share/jupyter/labextensions/mlaccel-snippets"
    catalog = json.loads((sidebar / "static" / "catalog.json").read_text())
    listed = [s for area in catalog["areas"] for s in area["snippets"]]
    assert len(listed) == len(list((REPO / "snippets").glob("*/*.py")))

    # The next start finds the environment up to date and leaves the image alone again.
    log.write_text("")
    assert _run_on_start(tmp_path, home, path=path, KIT_REPO_URL=str(origin)).returncode == 0
    assert "is up to date" in _wait_for_outcome(log, seconds=120)
    assert (home / "calls.log").read_text().count("micromamba create") == 1
    assert _freeze(image) == freeze_before


# --------------------------------------------------------------------------- as a notebook job


@pytest.mark.notebook
@pytest.mark.slow
def test_a_kit_notebook_runs_as_a_notebook_job_runs_it(twin: Twin, tmp_path: Path) -> None:
    """A notebook job (and papermill in CI) runs a staged copy of the notebook in a clean
    working folder with the kernel mlaccel and the job's parameters: the notebook succeeds and
    writes only under that folder's output/."""
    work = tmp_path / "job"
    work.mkdir()
    staged = work / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, staged)
    # The kernel as the start-up script registers it: named mlaccel, the kit's Python.
    jupyter = tmp_path / "jupyter"
    register = shlex.split("-m ipykernel install --name mlaccel --prefix")
    subprocess.run([sys.executable, *register, str(jupyter)], check=True, capture_output=True)
    executed = tmp_path / "job-output" / NOTEBOOK.name  # where the job keeps what it ran
    executed.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MLACCEL_OUTPUT_DIR"}
    env.update(
        MLACCEL_TWIN_URL=twin.url,
        MLACCEL_BACKEND="local",
        JUPYTER_PATH=str(jupyter / "share" / "jupyter"),
    )
    papermill = [sys.executable, "-m", "papermill", "-k", "mlaccel"]
    parameters = shlex.split("-p n_rows 2000 -p current_rows 1000 -p numeric_shift 2.0")
    done = subprocess.run(
        [*papermill, *parameters, staged.name, str(executed)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert staged.read_bytes() == NOTEBOOK.read_bytes(), "the staged copy is only read"
    written = sorted(set(_files(work)) - {staged.name})
    assert written == ["output/reports/drift_report.html"], written
    # papermill stops with NoSuchKernel unless it finds the kernel mlaccel; it keeps the
    # notebook's own kernelspec in the metadata, so that is not where to look.
    ran = json.loads(executed.read_text())
    assert ran["metadata"]["papermill"]["parameters"]["numeric_shift"] == 2.0
    assert read_records(executed)["features_flagged"], "numeric_shift=2.0 is flagged as drift"
