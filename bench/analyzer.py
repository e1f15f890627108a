"""Analyzer benchmark: one Model Monitor job on 1, 2 and 4 instances of the twin.

Starts its own in-process twin, uploads the seeded drift example (25 columns, six shifted)
as Parquet shards, baselines it with one instance, then runs the monitoring job with
``instance_count`` 1, 2 and 4 (input ``ShardedByS3Key``: each instance reads its share of
the objects and leaves a partial result; the first merges them). Prints each job's wall time
from submission to completion (S3 copies included) and whether its
``constraint_violations.json`` is identical to the single instance's.

Run: ``.venv/bin/python bench/analyzer.py [--rows 1000000] [--shards 8]``
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))

import mlaccel  # noqa: E402
from mlaccel import monitor  # noqa: E402
from mlaccel_twin import Twin  # noqa: E402

CONTAINER = "/opt/ml/processing"


def upload_shards(conn: mlaccel.Connection, table: Any, prefix: str, shards: int) -> str:
    """``table`` as ``shards`` Parquet objects under ``prefix``; returns the prefix URI."""
    s3 = conn.client("s3")
    step = -(-table.num_rows // shards)
    for shard in range(shards):
        buffer = io.BytesIO()
        pq.write_table(table.slice(shard * step, step), buffer)
        key = f"{prefix}/part-{shard:02d}.parquet"
        s3.put_object(Bucket=conn.bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{conn.bucket}/{prefix}"


def run_job(
    conn: mlaccel.Connection, instances: int, data: str, baseline: str | None, output: str
) -> float:
    """Run the analyzer image through the SageMaker SDK; return the job's wall time."""
    from sagemaker.model_monitor import DefaultModelMonitor
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor

    image = DefaultModelMonitor(
        role=conn.role_arn, sagemaker_session=conn.sagemaker_session
    ).image_uri
    env = {
        "dataset_source": f"{CONTAINER}/input/data",
        "dataset_format": json.dumps({"parquet": {}}),
        "output_path": f"{CONTAINER}/output",
    }
    inputs = [
        ProcessingInput(
            source=data,
            destination=f"{CONTAINER}/input/data",
            input_name="data",
            s3_data_distribution_type="ShardedByS3Key",
        )
    ]
    if baseline is not None:
        env["baseline_statistics"] = f"{CONTAINER}/baseline/statistics.json"
        env["baseline_constraints"] = f"{CONTAINER}/baseline/constraints.json"
        inputs.append(
            ProcessingInput(
                source=baseline, destination=f"{CONTAINER}/baseline", input_name="baseline"
            )
        )
    processor = Processor(
        role=conn.role_arn,
        image_uri=image,
        instance_count=instances,
        instance_type="ml.m5.large",
        env=env,
        sagemaker_session=conn.sagemaker_session,
        max_runtime_in_seconds=1800,
    )
    started = time.perf_counter()
    processor.run(
        inputs=inputs,
        outputs=[ProcessingOutput(source=f"{CONTAINER}/output", destination=output)],
        wait=True,
        logs=False,
    )
    return time.perf_counter() - started


def read_json(conn: mlaccel.Connection, uri: str) -> Any:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return json.loads(conn.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8, help="Parquet objects per data set")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(f"load average at start (1, 5, 15 min): {load_average()} on {os.cpu_count()} cores")
    example = monitor.make_drift_example(args.rows, seed=0)
    with Twin() as twin:
        conn = mlaccel.connect("local", twin_url=twin.url)
        reference = upload_shards(conn, example.baseline, "bench-analyzer/ref", args.shards)
        current = upload_shards(conn, example.current, "bench-analyzer/cur", args.shards)
        baseline = f"s3://{conn.bucket}/bench-analyzer/baseline"
        seconds = run_job(conn, 1, reference, None, baseline)
        print(f"data: {args.rows:,} rows x 25 columns in {args.shards} Parquet objects")
        print(f"baselining job, 1 instance: {seconds:.1f} s")
        results = {}
        for instances in (1, 2, 4):
            output = f"s3://{conn.bucket}/bench-analyzer/check-{instances}"
            seconds = run_job(conn, instances, current, baseline, output)
            violations = read_json(conn, f"{output}/constraint_violations.json")
            results[instances] = violations
            flagged = sorted({v["feature_name"] for v in violations["violations"]})
            same = "identical to 1 instance" if violations == results[1] else "DIFFERENT"
            print(f"monitoring job, {instances} instance(s): {seconds:.1f} s, {same}")
            print(f"  flagged: {flagged}")
    print(f"load average at end (1, 5, 15 min): {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
