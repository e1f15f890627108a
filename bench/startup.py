"""Start-up costs a notebook pays: ``import mlaccel`` next to ``import sagemaker``, and the twin.

Each import is timed in a fresh interpreter (best of N runs), so nothing is cached in-process.
Run: ``.venv/bin/python bench/startup.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def time_import(module: str, runs: int) -> tuple[float, float]:
    """Best and median wall seconds of ``import module`` in a new interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    ]
    return min(samples), statistics.median(samples)


def time_twin_start(runs: int) -> tuple[float, float]:
    """Seconds from ``Twin().start()`` to a first answered S3 call, in-process and as a service."""
    code = (
        "import time; t = time.perf_counter(); import mlaccel; from mlaccel_twin import Twin; "
        "tw = Twin().start(); c = mlaccel.connect('local', twin_url=tw.url); "
        "c.client('s3').list_buckets(); print(time.perf_counter() - t); tw.stop()"
    )
    in_process = min(
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    )
    from mlaccel_twin import start_service, stop_service

    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        start_service(Path(home))
        service = time.perf_counter() - started
        stop_service(Path(home))
    return in_process, service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"{'what':<34}{'best (s)':>10}{'median (s)':>12}")
    for module in ("mlaccel", "sagemaker", "stepfunctions", "awswrangler"):
        best, median = time_import(module, runs)
        print(f"{'import ' + module:<34}{best:>10.3f}{median:>12.3f}")
    in_process, service = time_twin_start(max(1, runs // 2))
    print(f"{'twin start, in-process (best)':<34}{in_process:>10.3f}")
    print(f"{'twin start, background service':<34}{service:>10.3f}")


if __name__ == "__main__":
    main()
