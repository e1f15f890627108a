"""The network guard of the test run: connections outside loopback are refused and recorded.

One module for every process of a test run. The root ``conftest.py`` installs it in the pytest
process; ``sitecustomize.py`` beside it installs it at start-up in every Python process a test
starts (kernels, nbval's pytest, the twin service, SageMaker job processes), because the session
puts this folder first on their ``PYTHONPATH``. Each refused address is appended as one JSON
line to the file named by ``MLACCEL_TEST_OUTSIDE_LOG``, so the pytest process sees what its
children tried. Standard library only: it loads before anything else in every child.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The file the refused addresses go to; a child inherits it with the rest of the environment.
LOG_VARIABLE = "MLACCEL_TEST_OUTSIDE_LOG"
# Set on the guard's own connect function, so a second install in one process does nothing.
_INSTALLED = "_mlaccel_network_guard"


def is_loopback(address: Any) -> bool:
    """True for an AF_INET/AF_INET6 address on loopback, or a local (AF_UNIX) path.

    Examples
    --------
    >>> is_loopback(("127.0.0.1", 80)), is_loopback(("::1", 80, 0, 0)), is_loopback("/tmp/s")
    (True, True, True)
    >>> is_loopback(("192.0.2.1", 443)), is_loopback(("example.com", 443))
    (False, False)
    """
    if not isinstance(address, tuple):
        return True  # AF_UNIX socket path
    host = address[0]
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name: refused, whatever it would resolve to
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return bool((mapped or ip).is_loopback)


def record(log: Path, address: Any) -> None:
    """Append one refused ``address`` to ``log``, with the process that tried it."""
    line = json.dumps(
        {
            "address": list(address) if isinstance(address, tuple) else str(address),
            "pid": os.getpid(),
            "program": " ".join(sys.argv)[:300],
        },
        default=str,
    )
    # One O_APPEND write per line: lines from several processes never interleave.
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode())
    finally:
        os.close(descriptor)


def install(log: Path) -> Callable[[], None]:
    """Refuse connections outside loopback in this process, recording each in ``log``.

    Returns what undoes it. When a guard is in place already (a pytest that a test started
    has one from ``sitecustomize``), nothing changes and the undo does nothing.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    if getattr(real_connect, _INSTALLED, False):
        return lambda: None

    def refuse_outside(address: Any) -> None:
        if is_loopback(address):
            return
        unrecorded = ""
        try:
            record(log, address)
        except OSError as exc:  # refused all the same, and said where a test run looks
            unrecorded = f"; could not record it in {log}: {exc}"
            sys.stderr.write(f"network guard: {address} refused{unrecorded}\n")
        raise ConnectionRefusedError(
            f"test run tried to reach {address} outside loopback "
            f"(refused by the test network guard, pid {os.getpid()}){unrecorded}"
        )

    def connect(self: socket.socket, address: Any) -> None:
        refuse_outside(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refuse_outside(address)
        return real_connect_ex(self, address)

    setattr(connect, _INSTALLED, True)
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def uninstall() -> None:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]

    return uninstall


def install_from_environment() -> bool:
    """Install the guard when ``MLACCEL_TEST_OUTSIDE_LOG`` names a log; True if it did."""
    log = os.environ.get(LOG_VARIABLE)
    if not log:
        return False
    install(Path(log))
    return True


def read_attempts(log: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The attempts recorded in ``log`` from byte ``offset`` on, and the offset after them.

    Only whole lines count: a line still being written is read next time.
    """
    try:
        with log.open("rb") as stream:
            stream.seek(offset)
            data = stream.read()
    except FileNotFoundError:
        return [], offset
    complete = data[: data.rfind(b"\n") + 1]
    attempts = [json.loads(line) for line in complete.splitlines() if line.strip()]
    return attempts, offset + len(complete)
