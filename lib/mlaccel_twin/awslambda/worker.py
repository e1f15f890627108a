"""One Lambda execution environment: a process that imports a handler and answers invocations.

``python -m mlaccel_twin.awslambda.worker <code folder> <module.function>`` reads one JSON
request per line on stdin (``{"event": ..., "context": {...}}``) and writes one JSON answer per
line (``{"payload": "<JSON text>", "error": bool, "logs": "..."}``) on the stdout it started
with. What the handler prints is its log, captured per call. Its module stays imported between
calls, as in a warm Lambda environment; the twin ends the process when a call runs past the
function's timeout.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


@dataclass
class LambdaContext:
    """The context object AWS passes to a Python handler."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: float
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(code_dir: Path, handler: str) -> Any:
    """The callable named by ``module.function`` (``package/module.function`` too)."""
    module_path, _, function = handler.rpartition(".")
    if not module_path or not function:
        raise ValueError(f"Handler {handler!r} must look like 'module.function'")
    file = code_dir / (module_path.replace(".", "/") + ".py")
    if not file.exists():
        raise ImportError(
            f"Handler module {module_path!r} not found in the function's code; put "
            f"{module_path.replace('.', '/')}.py at the zip's root or fix the Handler"
        )
    spec = importlib.util.spec_from_file_location(module_path.replace("/", "."), file)
    if spec is None or spec.loader is None:
        raise ImportError(f"Handler module {module_path!r} cannot be imported from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(code_dir))  # the handler's siblings import as in Lambda
    spec.loader.exec_module(module)
    target = getattr(module, function, None)
    if not callable(target):
        raise AttributeError(
            f"Handler function {function!r} not found in {module_path!r}; define it there or "
            "fix the Handler"
        )
    return target


def error_payload(exc: BaseException) -> bytes:
    """A handler's exception as Lambda's error payload."""
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    ).encode()


def answer(
    function: Any, load_error: BaseException | None, request: dict[str, Any]
) -> dict[str, Any]:
    """Run one invocation; what the handler printed is returned as its log."""
    logs = io.StringIO()
    context = LambdaContext(**request["context"])
    context._deadline = time.monotonic() + context.timeout_s
    with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
        try:
            if load_error is not None:
                raise load_error
            result = function(request["event"], context)
            payload, error = (json.dumps(result) if result is not None else "null"), False
        except Exception as exc:  # the handler's error becomes the payload, as on AWS
            payload, error = error_payload(exc).decode(), True
            logs.write(f"[ERROR] {type(exc).__name__}: {exc}\n")
    return {"payload": payload, "error": error, "logs": logs.getvalue()}


def serve(code_dir: Path, handler: str, requests: TextIO, answers: TextIO) -> None:
    """Answer requests until stdin closes."""
    function, load_error = None, None
    try:
        function = load_handler(code_dir, handler)
    except Exception as exc:  # reported on each call, as Lambda reports an import error
        load_error = exc
    for line in requests:
        answers.write(json.dumps(answer(function, load_error, json.loads(line))) + "\n")
        answers.flush()


def main(argv: list[str] | None = None) -> int:
    code_dir, handler = (argv or sys.argv[1:])[:2]
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # native code writing to fd 1 cannot break the answers
    serve(Path(code_dir), handler, sys.stdin, answers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
