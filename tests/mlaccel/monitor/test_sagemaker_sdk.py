"""The SageMaker SDK's own Model Monitor classes on the twin: the calls a notebook makes on AWS.

``DefaultModelMonitor.suggest_baseline`` runs a real baselining processing job (the analyzer
image is served by the kit's drift engine), the SDK reads the results back as ``Statistics`` and
``Constraints``, a monitoring job checks drifted data against that baseline, and a dataset with
no rows fails the job with a FailureReason the SDK surfaces.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlaccel

ROWS = 3_000
NUMERIC = ["age", "income", "tenure_months", "balance"]
CATEGORICAL = ["state", "plan"]
STATES = ["CA", "NY", "TX", "WA", "FL"]
PLANS = ["basic", "plus", "premium"]
INSTANCE_TYPE = "ml.m5.large"
# Where the Model Monitor service mounts a monitoring job's inputs in the analyzer container.
CONTAINER = "/opt/ml/processing"


def sample(rows: int, seed: int, *, drifted: bool = False) -> pd.DataFrame:
    """Customer records: integral, fractional and categorical columns, drawn with ``seed``.

    ``drifted`` moves ``income`` far to the right and sends a fifth of ``state`` to a value the
    baseline never saw; every other column keeps its distribution.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "income": rng.normal(60_000, 12_000, rows).round(2),
            "tenure_months": rng.gamma(2.0, 12.0, rows).round(1),
            "balance": rng.lognormal(7.0, 0.8, rows).round(2),
            "state": rng.choice(STATES, rows, p=[0.35, 0.25, 0.2, 0.1, 0.1]),
            "plan": rng.choice(PLANS, rows, p=[0.5, 0.3, 0.2]),
        }
    )
    if drifted:
        frame["income"] = (frame["income"] + 40_000).round(2)
        unseen = rng.random(rows) < 0.2
        frame.loc[unseen, "state"] = "ZZ"
    return frame


def put_csv(conn: mlaccel.Connection, frame: pd.DataFrame, *parts: str) -> str:
    """Upload ``frame`` as a CSV with a header; return its S3 URI."""
    uri = conn.s3_uri(*parts)
    key = uri.removeprefix(f"s3://{conn.bucket}/")
    conn.client("s3").put_object(
        Bucket=conn.bucket, Key=key, Body=frame.to_csv(index=False).encode()
    )
    return uri


def default_monitor(conn: mlaccel.Connection) -> Any:
    from sagemaker.model_monitor import DefaultModelMonitor

    return DefaultModelMonitor(
        role=conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
        max_runtime_in_seconds=600,
        instance_count=1,
        instance_type=INSTANCE_TYPE,
    )


@dataclass
class Baselined:
    """A finished ``suggest_baseline`` run: the monitor, its data and where results went."""

    monitor: Any
    data: pd.DataFrame
    prefix: str
    output: str


@pytest.fixture(scope="module")
def baselined(conn: mlaccel.Connection) -> Baselined:
    from sagemaker.model_monitor import DatasetFormat

    prefix = f"mm-sdk-{uuid.uuid4().hex[:8]}"
    data = sample(ROWS, seed=101)
    dataset = put_csv(conn, data, prefix, "train", "train.csv")
    output = conn.s3_uri(prefix, "baseline")
    monitor = default_monitor(conn)
    monitor.suggest_baseline(
        baseline_dataset=dataset,
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=output,
        wait=True,
        logs=False,
    )
    return Baselined(monitor, data, prefix, output)


