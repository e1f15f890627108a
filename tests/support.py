"""What the tests share besides fixtures: the checkout's paths, importing scripts by path, free
ports, the pinned JupyterLab and headless Chromium, what the network guard recorded and the
sockets a process listens on, and the skips of tests whose tool is missing.

Fixtures live in ``conftest.py``; test modules import these names from here.
"""

from __future__ import annotations

import importlib.util
import io
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
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.network_guard.mlaccel_network_guard import read_attempts

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

# The folder whose sitecustomize installs the network guard in every process a test starts.
NETWORK_GUARD = REPO / "tests" / "network_guard"


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


# ------------------------------------------------------------------------------ network guard


@dataclass
class OutsideLog:
    """What the network guard recorded (``tests/network_guard``), read in order.

    The guard's pytest plugin fails each test with the attempts made since its last look;
    attempts a test makes on purpose are taken inside :func:`expected_outside_attempts` instead.
    """

    path: Path | None = None
    offset: int = 0
    held: list[dict[str, Any]] = field(default_factory=list)  # seen early, still unexpected

    def start(self, path: Path) -> None:
        """Read ``path`` from its current end on."""
        self.path, self.held = path, []
        _, self.offset = read_attempts(path)

    def new(self) -> list[dict[str, Any]]:
        """The attempts recorded since the last read."""
        if self.path is None:
            raise RuntimeError(
                "the network guard is not running: the no_outside_network fixture of "
                "tests/network_guard/pytest_plugin.py starts it (the root conftest.py loads it)"
            )
        attempts, self.offset = read_attempts(self.path, self.offset)
        return attempts

    def unexpected(self) -> list[dict[str, Any]]:
        """The attempts nobody expected since the last look: those held back, then new ones."""
        taken, self.held = [*self.held, *self.new()], []
        return taken


OUTSIDE_LOG = OutsideLog()


@contextmanager
def expected_outside_attempts() -> Iterator[list[dict[str, Any]]]:
    """Attempts made inside the block are the test's point: they fill the yielded list instead
    of failing the test. Attempts made before the block still fail it."""
    OUTSIDE_LOG.held.extend(OUTSIDE_LOG.new())
    expected: list[dict[str, Any]] = []
    try:
        yield expected
    finally:
        expected.extend(OUTSIDE_LOG.new())


def describe_attempts(attempts: list[dict[str, Any]]) -> str:
    """One line per attempt: the address, and the process that tried it."""
    return "\n".join(
        f"  {a['address']} by pid {a['pid']} ({a['program'] or 'python'})" for a in attempts
    )


def listening_addresses(pid: int | None = None) -> set[tuple[str, int]]:
    """The (address, port) of every socket process ``pid`` (default: this one) listens on:
    TCP sockets in LISTEN and UDP sockets bound without a peer, as the kernel reports them."""
    import psutil  # installed with the SageMaker SDK; only these checks need it

    process = psutil.Process(pid)
    # psutil 6 renamed connections() to net_connections(); the SDK's pin decides which we get.
    read = process.net_connections if hasattr(process, "net_connections") else process.connections
    sockets = read(kind="inet")
    return {
        (s.laddr.ip, s.laddr.port)
        for s in sockets
        if s.status == psutil.CONN_LISTEN or (s.type == socket.SOCK_DGRAM and not s.raddr)
    }


# ---------------------------------------------------------------- tests that need a tool

# The start of the skip reason of a test whose tool is missing; ToolSkipReport finds them by it.
MISSING_TOOL = "missing tool"


def needs_tool(tool: str, install: str) -> pytest.MarkDecorator:
    """Skip the test unless ``tool`` is on PATH, saying how to ``install`` it.

    Never silent: the session lists these skips at its end and fails when ``CI`` is set.
    """
    return pytest.mark.skipif(
        shutil.which(tool) is None, reason=f"{MISSING_TOOL} {tool}: {install}"
    )


needs_chromium = needs_tool("chromium", "apt-get install chromium (Debian's, run headless)")
needs_shellcheck = needs_tool("shellcheck", "apt-get install shellcheck")
needs_git = needs_tool("git", "apt-get install git")


