"""Endpoint invocations and their data capture: the records SageMaker writes under an endpoint
config's capture destination, in its JSON Lines format."""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlaccel._codecs import media_type
from mlaccel._s3 import parse_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureSpec:
    """An endpoint config's ``DataCaptureConfig``, when capture is enabled.

    Examples
    --------
    >>> spec = CaptureSpec.from_config({
    ...     "EnableCapture": True, "InitialSamplingPercentage": 100,
    ...     "DestinationS3Uri": "s3://bucket/capture",
    ...     "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    ... })
    >>> spec.capture_input, spec.capture_output, spec.csv_content_types
    (True, True, ('text/csv',))
    """

    destination: str
    sampling_percentage: float = 100.0
    capture_input: bool = True
    capture_output: bool = True
    csv_content_types: tuple[str, ...] = ("text/csv",)
    json_content_types: tuple[str, ...] = ("application/json",)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> CaptureSpec | None:
        """Read a ``DataCaptureConfig``; None when it is absent or capture is disabled."""
        if not config or not config.get("EnableCapture", True):
            return None
        destination = str(config.get("DestinationS3Uri") or "")
        parse_path(destination)  # a clear error now rather than at the first flush
        modes = {str(o.get("CaptureMode", "")) for o in config.get("CaptureOptions") or []}
        modes = modes or {"Input", "Output"}
        header = config.get("CaptureContentTypeHeader") or {}
        csv_types = tuple(media_type(t) for t in header.get("CsvContentTypes") or ["text/csv"])
        json_types = tuple(
            media_type(t) for t in header.get("JsonContentTypes") or ["application/json"]
        )
        return cls(
            destination=destination.rstrip("/"),
            sampling_percentage=float(config.get("InitialSamplingPercentage", 100)),
            capture_input=bool(modes & {"Input", "InputAndOutput"}),
            capture_output=bool(modes & {"Output", "InputAndOutput"}),
            csv_content_types=csv_types,
            json_content_types=json_types,
        )


def capture_summary(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``DataCaptureConfigSummary`` DescribeEndpoint shows for a ``DataCaptureConfig``.

    Examples
    --------
    >>> capture_summary({"EnableCapture": True, "DestinationS3Uri": "s3://bucket/capture"})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'EnableCapture': True, 'CaptureStatus': 'Started', 'CurrentSamplingPercentage': 100,
     'DestinationS3Uri': 's3://bucket/capture'}
    """
    if not config:
        return None
    enabled = bool(config.get("EnableCapture", True))
    summary = {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": int(config.get("InitialSamplingPercentage", 100)),
        "DestinationS3Uri": config.get("DestinationS3Uri", ""),
    }
    if config.get("KmsKeyId"):
        summary["KmsKeyId"] = config["KmsKeyId"]
    return summary


@dataclass(frozen=True)
class Invocation:
    """One ``InvokeEndpoint`` request."""

    body: bytes
    content_type: str = "text/csv"
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None
    inference_id: str | None = None


@dataclass(frozen=True)
class InvocationResult:
    """A model server's answer; ``status`` other than 200 is the model's error."""

    status: int
    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None = None


class CaptureWriter:
    """Writes sampled requests and responses in SageMaker's data-capture JSON Lines layout.

    Files land in ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm-uuid>.jsonl``,
    written every ``flush_seconds`` or every ``max_records`` records, and on :meth:`close`.

    Parameters
    ----------
    spec
        The capture settings.
    endpoint_name
        Folder under the destination.
    s3_client
        boto3 S3 client that writes the files.
    flush_seconds, max_records
        How often buffered records are written.
    """

    def __init__(
        self,
        spec: CaptureSpec,
        endpoint_name: str,
        s3_client: Any,
        *,
        flush_seconds: float = 1.0,
        max_records: int = 100,
    ) -> None:
        self.spec = spec
        self.endpoint_name = endpoint_name
        self._s3 = s3_client
        self._bucket, prefix = parse_path(spec.destination)
        self._prefix = prefix.strip("/")
        self._flush_seconds = flush_seconds
        self._max_records = max_records
        self._buffer: list[tuple[str, datetime, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Seeded by the endpoint's name: which requests are sampled is reproducible.
        self._rng = random.Random(zlib.crc32(endpoint_name.encode()))
        self._wake = threading.Event()
        self._closed = threading.Event()
        self.written_keys: list[str] = []
        self._thread = threading.Thread(
            target=self._run, name=f"capture-{endpoint_name}", daemon=True
        )
        self._thread.start()

    def sampled(self) -> bool:
        """Whether the next request is captured (``InitialSamplingPercentage``)."""
        percentage = self.spec.sampling_percentage
        if percentage >= 100:
            return True
        if percentage <= 0:
            return False
        with self._lock:
            return self._rng.random() * 100.0 < percentage

    def record(
        self,
        variant: str,
        invocation: Invocation,
        result: InvocationResult,
        when: datetime | None = None,
    ) -> None:
        """Buffer one request/response pair (call :meth:`sampled` first)."""
        when = when or datetime.now(UTC)
        capture: dict[str, Any] = {}
        if self.spec.capture_input:
            capture["endpointInput"] = self._payload(
                invocation.body, invocation.content_type, "INPUT"
            )
        if self.spec.capture_output:
            capture["endpointOutput"] = self._payload(result.body, result.content_type, "OUTPUT")
        metadata: dict[str, Any] = {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if invocation.inference_id:
            metadata["inferenceId"] = invocation.inference_id
        event = {"captureData": capture, "eventMetadata": metadata, "eventVersion": "0"}
        with self._lock:
            self._buffer.append((variant, when, event))
            full = len(self._buffer) >= self._max_records
        if full:
            self._wake.set()

    def _payload(self, data: bytes, content_type: str, mode: str) -> dict[str, Any]:
        kind = media_type(content_type)
        encoding = "BASE64"
        if kind in self.spec.csv_content_types:
            encoding = "CSV"
        elif kind in self.spec.json_content_types:
            encoding = "JSON"
        text: str
        if encoding == "BASE64":
            text = base64.b64encode(data).decode()
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                encoding, text = "BASE64", base64.b64encode(data).decode()
        return {
            "observedContentType": content_type,
            "mode": mode,
            "data": text,
            "encoding": encoding,
        }

    def flush(self) -> list[str]:
        """Write the buffered records now; returns the S3 keys written."""
        with self._lock:
            pending, self._buffer = self._buffer, []
        if not pending:
            return []
        groups: dict[tuple[str, str], list[tuple[datetime, dict[str, Any]]]] = {}
        for variant, when, event in pending:
            hour = when.strftime("%Y/%m/%d/%H")
            groups.setdefault((variant, hour), []).append((when, event))
        keys = []
        with self._write_lock:
            for (variant, hour), events in groups.items():
                first = events[0][0]
                name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
                parts = [self._prefix, self.endpoint_name, variant, hour, name]
                key = "/".join(p for p in parts if p)
                body = "".join(json.dumps(event) + "\n" for _, event in events).encode()
                try:
                    self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
                except Exception:
                    log.exception("data capture of %s could not write %s", self.endpoint_name, key)
                    continue
                keys.append(key)
            self.written_keys.extend(keys)
        return keys

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Write what is buffered and stop the background writer."""
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()
