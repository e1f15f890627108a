"""Endpoint benchmark: the twin's real-time endpoint next to XGBoost called in-process.

Starts its own in-process twin, trains a seeded XGBoost regressor (200 trees of depth 6 on
10 features by default), deploys it with ``mlaccel.inference.deploy_model`` and prints:

- single-record latency (p50 / p99) through ``sagemaker-runtime invoke_endpoint``, the way an
  application calls an endpoint, and throughput with 1,000-row CSV payloads;
- the same requests answered by ``xgboost.Booster.predict`` in this process on the same rows
  (one thread, as the endpoint's model), the reference peer: the difference is what HTTP, the
  twin's routing and CSV cost per request.

Run: ``.venv/bin/python bench/endpoint.py [--requests 500] [--batch-requests 30] [--capture]``
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xgboost as xgb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

import mlaccel  # noqa: E402
from mlaccel import inference  # noqa: E402
from mlaccel_twin import Twin  # noqa: E402

ENDPOINT = "bench-endpoint-xgboost"


def train(n_features: int, n_trees: int, seed: int = 0) -> tuple[xgb.Booster, np.ndarray]:
    """A seeded regressor and a pool of rows to score (not the training rows)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(20_000, n_features))
    label = features @ rng.normal(size=n_features) + np.sin(features[:, 0]) * 3
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 6, "eta": 0.1, "nthread": 2},
        xgb.DMatrix(features, label=label),
        num_boost_round=n_trees,
    )
    booster.set_param("nthread", "1")  # as the endpoint's predictor serves it
    return booster, np.round(rng.normal(size=(5_000, n_features)), 6)


def model_tarball(booster: xgb.Booster) -> bytes:
    data = bytes(booster.save_raw("ubj"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def time_in_process(
    booster: xgb.Booster, rows: np.ndarray, n_requests: int, rows_per_request: int
) -> inference.LatencyReport:
    """The reference: one ``Booster.predict`` per request on the same payload rows."""

    def batch(i: int) -> np.ndarray:
        start = (i * rows_per_request) % len(rows)
        return np.take(rows, range(start, start + rows_per_request), axis=0, mode="wrap")

    payloads = [batch(i) for i in range(min(n_requests, 64))]
    predict: Callable[[np.ndarray], np.ndarray] = lambda matrix: booster.predict(  # noqa: E731
        xgb.DMatrix(matrix, missing=np.nan), validate_features=False
    )
    for payload in payloads[:3]:
        predict(payload)
    durations = []
    for i in range(n_requests):
        started = time.perf_counter()
        predict(payloads[i % len(payloads)])
        durations.append(time.perf_counter() - started)
    return inference.summarize_latencies(durations, rows_per_request)


def row(label: str, report: inference.LatencyReport) -> str:
    return (
        f"{label:<38} {report.requests:>8} {report.p50_ms:>9.3f} {report.p99_ms:>9.3f} "
        f"{report.requests_per_second:>10.1f} {report.rows_per_second:>12.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="single-record requests")
    parser.add_argument("--batch-requests", type=int, default=30, help="1,000-row requests")
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--capture", action="store_true", help="keep data capture on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    booster, rows = train(args.features, args.trees)
    os.environ.pop("MLACCEL_TWIN_URL", None)
    with tempfile.TemporaryDirectory() as work, Twin(work_dir=work) as twin:
        conn = mlaccel.connect("local", twin_url=twin.url)
        key = "bench/endpoint/model.tar.gz"
        conn.client("s3").put_object(Bucket=conn.bucket, Key=key, Body=model_tarball(booster))
        image_uri = inference.xgboost_image_uri(conn.region)  # imports the SDK: not timed
        started = time.perf_counter()
        inference.deploy_model(
            ENDPOINT,
            model_data=conn.s3_uri(key),
            image_uri=image_uri,
            data_capture=args.capture,
            connection=conn,
        )
        deploy_seconds = time.perf_counter() - started
        expected = booster.predict(xgb.DMatrix(rows[:100]))
        served = inference.predict(ENDPOINT, rows[:100], connection=conn)
        assert np.allclose(served, expected, rtol=1e-5), "the endpoint must answer the model"

        endpoint_single = inference.measure_latency(
            ENDPOINT, rows, n_requests=args.requests, progress=False, connection=conn
        )
        endpoint_batch = inference.measure_latency(
            ENDPOINT,
            rows,
            n_requests=args.batch_requests,
            rows_per_request=args.batch_rows,
            progress=False,
            connection=conn,
        )
        inference.delete_endpoint(ENDPOINT, connection=conn)

    local_single = time_in_process(booster, rows, args.requests, 1)
    local_batch = time_in_process(booster, rows, args.batch_requests, args.batch_rows)

    print(
        f"model: XGBoost, {args.trees} trees of depth 6, {args.features} features; "
        f"data capture {'on' if args.capture else 'off'}; deployed in {deploy_seconds:.2f} s"
    )
    print(f"{'':<38} {'requests':>8} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>10} {'rows/s':>12}")
    print(row("endpoint, 1 record (invoke_endpoint)", endpoint_single))
    print(row("in-process Booster.predict, 1 rec", local_single))
    print(row(f"endpoint, {args.batch_rows} rows CSV", endpoint_batch))
    print(row(f"in-process Booster.predict, {args.batch_rows}", local_batch))
    overhead = endpoint_single.p50_ms - local_single.p50_ms
    ratio = local_batch.rows_per_second / endpoint_batch.rows_per_second
    print(
        f"per-request overhead of the endpoint (p50): {overhead:.2f} ms; "
        f"in-process batch scoring is {ratio:.1f}x the endpoint's row throughput"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