def _features(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {feature["name"]: feature for feature in body["features"]}


@pytest.mark.slow
def test_suggest_baseline_runs_a_processing_job_the_sdk_reads_back(
    conn: mlaccel.Connection, baselined: Baselined
) -> None:
    from sagemaker.model_monitor import Constraints, Statistics

    monitor, data = baselined.monitor, baselined.data
    job = conn.client("sagemaker").describe_processing_job(
        ProcessingJobName=monitor.latest_baselining_job_name
    )
    assert job["ProcessingJobStatus"] == "Completed"
    assert "/sagemaker-model-monitor-analyzer" in job["AppSpecification"]["ImageUri"]
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == baselined.output
    listed = conn.client("s3").list_objects_v2(
        Bucket=conn.bucket, Prefix=f"{baselined.prefix}/baseline/"
    )
    assert sorted(Path(o["Key"]).name for o in listed["Contents"]) == [
        "constraints.json",
        "statistics.json",
    ]

    statistics = monitor.baseline_statistics()
    assert isinstance(statistics, Statistics)
    assert statistics.file_s3_uri == f"{baselined.output}/statistics.json"
    body = statistics.body_dict
    assert body["dataset"]["item_count"] == ROWS
    features = _features(body)
    assert sorted(features) == sorted(NUMERIC + CATEGORICAL)
    assert features["age"]["inferred_type"] == "Integral"
    for name in ("income", "tenure_months", "balance"):
        assert features[name]["inferred_type"] == "Fractional", name
    for name in CATEGORICAL:
        assert features[name]["inferred_type"] == "String", name

    for name in NUMERIC:
        numbers = features[name]["numerical_statistics"]
        column = data[name]
        assert numbers["common"]["num_present"] == ROWS
        assert numbers["common"]["num_missing"] == 0
        assert numbers["mean"] == pytest.approx(column.mean(), rel=1e-9)
        assert numbers["sum"] == pytest.approx(column.sum(), rel=1e-9)
        assert numbers["std_dev"] == pytest.approx(column.std(ddof=0), rel=1e-6)
        assert numbers["min"] == pytest.approx(column.min())
        assert numbers["max"] == pytest.approx(column.max())
        kll = numbers["distribution"]["kll"]
        buckets = kll["buckets"]
        assert len(buckets) == 10
        assert sum(b["count"] for b in buckets) == pytest.approx(ROWS)
        assert buckets[0]["lower_bound"] == pytest.approx(column.min())
        assert buckets[-1]["upper_bound"] == pytest.approx(column.max())
        assert all(b["lower_bound"] <= b["upper_bound"] for b in buckets)
        assert {"parameters", "data"} <= set(kll["sketch"])

    state = features["state"]["string_statistics"]
    assert state["common"]["num_present"] == ROWS
    assert state["distinct_count"] == pytest.approx(len(STATES), abs=0.5)
    counts = {b["value"]: b["count"] for b in state["distribution"]["categorical"]["buckets"]}
    assert counts == data["state"].value_counts().to_dict()

    constraints = monitor.suggested_constraints()
    assert isinstance(constraints, Constraints)
    rules = constraints.body_dict
    config = rules["monitoring_config"]
    assert config["evaluate_constraints"] == "Enabled"
    assert config["distribution_constraints"]["perform_comparison"] == "Enabled"
    assert config["distribution_constraints"]["comparison_threshold"] == pytest.approx(0.1)
    suggested = _features(rules)
    assert sorted(suggested) == sorted(NUMERIC + CATEGORICAL)
    assert suggested["income"]["inferred_type"] == "Fractional"
    assert suggested["age"]["num_constraints"]["is_non_negative"] is True
    assert suggested["state"]["inferred_type"] == "String"
    assert sorted(suggested["state"]["string_constraints"]["domains"]) == sorted(STATES)
    assert sorted(suggested["plan"]["string_constraints"]["domains"]) == sorted(PLANS)
    assert all(f["completeness"] == pytest.approx(1.0) for f in suggested.values())


def run_monitoring_job(
    conn: mlaccel.Connection, baselined: Baselined, frame: pd.DataFrame, name: str
) -> Any:
    """Check ``frame`` against the baseline in a one-off monitoring job; return its execution.

    The SDK has no public call for a one-off data-quality run, so this starts what a monitoring
    schedule's execution is: the analyzer image, with the environment and the input layout the
    Model Monitor service gives it (data, baseline constraints, baseline statistics).
    """
    from sagemaker import image_uris
    from sagemaker.model_monitor import DatasetFormat, MonitoringExecution
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor

    monitor = baselined.monitor
    statistics, constraints = monitor.baseline_statistics(), monitor.suggested_constraints()
    data = put_csv(conn, frame, baselined.prefix, name, "batch.csv")
    processor = Processor(
        role=conn.role_arn,
        image_uri=image_uris.retrieve("model-monitor", conn.region),
        sagemaker_session=conn.sagemaker_session,
        max_runtime_in_seconds=600,
        env={
            "dataset_format": json.dumps(DatasetFormat.csv(header=True)),
            "dataset_source": f"{CONTAINER}/input/data",
            "output_path": f"{CONTAINER}/output",
            "baseline_constraints": f"{CONTAINER}/baseline/constraints/constraints.json",
            "baseline_statistics": f"{CONTAINER}/baseline/stats/statistics.json",
            "publish_cloudwatch_metrics": "Disabled",
        },
        instance_count=1,
        instance_type=INSTANCE_TYPE,
    )
    processor.run(
        inputs=[
            ProcessingInput(data, f"{CONTAINER}/input/data", input_name="input_1"),
            ProcessingInput(
                constraints.file_s3_uri,
                f"{CONTAINER}/baseline/constraints",
                input_name="constraints",
            ),
            ProcessingInput(
                statistics.file_s3_uri, f"{CONTAINER}/baseline/stats", input_name="baseline"
            ),
        ],
        outputs=[
            ProcessingOutput(
                f"{CONTAINER}/output",
                conn.s3_uri(baselined.prefix, name, "results"),
                output_name="result",
            )
        ],
        wait=True,
        logs=False,
    )
    described = processor.latest_job.describe()
    assert described["ProcessingJobStatus"] == "Completed"
    return MonitoringExecution.from_processing_arn(
        conn.sagemaker_session, described["ProcessingJobArn"]
    )


@pytest.mark.slow
def test_monitoring_job_flags_exactly_the_drifted_columns(
    conn: mlaccel.Connection, baselined: Baselined
) -> None:
    from sagemaker.model_monitor import ConstraintViolations

    drifted = sample(ROWS, seed=202, drifted=True)
    execution = run_monitoring_job(conn, baselined, drifted, "drifted")

    violations = execution.constraint_violations()
    assert isinstance(violations, ConstraintViolations)
    found = violations.body_dict["violations"]
    assert {v["feature_name"] for v in found} == {"income", "state"}, found
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in found}
    assert {check for name, check in checks if name == "income"} == {"baseline_drift_check"}
    assert ("state", "categorical_values_check") in checks
    assert {check for name, check in checks if name == "state"} <= {
        "categorical_values_check",
        "baseline_drift_check",
    }
    by_check = {(v["feature_name"], v["constraint_check_type"]): v["description"] for v in found}
    in_domain = float((drifted["state"] != "ZZ").mean())
    assert by_check["state", "categorical_values_check"] == (
        f"Value: {in_domain!r} does not meet the constraint requirement!"
    )
    assert re.fullmatch(
        r"Baseline drift distance: 0\.\d+ exceeds threshold: 0\.1",
        by_check["income", "baseline_drift_check"],
    )

    current = execution.statistics().body_dict
    assert current["dataset"]["item_count"] == ROWS
    income = _features(current)["income"]["numerical_statistics"]
    assert income["mean"] == pytest.approx(drifted["income"].mean(), rel=1e-9)


