"""Fixtures for every test of the repository, the library's doctests included: a guard that
refuses connections outside loopback (a local run must never reach AWS or anything else)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import OUTSIDE_CONNECTIONS, is_loopback


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
