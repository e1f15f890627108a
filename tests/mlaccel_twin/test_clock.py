"""The twin's clock: scheduled EventBridge rules fire on time, and advancing the clock runs an
hourly schedule now (from Python, and with `mlaccel twin advance 1h`)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from mlaccel import cli
from mlaccel.errors import MLAccelInputError
from mlaccel_twin import Twin, stop_service
from mlaccel_twin._service import start_service
from mlaccel_twin.clock import advance_clock, clock_now, parse_duration
from mlaccel_twin.clock.schedule import next_fire, parse_schedule

ROLE = "arn:aws:iam::123456789012:role/service-role/EventBridgeInvokeStepFunctions"


def _clients(url: str) -> tuple[Any, Any]:
    session = boto3.session.Session(region_name="us-east-1")
    return (
        session.client("events", endpoint_url=url),
        session.client("stepfunctions", endpoint_url=url),
    )


def _hourly_workflow(url: str, expression: str = "rate(1 hour)") -> str:
    """A nightly-retraining style setup: a schedule rule starting a state machine."""
    events, sfn = _clients(url)
    name = f"scheduled-{uuid.uuid4().hex[:8]}"
    definition = {"StartAt": "Retrain", "States": {"Retrain": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    events.put_rule(Name=name, ScheduleExpression=expression, State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "retrain", "Arn": machine, "RoleArn": ROLE}])
    return str(machine)


def _executions(url: str, machine: str) -> list[dict[str, Any]]:
    _, sfn = _clients(url)
    return list(sfn.list_executions(stateMachineArn=machine)["executions"])


def _wait_for(count: int, url: str, machine: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = _executions(url, machine)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return _executions(url, machine)


def test_advancing_an_hour_runs_an_hourly_schedule_once(twin: Twin) -> None:
    machine = _hourly_workflow(twin.url)
    time.sleep(1.5)  # the clock sees the new rule on its next tick
    assert _executions(twin.url, machine) == []
    before = datetime.fromisoformat(clock_now(twin.url)["now"])
    moved = advance_clock(twin.url, "1h")
    elapsed = datetime.fromisoformat(moved["now"]) - before
    assert elapsed.total_seconds() >= parse_duration("59m")
    # other tests' schedules in the shared twin may fire too: this one fires once
    assert [rule for rule, _ in moved["fired"]].count(machine.rsplit(":", 1)[1]) == 1
    assert len(_wait_for(1, twin.url, machine)) == 1
    advance_clock(twin.url, "30m")  # not due yet
    time.sleep(0.5)
    assert len(_executions(twin.url, machine)) == 1
    advance_clock(twin.url, "30m")
    assert len(_wait_for(2, twin.url, machine)) == 2


def test_disabled_rules_do_not_fire(twin: Twin) -> None:
    machine = _hourly_workflow(twin.url, "cron(0 * * * ? *)")
    events, _ = _clients(twin.url)
    events.disable_rule(Name=machine.rsplit(":", 1)[1])
    advance_clock(twin.url, "2h")
    time.sleep(0.5)
    assert _executions(twin.url, machine) == []


def test_schedule_expressions_as_eventbridge_writes_them() -> None:
    start = datetime(2026, 3, 6, 23, 50, tzinfo=UTC)  # a Friday
    weekdays_at_nine = parse_schedule("cron(0 9 ? * MON-FRI *)")
    assert next_fire(weekdays_at_nine, start, start) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    every_5 = parse_schedule("rate(5 minutes)")
    assert next_fire(every_5, start, start).minute == 55
    with pytest.raises(MLAccelInputError, match="cron needs 6 fields"):
        parse_schedule("cron(0 9 * * ?)")
    with pytest.raises(MLAccelInputError, match=r"write rate\(5 minutes\)"):
        parse_schedule("every hour")
    with pytest.raises(MLAccelInputError, match="write it like 30s, 15m, 1h or 1d12h"):
        parse_duration("an hour")


@pytest.mark.slow
def test_mlaccel_twin_advance_fires_the_services_schedules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLACCEL_HOME", str(tmp_path))
    try:
        service = start_service(tmp_path)
        machine = _hourly_workflow(service.url)
        time.sleep(1.5)
        assert cli.main(["twin", "advance", "1h"]) == 0
        said = capsys.readouterr().out
        assert "s ahead)" in said and f"fired {machine.rsplit(':', 1)[1]}" in said
        assert len(_wait_for(1, service.url, machine)) == 1
    finally:
        stop_service(tmp_path)
