"""What the twin's hooks share while a twin runs in this process: its URL, folders and workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel.errors import TwinError
from mlaccel_twin.config import TWIN_REGION


@dataclass
class TwinRuntime:
    """State of the running twin, read by the seams that extend moto's server.

    Attributes
    ----------
    url
        Base URL of moto's server on loopback, e.g. ``http://127.0.0.1:50123``.
    work_dir
        Folder under which local SageMaker jobs get their container directories.
    region
        Region the twin's own clients use.
    """

    url: str
    work_dir: Path
    region: str = TWIN_REGION
    # Jobs run one or two at a time: the machine the twin targets has two cores.
    _executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="twin-job")
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    services: dict[str, Any] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)
    _session: Any = None

    def client(self, service: str) -> Any:
        """A boto3 client of the twin itself, for hooks that act like AWS services do.

        One per service, made once: a new session reloads botocore's service models, which
        cost more than a small job itself. Clients are safe to share between threads.
        """
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                import boto3

                if self._session is None:
                    self._session = boto3.session.Session(
                        aws_access_key_id="twin",
                        aws_secret_access_key="twin",  # pragma: allowlist secret (placeholder)
                        region_name=self.region,
                    )
                client = self._clients[service] = self._session.client(
                    service, endpoint_url=self.url
                )
            return client

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn`` in the background, as AWS runs a job after its Create call returns."""
        return self._executor.submit(fn, *args)

    def shutdown(self) -> None:
        """Drop the jobs not started yet and close the services (endpoint fleet, engines)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        for service in self.services.values():
            close = getattr(service, "close", None)
            if close is not None:
                close()


_active: TwinRuntime | None = None


def activate(runtime: TwinRuntime | None) -> None:
    """Make ``runtime`` the twin of this process (None when it stops)."""
    global _active
    _active = runtime


def active_runtime() -> TwinRuntime:
    """The twin running in this process; hooks call this when moto hands them a request."""
    if _active is None:
        raise TwinError("no twin runs in this process; start one with mlaccel_twin.Twin()")
    return _active


def has_active_runtime() -> bool:
    """Whether a twin runs in this process."""
    return _active is not None
