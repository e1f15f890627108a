"""A Glue job run, as the twin runs it: Python shell scripts in a process of their own.

Glue passes a job's arguments on the script's command line (``--key value``, the job's
``DefaultArguments`` overridden by the run's ``Arguments``) and adds its own (``--JOB_NAME``,
``--JOB_RUN_ID``, ``--JOB_ID``). A run's ``Timeout`` (minutes, 2880 by default) ends it
``TIMEOUT``; an exception ends it ``FAILED`` with the script's last error line; Spark
(``glueetl``) and streaming jobs end ``FAILED`` at once, saying they run only on AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PYTHON_SHELL = "pythonshell"
DEFAULT_TIMEOUT_MINUTES = 2880  # Glue's own default: 48 hours
ERROR_TAIL_LINES = 20


@dataclass
class RunState:
    """What GetJobRun answers about one run while and after the twin runs it."""

    state: str = "RUNNING"
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed: datetime | None = None
    error: str | None = None
    seconds: int = 0

    def finish(self, state: str, error: str | None = None) -> None:
        self.completed = datetime.now(UTC)
        self.seconds = max(int((self.completed - self.started).total_seconds()), 0)
        self.state, self.error = state, error


def command_line(
    default_arguments: dict[str, str] | None,
    arguments: dict[str, str] | None,
    job_name: str,
    run_id: str,
) -> list[str]:
    """The script's arguments, as Glue passes them.

    Examples
    --------
    >>> command_line({"--in": "s3://a", "--mode": "x"}, {"--mode": "y"}, "job", "jr_1")[:4]
    ['--in', 's3://a', '--mode', 'y']
    >>> command_line(None, None, "job", "jr_1")[:4]
    ['--JOB_NAME', 'job', '--JOB_RUN_ID', 'jr_1']
    """
    merged = {**(default_arguments or {}), **(arguments or {})}
    merged.update({"--JOB_NAME": job_name, "--JOB_RUN_ID": run_id, "--JOB_ID": run_id})
    line: list[str] = []
    for key, value in merged.items():
        line += [key if key.startswith("--") else f"--{key}", str(value)]
    return line


def unsupported_reason(command_name: str | None) -> str | None:
    """Why a job of this command cannot run on the twin; None for Python shell jobs."""
    if (command_name or PYTHON_SHELL) == PYTHON_SHELL:
        return None
    return (
        f"the local twin runs only Python shell jobs (Command.Name 'pythonshell'); this job's "
        f"command is {command_name!r}, which needs Glue's Spark runtime: run it on AWS "
        "(MLACCEL_BACKEND=aws), or make it a Python shell job"
    )


def run_script(
    script: bytes,
    argv: list[str],
    *,
    timeout_s: float,
    environment: dict[str, str],
    run: RunState,
) -> None:
    """Run a Python shell script to its end, recording the outcome in ``run``."""
    with tempfile.TemporaryDirectory(prefix="glue-run-") as folder:
        path = Path(folder) / "script.py"
        path.write_bytes(script)
        started = time.monotonic()
        try:
            finished = subprocess.run(
                [sys.executable, str(path), *argv],
                cwd=folder,
                env={**os.environ, **environment, "PYTHONUNBUFFERED": "1"},
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            minutes = timeout_s / 60
            run.finish("TIMEOUT", f"Job run timed out after {minutes:g} minutes")
            return
        if finished.returncode == 0:
            run.finish("SUCCEEDED")
            return
        tail = [line for line in finished.stderr.splitlines() if line.strip()]
        last = tail[-1] if tail else f"exit status {finished.returncode}"
        detail = "\n".join(tail[-ERROR_TAIL_LINES:])
        took = time.monotonic() - started
        run.finish("FAILED", f"{last} (after {took:.1f} s)\n{detail}".rstrip())
