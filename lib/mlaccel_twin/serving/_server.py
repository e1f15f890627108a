"""The model server: ``/ping`` and ``/invocations`` on loopback, as an inference container does."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from mlaccel._codecs import (
    CSV,
    JSON,
)
from mlaccel.errors import InferenceError, MLAccelError, MLAccelInputError
from mlaccel_twin.config import LOOPBACK
from mlaccel_twin.serving._predictors import Predictor

log = logging.getLogger(__name__)


class _ModelHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    predictor: Predictor
    label: str


class _InferenceHandler(BaseHTTPRequestHandler):
    server: _ModelHTTPServer
    protocol_version = "HTTP/1.1"
    # Buffered writes: headers and body leave in one segment. Written separately on a kept-alive
    # connection they meet Nagle's algorithm and the client's delayed ACK: ~40 ms per answer.
    wbufsize = -1

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._send(HTTPStatus.OK, b"", "text/plain")
        elif self.path == "/execution-parameters":
            params = {
                "MaxConcurrentTransforms": 1,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": 6,
            }
            self._send(HTTPStatus.OK, json.dumps(params).encode(), JSON)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or CSV
        accept = self.headers.get("Accept")
        attributes = self.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        extra = {"X-Amzn-SageMaker-Custom-Attributes": attributes} if attributes else {}
        try:
            answer, answer_type = self.server.predictor.predict(body, content_type, accept)
        except InferenceError as exc:
            self._send(exc.status, str(exc).encode(), "text/plain", extra)
            return
        except Exception as exc:
            log.exception("model %s failed on a request", self.server.label)
            message = f"{type(exc).__name__}: {exc}".encode()
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, message, "text/plain", extra)
            return
        self._send(HTTPStatus.OK, answer, answer_type, extra)

    def _send(
        self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.server.label, *args)


class ModelServer:
    """A predictor served over HTTP on loopback with the SageMaker inference contract.

    ``GET /ping`` answers 200 once the model is loaded; ``POST /invocations`` takes the request
    body with ``Content-Type`` / ``Accept`` and answers with the prediction, or with the status
    of an :class:`InferenceError` and its message. ``X-Amzn-SageMaker-Custom-Attributes`` is
    returned as it was sent. Requests are served on their own threads.

    Parameters
    ----------
    predictor
        What answers the requests.
    label
        Name used in logs (e.g. ``endpoint/variant``).

    Examples
    --------
    >>> with ModelServer(predictor) as server:  # doctest: +SKIP
    ...     requests.post(server.url + "/invocations", data=b"1,2,3",
    ...                   headers={"Content-Type": "text/csv"}).text
    '0.73\\n'
    """

    def __init__(self, predictor: Predictor, *, label: str = "model") -> None:
        if not callable(getattr(predictor, "predict", None)):
            raise MLAccelInputError("predictor must have predict(body, content_type, accept)")
        self.predictor = predictor
        self.label = label
        self._httpd: _ModelHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise MLAccelError(f"model server {self.label} is not running; call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> ModelServer:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        httpd = _ModelHTTPServer((LOOPBACK, 0), _InferenceHandler)
        httpd.predictor = self.predictor
        httpd.label = self.label
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"model-server-{self.label}",
            daemon=True,
        )
        self._thread.start()
        log.info("model %s serving on %s", self.label, self.url)
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the port (requests in flight finish first)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("model %s stopped", self.label)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
