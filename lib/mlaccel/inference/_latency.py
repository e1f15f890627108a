"""Endpoint latency: time requests one after the other, summarize them, draw them."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mlaccel._aws import check_connection
from mlaccel._codecs import CSV, records_to_csv
from mlaccel._connect import Connection
from mlaccel.errors import MLAccelInputError

# A few distinct payloads, cut from the records in turn, are enough to vary the requests.
_MAX_DISTINCT_PAYLOADS = 64


@dataclass(frozen=True)
class LatencyReport:
    """Latency and throughput of requests sent one after the other.

    Attributes
    ----------
    requests, rows_per_request
        How many requests were timed, and how many records each carried.
    p50_ms, p90_ms, p99_ms, mean_ms, max_ms
        Round-trip latency of one request, in milliseconds.
    requests_per_second, rows_per_second
        Throughput over the timed requests.
    samples_ms
        Every request's latency, in the order sent (for plots).
    """

    requests: int
    rows_per_request: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    requests_per_second: float
    rows_per_second: float
    samples_ms: tuple[float, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, float]:
        """The figures (not the samples) as a plain dict, for tables and ``notebooks.record``."""
        return {k: float(v) for k, v in asdict(self).items() if k != "samples_ms"}


def summarize_latencies(durations_s: Sequence[float], rows_per_request: int) -> LatencyReport:
    """Percentiles and throughput of request durations (seconds), sent one after the other.

    Examples
    --------
    >>> report = summarize_latencies([0.01, 0.02, 0.03, 0.04], rows_per_request=10)
    >>> report.p50_ms, round(report.rows_per_second)
    (25.0, 400)
    """
    values = np.asarray(list(durations_s), dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise MLAccelInputError(
            "durations_s must be a non-empty list of non-negative seconds; "
            "time requests with measure_latency"
        )
    total = float(values.sum())
    milliseconds = values * 1000.0
    requests_per_second = values.size / total if total > 0 else math.inf
    return LatencyReport(
        requests=int(values.size),
        rows_per_request=int(rows_per_request),
        p50_ms=float(np.percentile(milliseconds, 50)),
        p90_ms=float(np.percentile(milliseconds, 90)),
        p99_ms=float(np.percentile(milliseconds, 99)),
        mean_ms=float(milliseconds.mean()),
        max_ms=float(milliseconds.max()),
        requests_per_second=float(requests_per_second),
        rows_per_second=float(requests_per_second * rows_per_request),
        samples_ms=tuple(float(v) for v in milliseconds),
    )


def measure_latency(
    endpoint_name: str,
    records: Any,
    *,
    n_requests: int = 100,
    rows_per_request: int = 1,
    warmup_requests: int = 3,
    progress: bool = True,
    connection: Connection,
) -> LatencyReport:
    """Time ``n_requests`` CSV requests of ``rows_per_request`` records each, one at a time.

    Payloads are cut from ``records`` in turn (cycling when there are fewer records than
    needed); ``warmup_requests`` untimed requests go first. Latency is the client's round trip
    through ``InvokeEndpoint``, as an application calling the endpoint sees it.

    Returns
    -------
    LatencyReport
        p50 / p90 / p99 latency and throughput (requests and rows per second).

    Examples
    --------
    >>> report = measure_latency("used-cars-xgboost", features, connection=conn)  # doctest: +SKIP
    >>> round(report.p50_ms, 1), round(report.p99_ms, 1)  # doctest: +SKIP
    (2.1, 4.8)
    """
    for name, value, low in (
        ("n_requests", n_requests, 1),
        ("rows_per_request", rows_per_request, 1),
        ("warmup_requests", warmup_requests, 0),
    ):
        if not isinstance(value, int) or value < low:
            raise MLAccelInputError(f"{name}={value!r} must be a whole number >= {low}")
    conn = check_connection(connection)
    payloads = latency_payloads(records, rows_per_request, n_requests)
    runtime = conn.client("sagemaker-runtime")

    def send(payload: str) -> None:
        runtime.invoke_endpoint(
            EndpointName=endpoint_name, Body=payload, ContentType=CSV, Accept=CSV
        )["Body"].read()

    for i in range(warmup_requests):
        send(payloads[i % len(payloads)])
    durations = []
    for i in _progress(range(n_requests), progress, f"invoking {endpoint_name}"):
        payload = payloads[i % len(payloads)]
        started = time.perf_counter()
        send(payload)
        durations.append(time.perf_counter() - started)
    return summarize_latencies(durations, rows_per_request)


def latency_payloads(records: Any, rows_per_request: int, n_requests: int) -> list[str]:
    """The distinct CSV payloads of ``rows_per_request`` records each that a timing run cycles.

    Examples
    --------
    >>> latency_payloads([[1], [2], [3]], rows_per_request=2, n_requests=5)
    ['1\\n2\\n', '3\\n1\\n']
    """
    lines = records_to_csv(records).splitlines(keepends=True)
    needed = math.ceil(len(lines) / rows_per_request)
    distinct = max(1, min(n_requests, _MAX_DISTINCT_PAYLOADS, needed))
    return [
        "".join(lines[(start * rows_per_request + i) % len(lines)] for i in range(rows_per_request))
        for start in range(distinct)
    ]


def _progress(items: range, enabled: bool, description: str) -> Iterable[int]:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    bar: Iterable[int] = tqdm(items, desc=description, unit="request", leave=False)
    return bar


def plot_latency(report: LatencyReport, *, title: str = "") -> Any:
    """A histogram of a report's request latencies, with its p50 and p99 marked.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure = plot_latency(summarize_latencies([0.002, 0.003, 0.004], 1), title="demo")
    >>> [text.get_text() for text in figure.axes[0].texts]
    ['p50 3.0 ms', 'p99 4.0 ms']
    """
    if not report.samples_ms:
        raise MLAccelInputError(
            "report has no samples; build it with measure_latency or summarize_latencies"
        )
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7, 3), layout="constrained")
    axes = figure.subplots()
    axes.hist(report.samples_ms, bins=30, color="#4C72B0")
    top = axes.get_ylim()[1]
    for label, value in (("p50", report.p50_ms), ("p99", report.p99_ms)):
        axes.axvline(value, color="#C44E52", linestyle="--")
        axes.text(
            value,
            top * 0.95,
            f"{label} {value:.1f} ms",
            rotation=90,
            va="top",
            ha="right",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    rows = "one record" if report.rows_per_request == 1 else f"{report.rows_per_request} rows"
    axes.set(xlabel=f"latency of one request of {rows} (ms)", ylabel="requests")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # requests are counted
    axes.set_title(title or f"{report.requests} requests")
    figure.set_label(  # the image's alternative text
        f"Histogram of the latency of {report.requests:,} requests of {rows}: "
        f"half under {report.p50_ms:.1f} ms, 99% under {report.p99_ms:.1f} ms."
    )
    return figure
