"""What the tests share besides fixtures: the checkout's paths, importing scripts by path, free
ports, the pinned JupyterLab and headless Chromium, and the loopback check of the network guard.

Fixtures live in ``conftest.py``; test modules import these names from here.
"""

from __future__ import annotations

import importlib.util
import io
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "output" / "screenshots"
# Debian's chromium, headless, with every background connection switched off.
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Addresses outside loopback that something in this process tried to reach (conftest's guard).
OUTSIDE_CONNECTIONS: list[Any] = []


def import_script(path: Path, name: str) -> ModuleType:
    """Import a script that is not on the path (seedcode, fixtures) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up here
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def jupyterlab(
    root: Path, work: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """The pinned JupyterLab serving ``root`` on 127.0.0.1; yields its URL and token.

    Its config and settings live under ``work``; the settings turn off the news feed and
    virtual scrolling (every cell is in the DOM, so tests can read them). ``env`` adds to the
    environment of the server and its kernels.
    """
    settings = work / "lab-settings"
    for plugin, values in (
        ("@jupyterlab/notebook-extension/tracker", '{"windowingMode": "none"}'),
        ("@jupyterlab/apputils-extension/notification", '{"fetchNews": "false"}'),
    ):
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(values)
    port, token = free_port(), secrets.token_hex(16)
    full_env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(work / "jupyter-config"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        **(env or {}),
    }
    log = (work / "lab.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--allow-root",
        ],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def is_loopback(address: Any) -> bool:
    """True for an AF_INET/AF_INET6 address on loopback, or a local (AF_UNIX) path."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX socket path
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------- Model Monitor data capture


def capture_record(
    data_in: str,
    data_out: str,
    *,
    event: str,
    time: str = "2024-05-01T10:15:00Z",
    in_type: str = "text/csv",
    out_type: str = "text/csv; charset=utf-8",
    encoding_in: str = "CSV",
    encoding_out: str = "CSV",
) -> dict:
    """One record as a SageMaker endpoint writes it to the capture destination."""
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": in_type,
                "mode": "INPUT",
                "data": data_in,
                "encoding": encoding_in,
            },
            "endpointOutput": {
                "observedContentType": out_type,
                "mode": "OUTPUT",
                "data": data_out,
                "encoding": encoding_out,
            },
        },
        "eventMetadata": {"eventId": event, "inferenceTime": time},
        "eventVersion": "0",
    }


def write_capture(folder: Path, records: list[dict], hour: str = "10") -> Path:
    path = folder / "my-endpoint" / "AllTraffic" / "2024" / "05" / "01" / hour
    path.mkdir(parents=True, exist_ok=True)
    target = path / f"00-00-000-{hour}.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in records))
    return target


# ------------------------------------------------------------------------ names and artifacts


def unique_name(prefix: str) -> str:
    """``<prefix>-<8 hex>``: tests in one twin use their own names, so they do not collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tarball(files: dict[str, bytes]) -> bytes:
    """A ``model.tar.gz`` (gzip'd tar) holding ``files`` by name, as SageMaker packs models."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