@pytest.mark.slow
def test_monitoring_job_on_fresh_undrifted_data_reports_no_violation(
    conn: mlaccel.Connection, baselined: Baselined
) -> None:
    execution = run_monitoring_job(conn, baselined, sample(ROWS, seed=303), "fresh")
    assert execution.constraint_violations().body_dict["violations"] == []
    assert execution.statistics().body_dict["dataset"]["item_count"] == ROWS


@pytest.mark.slow
def test_suggest_baseline_on_an_empty_csv_fails_with_the_reason(
    conn: mlaccel.Connection, tmp_path: Path
) -> None:
    from sagemaker.exceptions import UnexpectedStatusException
    from sagemaker.model_monitor import DatasetFormat

    # a local file: the SDK uploads it to the session's bucket before starting the job
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(NUMERIC + CATEGORICAL) + "\n")
    monitor = default_monitor(conn)
    with pytest.raises(UnexpectedStatusException) as raised:
        monitor.suggest_baseline(
            baseline_dataset=str(empty),
            dataset_format=DatasetFormat.csv(header=True),
            output_s3_uri=conn.s3_uri(f"mm-sdk-empty-{uuid.uuid4().hex[:8]}", "baseline"),
            wait=True,
            logs=False,
        )
    job = conn.client("sagemaker").describe_processing_job(
        ProcessingJobName=monitor.latest_baselining_job_name
    )
    assert job["ProcessingJobStatus"] == "Failed"
    reason = job["FailureReason"]
    # the SDK's exception carries the job's FailureReason, which names the problem
    assert reason in str(raised.value)
    assert "baseline data set has no rows" in str(raised.value), reason
    assert "Traceback" not in reason
