"""A local run opens no connection outside 127.0.0.1, and listens on nothing else.

The guard (``tests/network_guard``, started by the root conftest) refuses and records every
outside connection in the pytest process and in every Python process a test starts: plain
subprocesses, Jupyter kernels, SageMaker jobs on the twin, the twin service and the Lambda
handlers it runs. The listening checks read the sockets the kernel reports for each process.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlaccel
from mlaccel import inference, lambdas
from mlaccel_twin import Twin, TwinService, start_service, stop_service
from tests.network_guard.mlaccel_network_guard import LOG_VARIABLE, is_loopback
from tests.support import (
    NETWORK_GUARD,
    REPO,
    expected_outside_attempts,
    listening_addresses,
    tarball,
    unique_name,
)

OUTSIDE = ("192.0.2.1", 443)  # TEST-NET-1: documentation only, never routable

# Tries OUTSIDE and prints what happened and who tried: "refused <pid> ..." when guarded.
TRY_OUTSIDE = textwrap.dedent(f"""
    import os, socket
    try:
        socket.create_connection({OUTSIDE!r}, timeout=5).close()
        outcome = f"connected {{os.getpid()}}"
    except ConnectionRefusedError as exc:
        outcome = f"refused {{os.getpid()}} {{exc}}"
    except OSError as exc:
        outcome = f"unguarded {{os.getpid()}} {{type(exc).__name__}} {{exc}}"
    print(outcome)
""")


def _outcome(output: str) -> tuple[str, int]:
    """The verdict and the pid that :data:`TRY_OUTSIDE` printed."""
    verdict, pid = output.split()[:2]
    return verdict, int(pid)


def _only_attempt_by(tried: list[dict], pid: int) -> None:
    assert [(a["address"], a["pid"]) for a in tried] == [(list(OUTSIDE), pid)], tried


# ------------------------------------------------------------------------- the guard itself


def test_guard_refuses_outside_addresses() -> None:
    with expected_outside_attempts() as tried:
        with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="outside loopback"):
            s.connect(OUTSIDE)
        with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="outside loopback"):
            s.connect_ex(OUTSIDE)
    assert [(a["address"], a["pid"]) for a in tried] == [(list(OUTSIDE), os.getpid())] * 2


def test_loopback_addresses_are_allowed() -> None:
    assert is_loopback(("127.0.0.1", 80)) and is_loopback(("::1", 80, 0, 0))
    assert is_loopback(("::ffff:127.0.0.1", 80, 0, 0)) and is_loopback("/tmp/socket")
    assert not is_loopback(("169.254.169.254", 80)) and not is_loopback(("10.0.0.1", 80))
    assert not is_loopback(("example.com", 443))


def test_each_test_process_has_its_own_log() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert Path(os.environ[LOG_VARIABLE]).name == f"outside-connections-{worker}.jsonl"
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(NETWORK_GUARD)


def test_a_python_process_a_test_starts_is_refused_and_recorded() -> None:
    with expected_outside_attempts() as tried:
        done = subprocess.run(
            [sys.executable, "-c", TRY_OUTSIDE], capture_output=True, text=True, timeout=60
        )
    verdict, pid = _outcome(done.stdout)
    assert verdict == "refused", done.stdout + done.stderr
    assert "refused by the test network guard" in done.stdout and pid != os.getpid()
    _only_attempt_by(tried, pid)


def test_a_jupyter_kernel_is_refused_and_recorded() -> None:
    """Kernels (papermill's, nbval's, JupyterLab's) start through jupyter_client like this."""
    from jupyter_client.manager import start_new_kernel

    code = TRY_OUTSIDE + "import sitecustomize; print(sitecustomize.__file__)\n"
    printed: list[str] = []

    def keep_stream(message: dict) -> None:
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    with expected_outside_attempts() as tried:
        manager, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
        try:
            reply = client.execute_interactive(code, timeout=60, output_hook=keep_stream)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    lines = "".join(printed).splitlines()
    verdict, pid = _outcome(lines[0])
    assert verdict == "refused", lines
    assert lines[1] == str(NETWORK_GUARD / "sitecustomize.py"), "site ran the guard's module"
    _only_attempt_by(tried, pid)


def test_the_sitecustomize_the_guard_hides_still_runs(tmp_path: Path) -> None:
    """Python imports the first sitecustomize on the path only; the guard's runs the next."""
    hidden = tmp_path / "site"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text(
        "import os\nos.environ['HIDDEN_SITECUSTOMIZE'] = 'ran as ' + __name__\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NETWORK_GUARD), str(hidden)])}
    program = TRY_OUTSIDE + "print(os.environ.get('HIDDEN_SITECUSTOMIZE'))\n"
    with expected_outside_attempts() as tried:
        done = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
        )
    first, second = done.stdout.splitlines()
    verdict, pid = _outcome(first)
    assert verdict == "refused", done.stdout + done.stderr
    assert second == "ran as sitecustomize"
    _only_attempt_by(tried, pid)


@pytest.mark.slow
def test_a_sagemaker_job_on_the_twin_is_refused_and_recorded(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    from sagemaker.processing import ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor

    script = tmp_path / "try_outside.py"
    script.write_text(
        TRY_OUTSIDE + "import pathlib\n"
        "pathlib.Path(os.environ['SAGEMAKER_BASE_DIR'], 'processing', 'output', 'outcome.txt')"
        ".write_text(outcome)\n"
    )
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=conn.role_arn,
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=conn.sagemaker_session,
    )
    out = conn.s3_uri("network-test", "job", uuid.uuid4().hex[:8])
    with expected_outside_attempts() as tried:
        processor.run(
            code=str(script),
            outputs=[ProcessingOutput(source="/opt/ml/processing/output", destination=out)],
            logs=False,
        )
    bucket, key = out.removeprefix("s3://").split("/", 1)
    body = conn.client("s3").get_object(Bucket=bucket, Key=f"{key}/outcome.txt")["Body"].read()
    verdict, pid = _outcome(body.decode())
    assert verdict == "refused", body
    assert pid != os.getpid(), "the job ran in a process of its own"
    _only_attempt_by(tried, pid)


# ------------------------------------------------------------------ the twin as a service


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwinService]:
    """``mlaccel twin start``'s background process, started from this test process."""
    home = tmp_path_factory.mktemp("twin-service")
    started = start_service(home)
    try:
        yield started
    finally:
        # stop_service waits until kill(pid, 0) fails, which a child that exited but was not
        # reaped (this process started it) never does: reap it as it exits.
        threading.Thread(target=_reap, args=(started.pid,), daemon=True).start()
        stop_service(home)


