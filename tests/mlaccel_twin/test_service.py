"""The twin as a background service shared by several processes (``mlaccel twin ...``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlaccel import cli
from mlaccel_twin import service_status, stop_service


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLACCEL_HOME", str(tmp_path))
    yield tmp_path
    stop_service(tmp_path)


@pytest.mark.slow
def test_cli_start_status_stop(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["twin", "status"]) == 3
    assert cli.main(["twin", "start"]) == 0
    info = service_status(home)
    assert info is not None and info.url.startswith("http://127.0.0.1:")
    assert cli.main(["twin", "start"]) == 0  # a second start reuses the running twin
    assert service_status(home) == info
    assert cli.main(["twin", "status"]) == 0
    assert info.url in capsys.readouterr().out
    assert cli.main(["twin", "stop"]) == 0
    assert service_status(home) is None


def test_second_process_sees_what_the_first_wrote(home: Path) -> None:
    """Notebook 2 sees what notebook 1 wrote: two processes, one twin."""
    env = {**os.environ, "MLACCEL_HOME": str(home)}
    env.pop("MLACCEL_TWIN_URL", None)
    write = (
        "import mlaccel; c = mlaccel.connect('local'); "
        "c.client('s3').put_object(Bucket=c.bucket, Key='shared/hello.txt', Body=b'hi')"
    )
    read = (
        "import mlaccel; c = mlaccel.connect('local'); "
        "print(c.client('s3').get_object(Bucket=c.bucket, Key='shared/hello.txt')['Body'].read())"
    )
    subprocess.run([sys.executable, "-c", write], env=env, check=True, timeout=120)
    out = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, timeout=120, capture_output=True
    )
    assert out.stdout.strip() == b"b'hi'"
    info = service_status(home)
    assert info is not None  # started on demand by the first connect, still running


@pytest.mark.slow
def test_stopping_a_service_this_process_started_reaps_it(home: Path) -> None:
    """`mlaccel notebooks run` starts and stops its own twin: stopping must not wait out its
    timeout on the exited (zombie) child, and must leave no zombie behind."""
    from mlaccel_twin._service import start_service

    info = start_service(home)
    assert stop_service(home, timeout=60)
    with pytest.raises(ChildProcessError):
        os.waitpid(info.pid, os.WNOHANG)  # already reaped
