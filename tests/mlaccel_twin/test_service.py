"""The twin as a background service shared by several processes (``mlaccel twin ...``)."""

from __future__ import annotations

import json
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
    capsys.readouterr()
    assert cli.main(["twin", "status"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("twin: running\n") and f"url      {info.url}" in shown
    assert "started  " in shown and "(up " in shown and str(info.started_at) not in shown
    assert cli.main(["twin", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["url"] == info.url
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


def test_connect_says_when_it_leaves_a_twin_service_running(home: Path) -> None:
    env = {**os.environ, "MLACCEL_HOME": str(home)}
    env.pop("MLACCEL_TWIN_URL", None)
    connect = "import mlaccel; mlaccel.connect('local')"
    first = subprocess.run(
        [sys.executable, "-c", connect], env=env, check=True, timeout=120, capture_output=True
    )
    info = service_status(home)
    assert info is not None
    said = first.stderr.decode()
    assert f"started the local AWS twin as a background service at {info.url}" in said
    assert "keeps running after this kernel exits" in said
    assert "mlaccel twin stop" in said
    second = subprocess.run(
        [sys.executable, "-c", connect], env=env, check=True, timeout=120, capture_output=True
    )
    assert "started the local AWS twin" not in second.stderr.decode()  # it only reuses it


@pytest.mark.slow
def test_two_starts_at_once_leave_one_service(home: Path) -> None:
    env = {**os.environ, "MLACCEL_HOME": str(home)}
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", "from mlaccel import cli; cli.main(['twin', 'start'])"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in starts]
    info = service_status(home)
    assert info is not None
    assert all(f"twin running at {info.url} (pid {info.pid})" in out for out in outputs)
    services = subprocess.run(
        ["pgrep", "-f", f"mlaccel_twin serve --home {home}"], capture_output=True, text=True
    ).stdout.split()
    assert services == [str(info.pid)]  # no orphan that no command can see or stop
    assert stop_service(home)
    assert service_status(home) is None


def test_a_second_service_for_the_same_home_refuses_to_start(home: Path) -> None:
    from mlaccel_twin._service import start_service

    info = start_service(home)
    env = {**os.environ, "MLACCEL_HOME": str(home)}
    refused = subprocess.run(
        [sys.executable, "-m", "mlaccel_twin", "serve", "--home", str(home)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert f"a twin service already runs for {home} (pid {info.pid}" in refused.stderr.decode()
    assert service_status(home) == info
