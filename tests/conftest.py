"""Shared fixtures: one local twin per test process, running inside it. The guard that refuses
connections outside loopback is in the repository's root ``conftest.py`` (it covers the doctests
of ``lib/`` too); helpers that are not fixtures live in ``tests/support.py``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import mlaccel
from mlaccel_twin import Twin


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
