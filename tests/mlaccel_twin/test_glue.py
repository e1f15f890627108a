"""What a Glue Python shell run cannot show through the API in a test's time: a run past its
timeout ends ``TIMEOUT`` (Glue's timeouts are whole minutes), and a script that exits non-zero
without a word fails with its exit status. The API-level behaviour (arguments, S3, errors,
Spark jobs refused, Step Functions' ``glue:startJobRun(.sync)``) is
``tests/mlaccel_twin/conformance/test_glue.py``."""

from __future__ import annotations

from mlaccel_twin.glue.runs import RunState, command_line, run_script


def test_a_run_past_its_timeout_ends_timeout() -> None:
    run = RunState()
    run_script(b"import time\ntime.sleep(30)\n", [], timeout_s=0.5, environment={}, run=run)
    assert run.state == "TIMEOUT"
    assert run.error == "Job run timed out after 0.00833333 minutes"
    assert run.completed is not None and run.completed >= run.started


def test_a_silent_non_zero_exit_fails_with_its_status() -> None:
    run = RunState()
    run_script(b"import sys\nsys.exit(3)\n", [], timeout_s=30, environment={}, run=run)
    assert run.state == "FAILED"
    assert run.error is not None and run.error.startswith("exit status 3")


def test_the_script_gets_glues_arguments_on_its_command_line() -> None:
    script = b"""
import json, sys
print(json.dumps(sys.argv[1:]))
sys.exit(0 if sys.argv[1:3] == ["--input", "s3://b/run.csv"] else 1)
"""
    argv = command_line({"--input": "s3://b/default.csv"}, {"--input": "s3://b/run.csv"}, "j", "r")
    run = RunState()
    run_script(script, argv, timeout_s=30, environment={}, run=run)
    assert run.state == "SUCCEEDED", run.error
    assert argv[-6:] == ["--JOB_NAME", "j", "--JOB_RUN_ID", "r", "--JOB_ID", "r"]
