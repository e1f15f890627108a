"""Shared fixtures: one local twin per test process, running inside it; and a guard that refuses
connections outside loopback. Helpers that are not fixtures live in ``tests/support.py``."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlaccel
from mlaccel_twin import Twin
from tests.support import OUTSIDE_CONNECTIONS, is_loopback

TESTS = Path(__file__).resolve().parent


# Tests that take more than a few seconds on 2 cores but whose modules carry no `slow` marker,
# with the time measured; `make test-fast` leaves them out. Marking them here keeps those modules
# untouched. Collection fails when a name listed here is no longer defined in its module.
SLOW = {
    "test_twin_service.py": {
        "test_cli_start_status_stop",  # 17 s: starts, queries and stops the background service
    },
    "test_twin_local_jobs.py": {
        "test_tuner_runs_jobs_and_picks_the_best",  # 8 s: four training jobs
        "test_builtin_xgboost_fit_produces_a_model_that_predicts",  # 5 s
    },
    "test_snippets.py": {
        "test_snippets_run_on_the_twin",  # 6 s: every snippet executed
    },
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    checked: set[Path] = set()
    for item in items:
        names = SLOW.get(item.path.name)
        if names is None or item.path.parent != TESTS:
            continue
        if item.path not in checked:
            checked.add(item.path)
            source = item.path.read_text()
            gone = sorted(n for n in names if f"def {n}(" not in source)
            if gone:
                raise pytest.UsageError(f"conftest.SLOW names tests {item.path.name} lacks: {gone}")
        if getattr(item, "originalname", item.name) in names:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def no_outside_network() -> Iterator[None]:
    """Every test runs with connections outside 127.0.0.0/8 refused and recorded.

    A local run must never reach AWS or anything else: a library that tries (telemetry, a
    default-bucket lookup, a metadata service) makes the test that caused it fail.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: Any) -> None:
        if not is_loopback(address):
            OUTSIDE_CONNECTIONS.append(address)
            raise ConnectionRefusedError(f"test run tried to reach {address} outside loopback")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def no_outside_connection_attempted() -> Iterator[None]:
    """Fail the test during which something tried to leave loopback."""
    before = len(OUTSIDE_CONNECTIONS)
    yield
    tried = OUTSIDE_CONNECTIONS[before:]
    assert not tried, f"connections outside loopback were attempted: {tried}"


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    """The twin every test of this process shares (each pytest-xdist worker has its own);
    tests use their own names, so they do not collide."""
    os.environ.pop("MLACCEL_TWIN_URL", None)
    os.environ["MLACCEL_HOME"] = str(tmp_path_factory.mktemp("mlaccel-home"))
    with Twin(work_dir=tmp_path_factory.mktemp("twin-jobs")) as running:
        yield running


@pytest.fixture(scope="session")
def conn(twin: Twin) -> mlaccel.Connection:
    """A connection to the session's twin."""
    return mlaccel.connect("local", twin_url=twin.url)
