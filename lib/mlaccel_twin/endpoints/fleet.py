"""Real-time endpoints on the twin: model servers per production variant, routing, data capture.

An :class:`EndpointFleet` keeps one live deployment per endpoint. :meth:`EndpointFleet.deploy`
downloads each variant's model, loads it (:func:`mlaccel_twin.serving.load_predictor`) and
starts a :class:`~mlaccel_twin.serving.ModelServer` on loopback in the background; once every
server answers ``/ping``, routing switches to the new deployment in one step, and the previous
one is stopped after its requests in flight have finished — an update loses no request.
:meth:`EndpointFleet.invoke` forwards a request to a variant's server (``TargetVariant``, or
weighted round robin) and records it for data capture.

The fleet knows nothing of moto: ``mlaccel_twin.endpoints.seam`` wires it to the SageMaker
control plane (CreateEndpoint, UpdateEndpoint, DeleteEndpoint) and to ``InvokeEndpoint``.
"""

from __future__ import annotations

import http.client
import logging
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel.errors import EndpointNotLive, MLAccelError, MLAccelInputError, UnknownVariant
from mlaccel_twin.config import LOOPBACK
from mlaccel_twin.endpoints.capture import CaptureSpec, CaptureWriter, Invocation, InvocationResult
from mlaccel_twin.serving import ModelServer, fetch_model, load_predictor

log = logging.getLogger(__name__)


# Seconds a stopped deployment waits for its requests in flight before closing its servers.
DRAIN_SECONDS = 30.0


# Seconds a new model server has to answer /ping.
PING_SECONDS = 30.0


# Seconds the forwarder waits for a model's answer (SageMaker's own limit is 60).
INVOCATION_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class VariantSpec:
    """One production variant: its name, model and routing weight.

    Attributes
    ----------
    name
        ``VariantName`` of the production variant.
    model_name
        The SageMaker model it serves.
    container
        The model's ``PrimaryContainer`` (``Image``, ``ModelDataUrl``, ``Environment``).
    weight
        ``InitialVariantWeight``.
    """

    name: str
    model_name: str
    container: Mapping[str, Any]
    weight: float = 1.0


@dataclass(frozen=True)
class EndpointSpec:
    """What an endpoint serves: the endpoint config resolved down to model containers."""

    name: str
    config_name: str
    variants: tuple[VariantSpec, ...]
    capture: CaptureSpec | None = None

    def __post_init__(self) -> None:
        if not self.variants:
            raise MLAccelInputError(
                f"endpoint config {self.config_name!r} has no production variant; add one"
            )


