"""The twin as a background service shared by several kernels (``mlaccel twin start``)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from mlaccel.errors import MLAccelError
from mlaccel_twin.config import home_dir

STATE_FILE = "twin.json"
LOG_FILE = "twin.log"
START_LOCK = "twin.lock"
JOBS_DIR = "jobs"
STATE_DIR = "state"


@dataclass(frozen=True)
class TwinService:
    """A running twin service, as recorded in its state file."""

    url: str
    pid: int
    work_dir: str
    started_at: float


def _state_path(home: Path | None) -> Path:
    return (home or home_dir()) / STATE_FILE


def is_listening(url: str, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections at ``url``'s host and port."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    # A service this process started stays a zombie until reaped, and a zombie still answers
    # kill(pid, 0): reap it first, or stopping it would wait for the whole timeout.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its own parent reaps it
        reaped = 0
    if reaped == pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def service_status(home: Path | None = None) -> TwinService | None:
    """The running service, or None (a stale state file is removed)."""
    path = _state_path(home)
    try:
        info = TwinService(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if _pid_alive(info.pid) and is_listening(info.url):
        return info
    path.unlink(missing_ok=True)
    return None


@contextlib.contextmanager
def _starting(home: Path) -> Iterator[None]:
    """One start at a time per home: two `mlaccel twin start` at once find one service."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / START_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def start_service(home: Path | None = None, *, port: int = 0, timeout: float = 60.0) -> TwinService:
    """Start the twin in a background process unless one runs already; return it."""
    home = home or home_dir()
    with _starting(home):
        running = service_status(home)
        if running is not None:
            return running
        return _spawn(home, port, timeout)


def _spawn(home: Path, port: int, timeout: float) -> TwinService:
    with open(home / LOG_FILE, "ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlaccel_twin",
                "serve",
                "--home",
                str(home),
                "--port",
                str(port),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the kernel that started it
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = service_status(home)
        if info is not None:
            return info
        if process.poll() is not None:
            raise MLAccelError(
                f"the twin service exited with code {process.returncode}; "
                f"see {home / LOG_FILE} for why"
            )
        time.sleep(0.1)
    process.terminate()
    raise MLAccelError(
        f"the twin service did not start within {timeout:.0f} s; see {home / LOG_FILE}"
    )


def stop_service(home: Path | None = None, *, timeout: float = 15.0) -> bool:
    """Stop the service; False when none was running."""
    info = service_status(home)
    if info is None:
        return False
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(info.pid):
        time.sleep(0.1)
    if _pid_alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
    _state_path(home).unlink(missing_ok=True)
    return True


def reset_service(home: Path | None = None) -> bool:
    """Forget the twin's state (S3 objects, catalog, registry...) and its job folders; a
    running service is restarted empty. Returns whether a service was running."""
    home = home or home_dir()
    with _starting(home):
        running = service_status(home)
        if running is not None:
            stop_service(home)
        shutil.rmtree(home / STATE_DIR, ignore_errors=True)
        shutil.rmtree(home / JOBS_DIR, ignore_errors=True)
        if running is not None:
            _spawn(home, urlparse(running.url).port or 0, 60.0)
    return running is not None


def serve(home: Path, port: int = 0) -> None:
    """Run a twin in this process until SIGTERM/SIGINT; record it in ``home``'s state file."""
    from mlaccel_twin._server import Twin

    home.mkdir(parents=True, exist_ok=True)
    running = service_status(home)
    if running is not None and running.pid != os.getpid():
        # a second service would overwrite the state file and leave the first one orphaned
        raise MLAccelError(
            f"a twin service already runs for {home} (pid {running.pid}, {running.url}); "
            "use it, or stop it first with `mlaccel twin stop`"
        )
    # Job folders belong to the jobs of the last run, whose records are not kept: clean them.
    shutil.rmtree(home / JOBS_DIR, ignore_errors=True)
    twin = Twin(port=port, work_dir=home / JOBS_DIR, state_dir=home / STATE_DIR).start()
    info = TwinService(
        url=twin.url, pid=os.getpid(), work_dir=str(twin.work_dir), started_at=time.time()
    )
    tmp = _state_path(home).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    tmp.replace(_state_path(home))  # atomic: readers never see half a file
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    # A bounded wait, again and again: a signal that lands while the main thread is entering
    # the wait sets the event without waking it, and a wait without a timeout would then
    # sleep on past the stop request.
    while not stopped.wait(timeout=0.5):
        pass
    twin.stop()
    _state_path(home).unlink(missing_ok=True)
