"""Seam: Lambda invocations run the Python handler in-process (moto needs Docker otherwise)."""

from __future__ import annotations

import base64
import json
from typing import Any

from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin.awslambda import runner as lambda_runner
from mlaccel_twin.seams import fail_if_broken, missing_attributes


def install(runtime: TwinRuntime) -> None:
    from moto.awslambda.models import LambdaFunction

    check_seams()

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        twin = active_runtime()
        event = json.loads(body) if body else {}
        context = lambda_runner.LambdaContext(
            function_name=self.function_name,
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=int(self.memory_size),
            timeout_s=int(self.timeout),
            log_group_name=self.logs_group_name,
        )
        result = lambda_runner.invoke(
            code=self.code_bytes,
            handler=self.handler,
            event=event,
            context=context,
            environment=dict(self.environment_vars or {}),
            cache=twin.work_dir / "lambda-code",
            twin_url=twin.url,
        )
        self.logs_backend.ensure_log_group(self.logs_group_name)
        self.save_logs(result.logs or f"invoked {self.function_name}")
        if result.error:
            response_headers["x-amz-function-error"] = "Unhandled"
        if request_headers.get("x-amz-log-type") == "Tail":
            tail = result.logs.encode()[-4096:]
            response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return result.payload

    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


def check_seams() -> None:
    """Fail loudly when moto's Lambda function model no longer has what the seam uses."""
    from moto.awslambda.models import LambdaFunction

    needed = ("invoke", "save_logs", "get_configuration")
    fail_if_broken("awslambda", missing_attributes((LambdaFunction, n) for n in needed))
