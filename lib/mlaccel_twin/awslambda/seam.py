"""Seam: Lambda invocations run the Python handler in-process (moto needs Docker otherwise).

moto runs a function's code in a Docker container. This seam hands ``Invoke`` to
:func:`mlaccel_twin.awslambda.runner.invoke`, which calls the handler in a warm execution
environment of the function (a process, within the function's timeout); its log lines go to
the function's log group and, with ``LogType=Tail``, back in ``x-amz-log-result``.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's function model no longer has what this seam uses.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace
from mlaccel_twin.awslambda import runner

TAIL_BYTES = 4096  # what Lambda returns of the log with LogType=Tail
_pool_lock = threading.Lock()


def _pool(twin: TwinRuntime) -> runner.EnvironmentPool:
    """The twin's warm execution environments, closed when the twin stops."""
    with _pool_lock:
        pool = twin.services.get("lambda_environments")
        if pool is None:
            pool = twin.services["lambda_environments"] = runner.EnvironmentPool()
        return pool


def install(runtime: TwinRuntime) -> None:
    """Make moto's ``LambdaFunction.invoke`` call the handler in this process."""
    from moto.awslambda.models import LambdaFunction

    check_seams()
    replace(LambdaFunction, "invoke", _invoke)


def check_seams() -> None:
    """Fail loudly when moto's Lambda function model no longer has what the seam uses."""
    from moto.awslambda.models import LambdaFunction

    needed = ("invoke", "save_logs", "get_configuration")
    fail_if_broken("awslambda", missing_attributes((LambdaFunction, n) for n in needed))


def _invoke(original: Callable[..., bytes]) -> Callable[..., bytes]:
    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        twin = active_runtime()
        function = runner.FunctionSettings(
            function_name=self.function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=int(self.memory_size),
            timeout_s=float(self.timeout),
            log_group_name=self.logs_group_name,
        )
        result = runner.invoke(
            code=self.code_bytes,
            handler=self.handler,
            event=json.loads(body) if body else {},
            function=function,
            environment=dict(self.environment_vars or {}),
            cache=twin.work_dir / "lambda-code",
            twin_url=twin.url,
            pool=_pool(twin),
        )
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(result.logs or f"invoked {self.function_name}")
        if result.error:
            response_headers["x-amz-function-error"] = "Unhandled"
        if request_headers.get("x-amz-log-type") == "Tail":
            tail = result.logs.encode()[-TAIL_BYTES:]
            response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return result.payload

    return invoke