class _ConnectionPool:
    """Kept-alive HTTP connections to one model server, one per concurrent request.

    A new connection per request costs a TCP handshake and a server thread (~1 ms each time).
    """

    def __init__(self, port: int, size: int = 8) -> None:
        self.port = port
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue(maxsize=size)

    def post(
        self, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        try:
            connection = self._idle.get_nowait()
            reused = True
        except queue.Empty:
            connection, reused = self._connect(), False
        try:
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            connection.close()
            if not reused:
                raise
            # The server closed an idle connection: nothing was processed, send it again.
            connection = self._connect()
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            try:
                self._idle.put_nowait(connection)
            except queue.Full:
                connection.close()
        return response.status, data, response

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(LOOPBACK, self.port, timeout=INVOCATION_TIMEOUT_SECONDS)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


@dataclass
class _LiveVariant:
    spec: VariantSpec
    server: ModelServer
    pool: _ConnectionPool


@dataclass
class _Deployment:
    spec: EndpointSpec
    variants: dict[str, _LiveVariant]
    folder: Path
    capture: CaptureWriter | None = None
    _inflight: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _credit: dict[str, float] = field(default_factory=dict)
    _routing: threading.Lock = field(default_factory=threading.Lock)

    def choose(self, target: str | None, weights: Mapping[str, float] | None) -> _LiveVariant:
        if target:
            if target not in self.variants:
                raise UnknownVariant(
                    f"TargetVariant {target!r} is not a production variant of endpoint "
                    f"{self.spec.name!r}; use one of {sorted(self.variants)}"
                )
            return self.variants[target]
        names = list(self.variants)
        if len(names) == 1:
            return self.variants[names[0]]
        weight_of = {
            name: max(0.0, float((weights or {}).get(name, self.variants[name].spec.weight)))
            for name in names
        }
        total = sum(weight_of.values())
        if total <= 0:
            return self.variants[names[0]]
        # Smooth weighted round robin: deterministic, and each variant gets its share.
        with self._routing:
            for name in names:
                self._credit[name] = self._credit.get(name, 0.0) + weight_of[name]
            chosen = max(names, key=lambda n: self._credit[n])
            self._credit[chosen] -= total
        return self.variants[chosen]

    def enter(self) -> None:
        with self._idle:
            self._inflight += 1

    def leave(self) -> None:
        with self._idle:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()

    def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=drain_seconds)
        for variant in self.variants.values():
            variant.pool.close()  # first: a kept-alive connection holds its server thread
            variant.server.stop()
        if self.capture is not None:
            self.capture.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class EndpointFleet:
    """The live endpoints of one twin.

    Parameters
    ----------
    work_dir
        Folder under which each deployment extracts its models.
    s3_client_factory
        Returns a boto3 S3 client of the twin (models are read, captures written through it).

    Examples
    --------
    >>> fleet = EndpointFleet(work_dir=tmp_path, s3_client_factory=lambda: conn.client("s3"))
    ... # doctest: +SKIP
    >>> fleet.deploy("my-endpoint", spec, on_ready=..., on_failed=...).result()  # doctest: +SKIP
    >>> fleet.invoke("my-endpoint", Invocation(b"1,2,3", "text/csv")).body  # doctest: +SKIP
    b'0.73\\n'
    """

    def __init__(self, *, work_dir: Path, s3_client_factory: Callable[[], Any]) -> None:
        self.work_dir = Path(work_dir)
        self._s3_factory = s3_client_factory
        self._s3: Any | None = None
        self._live: dict[Hashable, _Deployment] = {}
        # The latest deployment asked for per endpoint; an older one finishing late is dropped.
        self._latest: dict[Hashable, str | None] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="twin-endpoint")

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self._s3_factory()
        return self._s3

    def deploy(
        self,
        key: Hashable,
        spec: EndpointSpec,
        *,
        on_ready: Callable[[], None],
        on_failed: Callable[[str], None],
    ) -> Future[None]:
        """Start ``spec``'s model servers in the background, then route ``key`` to them.

        ``on_ready`` runs once the new deployment takes the traffic; ``on_failed(reason)`` when
        a model cannot be loaded or served (the previous deployment, if any, keeps serving).
        """
        token = uuid.uuid4().hex[:12]
        with self._lock:
            self._latest[key] = token
        return self._executor.submit(self._deploy, key, spec, token, on_ready, on_failed)

    def _deploy(
        self,
        key: Hashable,
        spec: EndpointSpec,
        token: str,
        on_ready: Callable[[], None],
        on_failed: Callable[[str], None],
    ) -> None:
        folder = self.work_dir / "endpoints" / f"{_safe(spec.name)}-{token}"
        started: dict[str, _LiveVariant] = {}
        try:
            for variant in spec.variants:
                model_dir, environment = fetch_model(
                    variant.container, s3_client=self.s3, dest=folder / _safe(variant.name)
                )
                predictor = load_predictor(
                    model_dir,
                    image_uri=str(variant.container.get("Image", "")),
                    environment=environment,
                )
                server = ModelServer(predictor, label=f"{spec.name}/{variant.name}").start()
                started[variant.name] = _LiveVariant(variant, server, _ConnectionPool(server.port))
                _wait_for_ping(server)
            capture = CaptureWriter(spec.capture, spec.name, self.s3) if spec.capture else None
        except Exception as exc:
            for live in started.values():
                live.server.stop()
            shutil.rmtree(folder, ignore_errors=True)
            reason = _failure_reason(exc)
            log.warning("endpoint %s failed: %s", spec.name, reason)
            on_failed(reason)
            return
        deployment = _Deployment(spec, started, folder, capture)
        with self._lock:
            current = self._latest.get(key) == token and not self._closed
            previous = self._live.get(key) if current else None
            if current:
                self._live[key] = deployment
        if not current:
            deployment.stop(drain_seconds=0)  # deleted or superseded while it was starting
            return
        on_ready()
        log.info("endpoint %s serves config %s", spec.name, spec.config_name)
        if previous is not None:
            previous.stop()

    def is_live(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._live

    def variant_urls(self, key: Hashable) -> dict[str, str]:
        """URL of each variant's model server (for diagnostics and tests)."""
        with self._lock:
            deployment = self._live.get(key)
        if deployment is None:
            return {}
        return {name: live.server.url for name, live in deployment.variants.items()}

    def invoke(
        self,
        key: Hashable,
        invocation: Invocation,
        *,
        weights: Mapping[str, float] | None = None,
    ) -> InvocationResult:
        """Forward ``invocation`` to one variant's server and capture it when configured.

        Raises
        ------
        EndpointNotLive
            No deployment serves ``key``.
        UnknownVariant
            ``invocation.target_variant`` is not a variant of the endpoint.
        """
        with self._lock:
            deployment = self._live.get(key)
            if deployment is None:
                raise EndpointNotLive(f"endpoint {key!r} serves no requests")
            deployment.enter()  # under the fleet lock: an update cannot stop it in between
        try:
            live = deployment.choose(invocation.target_variant, weights)
            result = _forward(live.pool, live.spec.name, invocation)
            capture = deployment.capture
            if result.status == 200 and capture is not None and capture.sampled():
                capture.record(live.spec.name, invocation, result)
            return result
        finally:
            deployment.leave()

    def remove(self, key: Hashable) -> bool:
        """Stop ``key``'s servers (after requests in flight) and flush its data capture."""
        with self._lock:
            self._latest[key] = None
            deployment = self._live.pop(key, None)
        if deployment is None:
            return False
        deployment.stop()
        return True

    def flush_captures(self) -> None:
        """Write every endpoint's buffered data capture now."""
        with self._lock:
            writers = [d.capture for d in self._live.values() if d.capture is not None]
        for writer in writers:
            writer.flush()

    def close(self) -> None:
        """Stop every endpoint (called when the twin stops)."""
        with self._lock:
            self._closed = True
            keys = list(self._live)
        for key in keys:
            self.remove(key)
        self._executor.shutdown(wait=False, cancel_futures=True)


def _forward(pool: _ConnectionPool, variant: str, invocation: Invocation) -> InvocationResult:
    headers = {"Content-Type": invocation.content_type or "text/csv"}
    if invocation.accept:
        headers["Accept"] = invocation.accept
    if invocation.custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = invocation.custom_attributes
    status, body, response = pool.post("/invocations", invocation.body, headers)
    return InvocationResult(
        status=status,
        body=body,
        content_type=response.getheader("Content-Type") or "application/octet-stream",
        variant=variant,
        custom_attributes=response.getheader("X-Amzn-SageMaker-Custom-Attributes"),
    )


def _wait_for_ping(server: ModelServer) -> None:
    connection = http.client.HTTPConnection(LOOPBACK, server.port, timeout=PING_SECONDS)
    try:
        connection.request("GET", "/ping")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise MLAccelError(f"model server {server.label} answered /ping with {response.status}")


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, MLAccelError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "x"
