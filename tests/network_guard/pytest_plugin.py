"""The network guard as a pytest plugin (the root ``conftest.py`` loads it for every session).

Every test runs with connections outside 127.0.0.0/8 refused and recorded, and so does every
Python process it starts: they inherit a ``PYTHONPATH`` led by this folder, whose
``sitecustomize`` installs the same guard, and the log to record in. A test during which
anything tried fails, naming the address and the process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.network_guard.mlaccel_network_guard import LOG_VARIABLE, install
from tests.support import NETWORK_GUARD, OUTSIDE_LOG, describe_attempts


def _guard_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The log of this session's guard: one per pytest-xdist worker. A pytest that a test
    started (nbval's) keeps the log it inherited, so the outer test sees what it tried."""
    inherited = os.environ.get(LOG_VARIABLE)
    if inherited:
        return Path(inherited)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return tmp_path_factory.mktemp("network-guard") / f"outside-connections-{worker}.jsonl"


@pytest.fixture(scope="session", autouse=True)
def no_outside_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Refuse and record outside connections here and in every process the tests start.

    A local run must never reach AWS or anything else: a library that tries (telemetry, a
    default-bucket lookup, a metadata service) makes the test that caused it fail.
    """
    log = _guard_log(tmp_path_factory)
    log.touch()
    saved = {name: os.environ.get(name) for name in (LOG_VARIABLE, "PYTHONPATH")}
    os.environ[LOG_VARIABLE] = str(log)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(NETWORK_GUARD), saved["PYTHONPATH"]) if p
    )
    uninstall = install(log)
    OUTSIDE_LOG.start(log)
    try:
        yield
        late = OUTSIDE_LOG.unexpected()
        assert not late, (
            "after the last test, connections outside loopback were attempted:\n"
            + describe_attempts(late)
        )
    finally:
        uninstall()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(autouse=True)
def no_outside_connection_attempted(no_outside_network: None) -> Iterator[None]:
    """Fail the test during which something, in this process or one it started, tried to
    leave loopback."""
    between = OUTSIDE_LOG.unexpected()
    assert not between, (
        "between two tests (a background thread or process), connections outside loopback "
        f"were attempted:\n{describe_attempts(between)}"
    )
    yield
    tried = OUTSIDE_LOG.unexpected()
    assert not tried, f"connections outside loopback were attempted:\n{describe_attempts(tried)}"
