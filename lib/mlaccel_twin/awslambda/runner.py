"""Lambda functions on the twin: each call runs in an execution environment of its function.

An environment is a process (:mod:`mlaccel_twin.awslambda.worker`) that imports the handler
from the function's unpacked zip and answers calls; it stays warm for the next call, and
concurrent calls get environments of their own, as on Lambda. The function's environment
variables are the process's, with AWS calls pointed at the twin. A call that runs past the
function's ``Timeout`` ends its environment and answers Lambda's timeout error.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlaccel.errors import MLAccelInputError

WORKER_MODULE = "mlaccel_twin.awslambda.worker"
IDLE_PER_FUNCTION = 2  # warm environments kept per function version


@dataclass(frozen=True)
class FunctionSettings:
    """What an invocation needs to know of the function."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: float
    log_group_name: str = ""


@dataclass(frozen=True)
class Invocation:
    """What a call returned: the payload AWS would send back, and the handler's log lines."""

    payload: bytes
    error: bool
    logs: str


def unpack(code: bytes, cache: Path) -> Path:
    """Unpack a function's zip into ``cache/<sha256>`` (once) and return that folder."""
    digest = hashlib.sha256(code).hexdigest()[:16]
    target = cache / digest
    if not target.exists():
        tmp = cache / f".{digest}-{uuid.uuid4().hex}"
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            for member in archive.namelist():  # refuse paths that leave the folder
                if member.startswith("/") or ".." in Path(member).parts:
                    raise MLAccelInputError(
                        f"the function's zip holds the unsafe path {member!r}; zip the code "
                        "with paths relative to its root"
                    )
            archive.extractall(tmp)
        try:
            tmp.rename(target)
        except OSError:  # a concurrent first call unpacked it already
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class Environment:
    """One warm execution environment: the worker process and the reader of its answers."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            text=True,
        )
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name="lambda-answers").start()

    def _read(self) -> None:
        for line in self.process.stdout or ():
            self.answers.put(line)
        self.answers.put("")  # the process ended

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any] | None:
        """The answer to ``request``, or None when the call ran past ``timeout_s``."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        try:
            line = self.answers.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if not line:
            raise RuntimeError(f"the execution environment exited (code {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


class EnvironmentPool:
    """Warm environments per function version; a call takes one for itself, or starts one."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str], list[Environment]] = {}
        self._lock = threading.Lock()  # guards the pool only, never a call

    def acquire(self, key: tuple[str, str], start: Any) -> Environment:
        with self._lock:
            for other in [k for k in self._idle if k[0] == key[0] and k != key]:
                for stale in self._idle.pop(other):  # an older version of the function
                    stale.close()
            idle = self._idle.get(key) or []
            while idle:
                environment = idle.pop()
                if environment.process.poll() is None:
                    return environment
        created: Environment = start()
        return created

    def release(self, key: tuple[str, str], environment: Environment) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < IDLE_PER_FUNCTION and environment.process.poll() is None:
                idle.append(environment)
                return
        environment.close()

    def close(self) -> None:
        with self._lock:
            environments = [e for idle in self._idle.values() for e in idle]
            self._idle.clear()
        for environment in environments:
            environment.close()


def timeout_payload(request_id: str, timeout_s: float) -> bytes:
    """Lambda's answer to a call that ran past the function's timeout.

    Examples
    --------
    >>> json.loads(timeout_payload("r-1", 3))["errorMessage"]
    'RequestId: r-1 Error: Task timed out after 3.00 seconds'
    """
    return json.dumps(
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
            f"{timeout_s:.2f} seconds",
        }
    ).encode()


def invoke(
    *,
    code: bytes,
    handler: str,
    event: Any,
    function: FunctionSettings,
    environment: dict[str, str],
    cache: Path,
    twin_url: str,
    pool: EnvironmentPool,
) -> Invocation:
    """Call the handler with ``event`` as Lambda would, and shape the answer like Invoke's."""
    code_dir = unpack(code, cache)
    variables = {
        **os.environ,
        **environment,
        "AWS_ENDPOINT_URL": twin_url,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_limit_in_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(function.timeout_s)),
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
        "PYTHONUNBUFFERED": "1",
    }
    lib = str(Path(__file__).resolve().parents[2])  # the worker module, wherever the twin runs
    variables["PYTHONPATH"] = os.pathsep.join(
        p for p in (lib, variables.get("PYTHONPATH", "")) if p
    )
    version = hashlib.sha256(
        json.dumps([code_dir.name, handler, sorted(environment.items())]).encode()
    ).hexdigest()
    key = (function.invoked_function_arn, version)
    request_id = str(uuid.uuid4())
    request = {
        "event": event,
        "context": {
            "function_name": function.function_name,
            "invoked_function_arn": function.invoked_function_arn,
            "memory_limit_in_mb": function.memory_limit_in_mb,
            "timeout_s": function.timeout_s,
            "aws_request_id": request_id,
            "log_group_name": function.log_group_name,
        },
    }
    started = time.monotonic()
    worker = pool.acquire(
        key,
        lambda: Environment(
            [sys.executable, "-m", WORKER_MODULE, str(code_dir), handler], variables, code_dir
        ),
    )
    # The timeout covers the call, the environment's start (its init) included, as on Lambda.
    answer = worker.call(request, max(0.0, function.timeout_s - (time.monotonic() - started)))
    if answer is None:
        worker.close()
        message = f"Task timed out after {function.timeout_s:.2f} seconds"
        return Invocation(timeout_payload(request_id, function.timeout_s), True, message)
    pool.release(key, worker)
    return Invocation(str(answer["payload"]).encode(), bool(answer["error"]), answer["logs"])