# ------------------------------------------------------------------ the library under test


def _library_folder() -> Path:
    spec = importlib.util.find_spec("mlaccel")
    assert spec is not None and spec.origin is not None, "mlaccel is not installed"
    return Path(spec.origin).resolve().parent


# Every lane tests the clone's own lib/ (an editable install) but the lowest, which tests the
# built wheel installed in a fresh environment (`make test-lowest`, tests/test_installed_wheel.py).
FROM_CHECKOUT = _library_folder().parent == REPO / "lib"
needs_checkout = pytest.mark.skipif(
    not FROM_CHECKOUT,
    reason="checks the clone's own lib/ or its files through the library; the lowest lane "
    "tests the installed wheel",
)


def running_in_ci() -> bool:
    """True when ``CI`` is set to something other than empty, 0, false or no."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def skip_reason(report: pytest.TestReport) -> str:
    """The reason of a skipped test's report (pytest keeps it as (file, line, "Skipped: …"))."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class ToolSkipReport:
    """A pytest plugin: the tests skipped because a tool is missing, listed at the end of the
    session; when ``CI`` is set they fail it, since CI must run every test.

    Registered by the root conftest (:func:`report_tool_skips`) on the process that reports: the
    pytest-xdist controller receives every worker's reports.
    """

    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and skip_reason(report).startswith(MISSING_TOOL):
            self.skipped.append((report.nodeid, skip_reason(report)))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.skipped and running_in_ci() and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.skipped:
            return
        ci = running_in_ci()
        terminalreporter.section("tests skipped for a missing tool", red=ci, yellow=not ci)
        for nodeid, reason in self.skipped:
            terminalreporter.line(f"{nodeid}: {reason}")
        if ci:
            terminalreporter.line(
                f"CI is set, so {len(self.skipped)} skipped for a missing tool fail the run: "
                "install the tools (.ci/run does)",
                red=True,
            )
        else:
            terminalreporter.line(
                "with CI set (CI=true, as CI services set it) these skips fail the run"
            )


def report_tool_skips(config: pytest.Config) -> None:
    """Register :class:`ToolSkipReport` for this session (not on pytest-xdist workers)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ToolSkipReport(), "mlaccel-tool-skips")


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


def demo_contract(name: str, n_rows: int = 20_000, seed: int = 0) -> Any:
    """A demo product's contract, inferred from its generated rows as registering it would (the
    notebooks' default rows and seed, so definitions built from it match the reviewed ones)."""
    from mlaccel import demo, products

    spec = demo.get_demo(name)
    return products.infer_product(
        demo.generate(name, n_rows, seed=seed),
        name=name,
        target=spec.target,
        problem_type=spec.problem_type,
        id_column=spec.id_column,
    ).product


def screenshot_pages(pages: list[Path], folder: Path, *, width: int = 1200) -> list[Path]:
    """A full-page PNG of each local HTML page in headless Chromium, into ``folder``.

    Only ``file:`` and ``data:`` requests are served: a page that asks for anything else (a CDN
    script in an exported notebook) is refused it, so rendering opens no connection.
    """
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(("file:", "data:"))
                    else route.abort()
                ),
            )
            for html in pages:
                page.goto(html.resolve().as_uri(), wait_until="load")
                shot = folder / f"{html.stem}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)
        finally:
            browser.close()
    return shots


# ------------------------------------------------------------------------- the twin's clock


def move_twin_clock_past_the_hour(url: str, minutes: int = 2) -> None:
    """Advance the twin's clock to ``minutes`` past its next hour (schedules due fire).

    An hourly cron schedule then has the rest of that hour before it fires on its own, so a
    test that counts firings does not depend on when in the real hour it runs.
    """
    from datetime import datetime

    from mlaccel_twin.clock import advance_clock, clock_now

    now = datetime.fromisoformat(clock_now(url)["now"])
    into_hour = now.minute * 60 + now.second + now.microsecond / 1e6
    advance_clock(url, float((3600 - into_hour + minutes * 60) % 3600 or 3600))
