"""The twin in a process: moto's server on loopback with the twin's seams installed."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType

from mlaccel.errors import MLAccelError
from mlaccel_twin import _runtime
from mlaccel_twin.config import LOOPBACK, TWIN_CREDENTIALS, TWIN_REGION

log = logging.getLogger(__name__)


class Twin:
    """A local AWS twin running inside this process.

    moto's server listens on ``127.0.0.1`` (never another interface) on a free port; the kit's
    seams (:mod:`mlaccel_twin.seams`) make SageMaker jobs, endpoints, Lambda handlers, Athena
    queries and Step Functions executions really run.

    Parameters
    ----------
    port
        TCP port on loopback; 0 picks a free one.
    work_dir
        Folder for local job directories; a temporary folder when omitted.
    state_dir
        Folder where the twin keeps its state (S3 objects, catalog, registry, models,
        endpoints, state machines, functions) and restores it from when it starts; without
        one, the state lives and dies with the twin.

    Examples
    --------
    >>> with Twin() as twin:  # doctest: +SKIP
    ...     print(twin.url)
    http://127.0.0.1:50123
    """

    def __init__(
        self,
        *,
        port: int = 0,
        work_dir: Path | str | None = None,
        state_dir: Path | str | None = None,
    ) -> None:
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise MLAccelError(f"port={port!r} is not a TCP port; pass 0 to pick a free one")
        self._requested_port = port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if work_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlaccel-twin-")
            work_dir = self._tmp.name
        self.work_dir = Path(work_dir)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.restore_seconds: dict[str, float] = {}
        self._server: object | None = None
        self.url = ""

    def start(self) -> Twin:
        """Start moto's server on loopback and install the twin's seams."""
        if _runtime.has_active_runtime():
            raise MLAccelError(
                "a twin already runs in this process; use it (mlaccel_twin.current_url()) "
                "or stop it first"
            )
        for name, value in TWIN_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        os.environ.setdefault("AWS_DEFAULT_REGION", TWIN_REGION)

        from moto.core.config import default_user_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        from mlaccel_twin import seams

        seams.check_versions()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=self._requested_port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.url = f"http://{host}:{port}"
        # moto's state-machine interpreter calls services back on MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        self.work_dir.mkdir(parents=True, exist_ok=True)
        runtime = _runtime.TwinRuntime(url=self.url, work_dir=self.work_dir)
        _runtime.activate(runtime)
        seams.install(runtime)
        from mlaccel_twin.clock.seam import start_clock

        start_clock(runtime)
        if self.state_dir is not None:
            from mlaccel_twin.state.control import SNAPSHOTS
            from mlaccel_twin.state.seam import SERVICE_KEY, StateStore, restore

            store = StateStore(self.state_dir, SNAPSHOTS)
            runtime.services[SERVICE_KEY] = store
            self.restore_seconds = restore(runtime, store)
            log.info("twin state restored from %s in %s", self.state_dir, self.restore_seconds)
        log.info("twin listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop the server, forget its state and remove the temporary folder."""
        if self._server is None:
            return
        runtime = _runtime.active_runtime()
        runtime.shutdown()
        _reset_moto_state()
        self._server.stop()  # type: ignore[attr-defined]
        self._server = None
        _runtime.activate(None)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Twin:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _reset_moto_state() -> None:
    # Backends are module globals; a new twin in the same process must start empty.
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def current_url() -> str | None:
    """URL of the twin running in this process, if any."""
    return _runtime.active_runtime().url if _runtime.has_active_runtime() else None
