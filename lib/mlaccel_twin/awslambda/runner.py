"""Lambda functions on the twin: the Python handler, imported and called in-process.

The function's zip (as stored by the twin) is unpacked once per code hash; the handler module is
loaded under a name unique to that code, so two functions with a ``handler.py`` each never mix.
Calls run one at a time: the function's environment variables are applied to this process for
the duration of the call, with AWS calls pointed at the twin.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from mlaccel.errors import MLAccelInputError

log = logging.getLogger(__name__)

_call_lock = threading.Lock()
_modules: dict[tuple[str, str], ModuleType] = {}


@dataclass
class LambdaContext:
    """The context object AWS passes to a Python handler."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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
        tmp.rename(target)
    return target


def load_handler(code_dir: Path, handler: str) -> Any:
    """The callable named by ``module.function`` (``package/module.function`` too)."""
    module_path, _, function = handler.rpartition(".")
    if not module_path or not function:
        raise MLAccelInputError(f"Handler {handler!r} must look like 'module.function'")
    key = (str(code_dir), module_path)
    if key not in _modules:
        file = code_dir / (module_path.replace(".", "/") + ".py")
        if not file.exists():
            raise MLAccelInputError(
                f"Handler module {module_path!r} not found in the function's code; put "
                f"{module_path.replace('.', '/')}.py at the zip's root or fix the Handler"
            )
        unique = f"_twin_lambda_{code_dir.name}_{module_path.replace('/', '_').replace('.', '_')}"
        spec = importlib.util.spec_from_file_location(unique, file)
        if spec is None or spec.loader is None:
            raise MLAccelInputError(
                f"Handler module {module_path!r} cannot be imported from {file}"
            )
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(code_dir))  # the handler's siblings import as in Lambda
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(code_dir))
        _modules[key] = module
    target = getattr(_modules[key], function, None)
    if not callable(target):
        raise MLAccelInputError(
            f"Handler function {function!r} not found in {module_path!r}; define it there or "
            "fix the Handler"
        )
    return target


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Any:
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def invoke(
    *,
    code: bytes,
    handler: str,
    event: Any,
    context: LambdaContext,
    environment: dict[str, str],
    cache: Path,
    twin_url: str,
) -> Invocation:
    """Call the handler with ``event`` as Lambda would, and shape the answer like Invoke's."""
    variables = {
        **environment,
        "AWS_ENDPOINT_URL": twin_url,
        "AWS_LAMBDA_FUNCTION_NAME": context.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(context.memory_limit_in_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": context.log_group_name,
    }
    output = io.StringIO()
    with _call_lock, _environment(variables), contextlib.redirect_stdout(output):
        context._deadline = time.monotonic() + context.timeout_s
        try:
            function = load_handler(unpack(code, cache), handler)
            result = function(event, context)
            payload = json.dumps(result).encode() if result is not None else b"null"
            error = False
        except Exception as exc:  # the handler's error becomes the payload, as on AWS
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
            error = True
            output.write(f"[ERROR] {type(exc).__name__}: {exc}\n")
    return Invocation(payload, error, output.getvalue())
