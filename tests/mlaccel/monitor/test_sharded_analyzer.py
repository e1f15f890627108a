"""The analyzer on several instances of one processing job, data sharded by S3 key, on the twin.

Each instance reads its shard and leaves a partial result; the first merges them. The files
the job writes must give the verdicts of one instance reading everything.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pandas as pd
import pytest

import mlaccel
from mlaccel import monitor
from mlaccel.errors import MLAccelInputError

CONTAINER = "/opt/ml/processing"
SHARDS = 8


def _upload_shards(conn: mlaccel.Connection, frame: pd.DataFrame, prefix: str) -> str:
    s3 = conn.client("s3")
    for shard in range(SHARDS):
        part = frame.iloc[shard::SHARDS]
        key = f"{prefix}/data/part-{shard:02d}.csv"
        s3.put_object(Bucket=conn.bucket, Key=key, Body=part.to_csv(index=False).encode())
    return f"s3://{conn.bucket}/{prefix}/data"


def _run_analyzer(
    conn: mlaccel.Connection, instances: int, data: str, baseline: str | None, prefix: str
) -> dict[str, Any]:
    """Run the Model Monitor analyzer image through the SageMaker SDK; return its files."""
    from sagemaker.model_monitor import DefaultModelMonitor
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor

    image = DefaultModelMonitor(
        role=conn.role_arn, sagemaker_session=conn.sagemaker_session
    ).image_uri
    env = {
        "dataset_source": f"{CONTAINER}/input/data",
        "dataset_format": json.dumps({"csv": {"header": True}}),
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
    output = f"s3://{conn.bucket}/{prefix}/out-{instances}"
    Processor(
        role=conn.role_arn,
        image_uri=image,
        instance_count=instances,
        instance_type="ml.m5.large",
        env=env,
        sagemaker_session=conn.sagemaker_session,
        max_runtime_in_seconds=600,
    ).run(
        inputs=inputs,
        outputs=[ProcessingOutput(source=f"{CONTAINER}/output", destination=output)],
        wait=True,
        logs=False,
    )
    s3 = conn.client("s3")
    listed = s3.list_objects_v2(Bucket=conn.bucket, Prefix=f"{prefix}/out-{instances}/")
    return {
        item["Key"].rsplit("/", 1)[-1]: json.loads(
            s3.get_object(Bucket=conn.bucket, Key=item["Key"])["Body"].read()
        )
        for item in listed.get("Contents", [])
    }


@pytest.mark.slow
def test_two_and_four_instances_agree_with_one(conn: mlaccel.Connection) -> None:
    prefix = f"sharded-{uuid.uuid4().hex[:8]}"
    example = monitor.make_drift_example(24_000, seed=41)
    reference = example.baseline.to_pandas()
    current = example.current.to_pandas()

    baselines = {
        count: _run_analyzer(
            conn, count, _upload_shards(conn, reference, f"{prefix}/ref"), None, f"{prefix}/b"
        )
        for count in (1, 4)
    }
    single, sharded = baselines[1], baselines[4]
    assert set(sharded) == {"statistics.json", "constraints.json"}
    assert sharded["constraints.json"] == single["constraints.json"]
    assert sharded["statistics.json"]["dataset"] == {"item_count": 24_000}

    s3 = conn.client("s3")
    for name, body in single.items():
        s3.put_object(
            Bucket=conn.bucket, Key=f"{prefix}/baseline/{name}", Body=json.dumps(body).encode()
        )
    baseline_uri = f"s3://{conn.bucket}/{prefix}/baseline"
    data = _upload_shards(conn, current, f"{prefix}/cur")
    checks = {count: _run_analyzer(conn, count, data, baseline_uri, prefix) for count in (1, 2, 4)}
    expected = checks[1]["constraint_violations.json"]
    assert {v["feature_name"] for v in expected["violations"]} == set(example.shifted)
    for count in (2, 4):
        assert checks[count]["constraint_violations.json"] == expected, count
        assert checks[count]["statistics.json"]["dataset"] == {"item_count": 24_000}
    # And in-process: the same data checked whole gives the job's violations.
    whole = monitor.check_against_baseline(
        current, monitor.Baseline(single["statistics.json"], single["constraints.json"])
    )
    assert whole.to_json() == expected


def test_partial_results_merge_exactly() -> None:
    example = monitor.make_drift_example(20_000, seed=42)
    reference, current = example.baseline.to_pandas(), example.current.to_pandas()
    whole = monitor.compute_baseline(reference)
    parts = [monitor.baseline_partial(reference.iloc[i::3]) for i in range(3)]
    merged = monitor.finish_baseline(monitor.merge_partials(parts))
    assert merged.constraints == whole.constraints
    checked = monitor.check_against_baseline(current, whole)
    shards = [
        json.loads(json.dumps(monitor.check_partial(current.iloc[i::5], whole))) for i in range(5)
    ]
    combined = monitor.finish_check(monitor.merge_partials(shards), whole)
    assert combined.to_json() == checked.to_json()
    assert [d.distance for d in combined.drift] == [d.distance for d in checked.drift]
    with pytest.raises(MLAccelInputError, match="must all be baselines or all checks"):
        monitor.merge_partials([parts[0], shards[0]])
