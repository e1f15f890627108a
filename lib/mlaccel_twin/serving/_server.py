"""The model server: ``/ping`` and ``/invocations`` on loopback, as an inference container does."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
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


# SageMaker real-time endpoints accept request payloads of at most 6 MB.
MAX_REQUEST_BYTES = 6 * 1024 * 1024


# Seconds a client has for its whole body once the headers are in, and for any other read (an
# idle kept-alive connection is closed after as long). A stalled client gets a 408, not a thread.
READ_TIMEOUT_SECONDS = 5.0


# Characters of a client's header value quoted back in an error message.
EXCERPT_CHARS = 40


_WHOLE_NUMBER = re.compile(r"[0-9]+")


class _Refusal(Exception):
    """A request the server answers with ``status`` and ``message`` without reading its body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` quoted, cut to ``limit`` characters with the number left out said.

    Examples
    --------
    >>> excerpt("abc")
    "'abc'"
    >>> excerpt("x" * 50, limit=4)
    "'xxxx'… (46 more characters)"
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text) - limit} more characters)"


def announced_length(
    content_lengths: list[str], transfer_encoding: str | None, max_bytes: int = MAX_REQUEST_BYTES
) -> int:
    """The body size a request's headers announce; raises _Refusal when it cannot be read."""
    if transfer_encoding is not None and transfer_encoding.strip().lower() != "identity":
        raise _Refusal(
            HTTPStatus.LENGTH_REQUIRED,
            f"Transfer-Encoding {excerpt(transfer_encoding)}: chunked bodies are not supported; "
            "send the whole body with a Content-Length header",
        )
    if not content_lengths:
        raise _Refusal(
            HTTPStatus.LENGTH_REQUIRED,
            "POST /invocations needs a Content-Length header with the body's size in bytes",
        )
    values = sorted({value.strip() for value in content_lengths}, reverse=True)
    if len(values) > 1:
        shown = ", ".join(excerpt(value) for value in values[:3])
        raise _Refusal(
            HTTPStatus.BAD_REQUEST,
            f"the request has {len(values)} Content-Length headers that differ ({shown}); send one",
        )
    if not _WHOLE_NUMBER.fullmatch(values[0]):
        raise _Refusal(
            HTTPStatus.BAD_REQUEST,
            f"Content-Length {excerpt(values[0])} is not a whole number of bytes; send the "
            "body's size, 0 or more",
        )
    digits = values[0].lstrip("0") or "0"
    # Compared by length first: int() refuses strings of more than 4300 digits.
    if len(digits) > len(str(max_bytes)) or int(digits) > max_bytes:
        shown = digits if len(digits) <= EXCERPT_CHARS else excerpt(digits)
        raise _Refusal(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"a body of {shown} bytes is more than the {max_bytes} bytes "
            f"({max_bytes / 2**20:g} MB) a SageMaker endpoint accepts; send fewer records per "
            "request",
        )
    return int(digits)


class _ModelHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of connections waits in the listen backlog rather than for a TCP retry (~1 s).
    request_queue_size = 64
    predictor: Predictor
    label: str
    read_timeout: float


class _InferenceHandler(BaseHTTPRequestHandler):
    server: _ModelHTTPServer
    protocol_version = "HTTP/1.1"
    # Buffered writes: headers and body leave in one segment. Written separately on a kept-alive
    # connection they meet Nagle's algorithm and the client's delayed ACK: ~40 ms per answer.
    wbufsize = -1

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # every read and write
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
            self._refuse(_Refusal(HTTPStatus.NOT_FOUND, "not found"))
            return
        try:
            length = announced_length(
                self.headers.get_all("Content-Length") or [],
                self.headers.get("Transfer-Encoding"),
            )
            body = self._read_body(length)
        except _Refusal as refusal:
            self._refuse(refusal)
            return
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

    def _read_body(self, length: int) -> bytes:
        """The ``length`` bytes of the body, all within the read timeout (not each read)."""
        deadline = time.monotonic() + self.server.read_timeout
        chunks: list[bytes] = []
        received = 0
        while received < length:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(length - received, 1 << 16))
            except TimeoutError:
                raise _Refusal(
                    HTTPStatus.REQUEST_TIMEOUT,
                    f"the body ended after {received} of the {length} bytes Content-Length "
                    f"announced: nothing more came within {self.server.read_timeout:g} s",
                ) from None
            if not chunk:
                raise _Refusal(
                    HTTPStatus.BAD_REQUEST,
                    f"the body ended after {received} of the {length} bytes Content-Length "
                    "announced: the client closed the connection",
                )
            chunks.append(chunk)
            received += len(chunk)
        self.connection.settimeout(self.server.read_timeout)
        return b"".join(chunks)

    def _refuse(self, refusal: _Refusal) -> None:
        """Answer ``refusal`` and close: what is left of the body cannot be told from a request."""
        try:
            self._send(refusal.status, str(refusal).encode(), "text/plain", close=True)
            self.wfile.flush()
            if refusal.status != HTTPStatus.REQUEST_TIMEOUT:  # a stalled client sends no more
                self._discard_the_rest()
        except OSError:  # the client is gone; nobody is left to answer
            pass

    def _discard_the_rest(self) -> None:
        """Read and drop what the client still sends, for at most the read timeout.

        Closing a connection with unread data resets it, and the client then loses the answer
        it has not read yet (an ordinary client sends its whole body before it reads).
        """
        self.connection.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + self.server.read_timeout
        while (left := deadline - time.monotonic()) > 0:
            self.connection.settimeout(left)
            if not self.connection.recv(1 << 16):
                return

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: Mapping[str, str] | None = None,
        *,
        close: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")  # also ends this connection's loop
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.server.label, *args)


class ModelServer:
    """A predictor served over HTTP on loopback with the SageMaker inference contract.

    ``GET /ping`` answers 200 once the model is loaded; ``POST /invocations`` takes the request
    body with ``Content-Type`` / ``Accept`` and answers with the prediction, or with the status
    of an :class:`InferenceError` and its message. ``X-Amzn-SageMaker-Custom-Attributes`` is
    returned as it was sent. Each connection is served on its own thread, so a slow client
    delays no other.

    A request body needs a ``Content-Length`` of at most :data:`MAX_REQUEST_BYTES` (400 when
    malformed, 411 when missing or chunked, 413 when larger) and must arrive within
    ``read_timeout`` seconds (408 otherwise); the connection is then closed.

    Parameters
    ----------
    predictor
        What answers the requests.
    label
        Name used in logs (e.g. ``endpoint/variant``).
    read_timeout
        Seconds a client has to send a request body, and the longest any read or write waits.

    Examples
    --------
    >>> with ModelServer(predictor) as server:  # doctest: +SKIP
    ...     requests.post(server.url + "/invocations", data=b"1,2,3",
    ...                   headers={"Content-Type": "text/csv"}).text
    '0.73\\n'
    """

    def __init__(
        self,
        predictor: Predictor,
        *,
        label: str = "model",
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        if not callable(getattr(predictor, "predict", None)):
            raise MLAccelInputError("predictor must have predict(body, content_type, accept)")
        if not read_timeout > 0:
            raise MLAccelInputError(
                f"read_timeout={read_timeout!r} must be more than 0 seconds; the default is "
                f"{READ_TIMEOUT_SECONDS:g}"
            )
        self.predictor = predictor
        self.label = label
        self.read_timeout = float(read_timeout)
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
        httpd.read_timeout = self.read_timeout
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
        """Stop accepting requests and close the port.

        Requests in flight finish first; an idle or stalled connection is closed within the
        read timeout.
        """
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
