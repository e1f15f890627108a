"""The three parts of the kit and the rules between them (docs/architecture.md).

The import contracts themselves are checked by import-linter (`make lint`, and here); these tests
keep the contracts complete and check what an import graph cannot see: what a process loads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import mlaccel
from mlaccel import _connect
from mlaccel.errors import MLAccelError

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "lib" / "mlaccel"
CONTRACTS = {
    c["id"]: c
    for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}
SHARED_LEAVES = set(CONTRACTS["shared-leaves"]["source_modules"])


def _accelerators(contract_id: str) -> set[str]:
    forbidden = set(CONTRACTS[contract_id]["forbidden_modules"])
    return forbidden - {"mlaccel.monitor", "mlaccel_twin"}


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_module_of_the_kit_has_a_layer() -> None:
    """A new accelerator module must join the contracts, or the twin could import it unseen."""
    modules = {
        f"mlaccel.{p.stem if p.is_file() else p.name}"
        for p in LIB.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    accelerators = _accelerators("twin-without-accelerators")
    assert accelerators == _accelerators("drift-engine-alone") == _accelerators("shared-leaves")
    unplaced = modules - accelerators - SHARED_LEAVES - {"mlaccel.monitor"}
    assert not unplaced, f"add {sorted(unplaced)} to the import contracts in pyproject.toml"
    gone = accelerators - modules
    assert not gone, f"the contracts name modules that no longer exist: {sorted(gone)}"


@pytest.mark.slow
def test_import_contracts_hold() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=REPO,
        capture_output=True,
        text=True,
        # prepended: the test run's network guard stays on the path of every child
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        },
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_import_mlaccel_loads_no_other_part() -> None:
    loaded = _python(
        "import sys, mlaccel; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'mlaccel', 'mlaccel_twin', 'boto3', 'sagemaker', 'pandas', 'moto'}))"
    )
    assert loaded.strip() == "['mlaccel', 'mlaccel.errors']"


def test_an_aws_connection_never_loads_the_twin() -> None:
    """An account user need not install the emulator: nothing of it loads on `aws`."""
    loaded = _python(
        "import sys, boto3, mlaccel\n"
        "session = boto3.session.Session(region_name='eu-west-1', aws_access_key_id='a', "
        "aws_secret_access_key='b')\n"
        "conn = mlaccel.connect('aws', bucket='b', role_arn='arn:aws:iam::000000000000:role/r', "
        "boto3_session=session)\n"
        "print(conn.backend, conn.local_backend, conn.wait.poll_seconds)\n"
        "twin = {'mlaccel_twin', 'moto', 'duckdb'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & twin))",
        AWS_ENDPOINT_URL="",
    )
    assert loaded.splitlines() == ["aws None 5.0", "[]"]


def test_local_backend_missing_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_connect, "entry_points", lambda **_: [])
    with pytest.raises(MLAccelError, match=r"pip install 'mlaccel\[twin\]'"):
        mlaccel.connect("local")


def test_is_local_decides_only_provisioning() -> None:
    """Backends differ by the policies a connection carries, not by branches in accelerators.

    Outside `_connect.py`, `is_local` may only decide what to provision (the twin starts as an
    empty account), and says so in a comment on the line or the line before.
    """
    places = sorted(LIB.rglob("*.py")) + sorted((REPO / "notebooks").glob("*.ipynb"))
    unexplained = []
    for path in places:
        if path.name == "_connect.py":
            continue
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if re.search(r"\bis_local\b", line):
                context = " ".join(lines[max(0, number - 1) : number + 1]).lower()
                if "provision" not in context:
                    unexplained.append(f"{path.relative_to(REPO)}:{number + 1}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)