HANDLER = f"""
import socket

def handler(event, context):
    try:
        socket.create_connection({OUTSIDE!r}, timeout=5).close()
        return {{"outcome": "connected"}}
    except ConnectionRefusedError as exc:
        return {{"outcome": "refused", "message": str(exc)}}
"""


@pytest.mark.slow
def test_the_twin_service_and_its_lambda_handlers_are_guarded(
    service: TwinService, tmp_path: Path
) -> None:
    connection = mlaccel.connect("local", twin_url=service.url)
    (tmp_path / "app.py").write_text(HANDLER)
    name = unique_name("network-guard")
    lambdas.deploy_function(name, tmp_path, "app.handler", connection=connection)
    with expected_outside_attempts() as tried:
        answer = connection.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(answer["Payload"].read())
    assert payload["outcome"] == "refused", payload
    # the handler runs in its function's execution environment, a process of the service
    import psutil

    environments = [p.pid for p in psutil.Process(service.pid).children(recursive=True)]
    assert tried and tried[0]["pid"] in environments, (tried, environments)
    assert f"pid {tried[0]['pid']}" in payload["message"]
    _only_attempt_by(tried, tried[0]["pid"])


# ------------------------------------------------------------------ what the twin listens on


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _outside_loopback(addresses: set[tuple[str, int]]) -> set[tuple[str, int]]:
    return {a for a in addresses if not is_loopback(a)}


def test_twin_listens_on_loopback_only(twin: Twin) -> None:
    """The in-process twin: the sockets this process listens on, as the kernel reports them."""
    listening = listening_addresses()
    assert ("127.0.0.1", _port(twin.url)) in listening
    assert not _outside_loopback(listening), listening


@pytest.mark.slow
def test_the_twin_service_listens_on_loopback_only(service: TwinService) -> None:
    listening = listening_addresses(service.pid)
    assert ("127.0.0.1", _port(service.url)) in listening
    assert not _outside_loopback(listening), listening


def _tiny_model(conn: mlaccel.Connection) -> str:
    """An XGBoost model in the twin's bucket; returns its ``model.tar.gz`` URI."""
    import numpy as np
    import xgboost as xgb

    rows = np.random.default_rng(0).random((20, 2))
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(rows, label=rows.sum(axis=1)), 2)
    key = f"network-test/{unique_name('model')}/model.tar.gz"
    body = tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=body)
    return f"s3://{conn.bucket}/{key}"


def test_a_model_server_for_an_endpoint_listens_on_loopback_only(
    conn: mlaccel.Connection,
) -> None:
    before = listening_addresses()
    endpoint = unique_name("network-endpoint")
    inference.deploy_model(
        endpoint, model_data=_tiny_model(conn), data_capture=False, connection=conn
    )
    try:
        opened = listening_addresses() - before
    finally:
        inference.delete_endpoint(endpoint, connection=conn)
    assert opened, "the endpoint's model server listens in this process"
    assert not _outside_loopback(opened), opened


def test_sagemaker_sdk_work_stays_on_loopback(conn: mlaccel.Connection, tmp_path: Path) -> None:
    """Uploading data and code through the SDK (where it would send telemetry) stays local."""
    from sagemaker.s3 import S3Uploader

    data = tmp_path / "rows.csv"
    data.write_text("1,2\n3,4\n")
    uri = S3Uploader.upload(
        str(data), conn.s3_uri("network-test"), sagemaker_session=conn.sagemaker_session
    )
    assert uri.endswith("rows.csv")
    assert conn.sagemaker_session.read_s3_file(conn.bucket, "network-test/rows.csv") == "1,2\n3,4\n"


# ------------------------------------------------------------ what a test that tries sees


@pytest.mark.slow
def test_a_test_whose_child_tries_to_leave_loopback_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inner session with the guard's plugin: the test whose child tried fails, naming the
    address; the quiet one passes."""
    pytester.makepyfile(
        test_inner=f"""
        import subprocess, sys

        def test_child_tries_outside():
            subprocess.run([sys.executable, "-c", {TRY_OUTSIDE!r}], check=True)

        def test_quiet():
            pass
        """
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(NETWORK_GUARD), str(REPO)]))
    with expected_outside_attempts() as tried:
        result = pytester.runpytest_subprocess(
            "-p", "tests.network_guard.pytest_plugin", "-p", "no:cacheprovider"
        )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_child_tries_outside*",
            "*connections outside loopback were attempted:",
            "E  *192.0.2.1*443* by pid * (-c)",
        ]
    )
    assert len(tried) == 1 and tried[0]["address"] == list(OUTSIDE)
