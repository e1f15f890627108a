"""Model Monitor schedules on the twin, written as the SageMaker SDK's users write them: a
``DefaultModelMonitor`` baselines the training data and schedules an hourly check of an
endpoint's capture; advancing the twin's clock an hour runs the check, and the SDK reads its
execution and violations back."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import mlaccel
from mlaccel import inference
from mlaccel_twin import Twin
from mlaccel_twin.clock import advance_clock
from mlaccel_twin.monitoring.schedules import MonitoringSchedule, processing_request
from tests.support import move_twin_clock_past_the_hour, tarball


def _rows(n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, 3))
    rows[:, 0] += shift
    return rows


def _endpoint(conn: mlaccel.Connection, name: str) -> str:
    """An endpoint with data capture, serving a small XGBoost model of three inputs."""
    rows = _rows(300, 1)
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(rows, label=rows.sum(axis=1)), 5)
    key = f"{name}/model.tar.gz"
    conn.client("s3").put_object(
        Bucket=conn.bucket, Key=key, Body=tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    )
    inference.deploy_model(
        name,
        model_data=f"s3://{conn.bucket}/{key}",
        image_uri=inference.xgboost_image_uri(conn.region),
        capture_uri=conn.s3_uri(name, "capture"),
        connection=conn,
    )
    return name


def _executions(monitor: Any, count: int) -> list[Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        described = monitor.describe_schedule().get("LastMonitoringExecutionSummary", {})
        assert described.get("MonitoringExecutionStatus") != "Failed", described
        if described.get("MonitoringExecutionStatus") not in (None, "Pending", "InProgress"):
            executions = monitor.list_executions()
            if len(executions) >= count:
                return list(executions)
        time.sleep(0.5)
    raise AssertionError(f"no finished monitoring execution in 120 s: {described}")


@pytest.mark.slow
def test_an_hourly_schedule_checks_the_last_hours_capture_when_the_clock_moves(
    conn: mlaccel.Connection, twin: Twin
) -> None:
    from sagemaker.model_monitor import CronExpressionGenerator, DatasetFormat, DefaultModelMonitor

    name = f"mm-schedule-{uuid.uuid4().hex[:8]}"
    # a workshop (or another test) may have moved the clock on already: the schedule still
    # checks the requests made in the twin's hour before it fires
    advance_clock(twin.url, "3h25m")
    move_twin_clock_past_the_hour(twin.url)
    endpoint = _endpoint(conn, name)
    baseline_key = f"{name}/train/train.csv"
    conn.client("s3").put_object(
        Bucket=conn.bucket,
        Key=baseline_key,
        Body=pd.DataFrame(_rows(2000, 2)).to_csv(header=False, index=False).encode(),
    )
    monitor = DefaultModelMonitor(
        role=conn.role_arn,
        sagemaker_session=conn.sagemaker_session,
        instance_count=1,
        instance_type="ml.m5.large",
        max_runtime_in_seconds=600,
    )
    try:
        monitor.suggest_baseline(
            baseline_dataset=f"s3://{conn.bucket}/{baseline_key}",
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=conn.s3_uri(name, "baseline"),
            wait=True,
            logs=False,
        )
        monitor.create_monitoring_schedule(
            monitor_schedule_name=name,
            endpoint_input=endpoint,
            output_s3_uri=conn.s3_uri(name, "reports"),
            statistics=monitor.baseline_statistics(),
            constraints=monitor.suggested_constraints(),
            schedule_cron_expression=CronExpressionGenerator.hourly(),
        )
        described = monitor.describe_schedule()
        assert described["MonitoringScheduleStatus"] == "Scheduled"
        assert described["EndpointName"] == endpoint
        assert monitor.list_executions() == [], "nothing runs before its time"

        # this hour's traffic: the first input moved far from the baseline
        sent_at = datetime.now(UTC)
        for row in _rows(200, 3, shift=3.0):
            inference.predict(endpoint, [row.tolist()], connection=conn)
        # the capture files land a little after the requests (minutes on AWS)
        inference.read_captured_requests(
            endpoint, capture_uri=conn.s3_uri(name, "capture"), since=sent_at,
            min_records=200, connection=conn,
        )  # fmt: skip
        advance_clock(twin.url, "1h")
        (execution,) = _executions(monitor, 1)
        summary = monitor.describe_schedule()["LastMonitoringExecutionSummary"]
        assert summary["MonitoringExecutionStatus"] == "CompletedWithViolations", summary
        violations = execution.constraint_violations().body_dict["violations"]
        drifted = {v["feature_name"] for v in violations if "drift" in v["constraint_check_type"]}
        assert "_c0" in drifted and not {"_c1", "_c2"} & drifted, violations
        assert execution.statistics().body_dict["dataset"]["item_count"] == 200

        monitor.stop_monitoring_schedule()
        assert monitor.describe_schedule()["MonitoringScheduleStatus"] == "Stopped"
        advance_clock(twin.url, "1h")
        time.sleep(1)
        assert len(monitor.list_executions()) == 1, "a stopped schedule does not run"
    finally:
        monitor.delete_monitoring_schedule()
        inference.delete_endpoint(endpoint, connection=conn)
    schedules = conn.client("sagemaker").list_monitoring_schedules(NameContains=name)
    assert schedules["MonitoringScheduleSummaries"] == []


def test_a_firing_reads_the_window_and_the_baseline_files() -> None:
    schedule = MonitoringSchedule("s", "arn", {}, datetime(2026, 12, 5))
    definition = {
        "MonitoringInputs": [{"EndpointInput": {"EndpointName": "e", "LocalPath": "/in"}}],
        "BaselineConfig": {"ConstraintsResource": {"S3Uri": "s3://b/base/constraints.json"}},
        "MonitoringAppSpecification": {"ImageUri": "analyzer"},
        "Environment": {"extra": "1"},
    }
    window = (datetime(2026, 12, 5, 13), datetime(2026, 12, 5, 14))
    request = processing_request(
        schedule, definition, job_name="j", capture_uri="s3://b/capture/e", window=window
    )
    environment = request["Environment"]
    assert request["ProcessingOutputConfig"] == {"Outputs": []}
    assert environment["start_time"] == "2026-12-05T13:00:00Z"
    assert environment["end_time"] == "2026-12-05T14:00:00Z"
    assert environment["dataset_source"] == "/in" and environment["extra"] == "1"
    assert environment["baseline_constraints"].endswith("/constraints/constraints.json")
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["endpoint"]["S3Uri"] == "s3://b/capture/e"
    assert inputs["endpoint"]["LocalPath"] == "/in/e"
