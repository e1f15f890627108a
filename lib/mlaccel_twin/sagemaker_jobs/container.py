"""The SageMaker container contract, kept on this machine: images, folders, processes, metrics.

A job's container folder stands in for ``/opt/ml`` (``SAGEMAKER_BASE_DIR``): its inputs are
copied from the twin's S3 into it (:func:`download`), its command runs as a subprocess with the
container's environment (:func:`base_env`, :func:`run_command`), its metrics come from its log
lines (:func:`parse_metrics`) and its outputs go back to S3 (:func:`upload_dir`,
:func:`tar_dir`). Which local runtime runs an image is decided by :data:`RUNTIMES`; add yours
with :func:`register_runtime`.
"""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import tarfile
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlaccel._s3 import parse_path
from mlaccel.errors import JobFailed, MLAccelInputError

RUNTIME_KINDS = ("builtin-xgboost", "script", "model-monitor")
DEFAULT_MAX_RUNTIME_SECONDS = 86400.0


@dataclass(frozen=True)
class Runtime:
    """How the twin runs an image: ``kind`` is ``builtin-xgboost``, ``script`` (framework
    containers: training scripts and ``python`` entry points) or ``model-monitor``."""

    pattern: re.Pattern[str]
    kind: str


RUNTIMES: list[Runtime] = [
    Runtime(re.compile(r"/sagemaker-model-monitor-analyzer"), "model-monitor"),
    Runtime(re.compile(r"/sagemaker-xgboost:"), "builtin-xgboost"),
    Runtime(
        re.compile(
            r"/(sagemaker-scikit-learn|pytorch-training|tensorflow-training|"
            r"sagemaker-base-python|huggingface-pytorch-training)"
        ),
        "script",
    ),
]


def register_runtime(pattern: str, kind: str = "script") -> None:
    """Run images matching ``pattern`` (a regex on the image URI) with a local runtime.

    Examples
    --------
    >>> register_runtime(r"my-registry/.*/my-processing-image", "script")
    """
    if kind not in RUNTIME_KINDS:
        raise MLAccelInputError(f"kind={kind!r} must be one of {', '.join(RUNTIME_KINDS)}")
    RUNTIMES.insert(0, Runtime(re.compile(pattern), kind))


def runtime_for(image: str) -> str:
    """The kind of local runtime that runs ``image``; a job fails when none does.

    Examples
    --------
    >>> runtime_for("123.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    'builtin-xgboost'
    """
    for runtime in RUNTIMES:
        if runtime.pattern.search(image):
            return runtime.kind
    raise JobFailed(
        f"ClientError: the local twin has no runtime for image {image!r}. Map it with "
        "mlaccel_twin.sagemaker_jobs.container.register_runtime(r'<regex of the image URI>', "
        "'script') (runs python entry points and training scripts), or use a SageMaker "
        "framework image"
    )


def max_runtime(request: dict[str, Any]) -> float:
    """``StoppingCondition.MaxRuntimeInSeconds`` of a job request (SageMaker's default: a day)."""
    stopping = request.get("StoppingCondition") or {}
    return float(stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS))


# -- S3 ------------------------------------------------------------------------------------


def download(s3: Any, uri: str, dest: Path) -> int:
    """Copy an object, or every object under a prefix, into ``dest``; return the count."""
    bucket, key = parse_path(uri)
    dest.mkdir(parents=True, exist_ok=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(key) :].lstrip("/") or Path(obj["Key"]).name
            if obj["Key"].endswith("/"):
                continue
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            fetch(s3, bucket, obj["Key"], target)
            count += 1
    return count


def fetch(s3: Any, bucket: str, key: str, target: Path) -> None:
    """Copy one object to ``target``: straight from the S3 store of the twin in this process,
    where jobs run, else with one streamed GET.

    A job's input may be hundreds of MB: ``download_file``'s ranged GETs each make moto's server
    copy the whole object, which took seconds per input (6 s for 330 MB, against 0.3 s here).
    """
    body = _object_in_process(bucket, key)
    if body is not None:
        target.write_bytes(body)
        return
    stream = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with open(target, "wb") as out:
        for chunk in stream.iter_chunks(8 << 20):
            out.write(chunk)


def _object_in_process(bucket: str, key: str) -> bytes | None:
    """The object's bytes from moto's S3 backend, or None when it does not hold the object."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.exceptions import MissingBucket, MissingKey
    from moto.s3.models import s3_backends

    try:
        stored = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_object(bucket, key)
    except (MissingBucket, MissingKey):  # not here: the GET answers, or says why
        return None
    return None if stored is None else bytes(stored.value)


def upload_dir(s3: Any, source: Path, uri: str) -> None:
    """Copy every file under ``source`` to the prefix ``uri``, keeping relative paths."""
    bucket, key = parse_path(uri)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        store(s3, path, bucket, f"{key.rstrip('/')}/{path.relative_to(source)}")


def store(s3: Any, path: Path, bucket: str, key: str) -> None:
    """Put the file ``path`` at ``key``: into the S3 store of the twin in this process when it
    has the bucket (one write, with the events and the saving a PUT gets), else with an upload
    (multipart through moto's server costs seconds per hundred MB)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    try:
        backend.get_bucket(bucket)
    except MissingBucket:
        s3.upload_file(str(path), bucket, key)
        return
    backend.put_object(bucket, key, path.read_bytes())


def tar_dir(source: Path) -> bytes:
    """``source`` as a gzipped tar, its content at the archive's root (``model.tar.gz``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    return buffer.getvalue()


# -- running a container command -----------------------------------------------------------


def remap(value: str, base: Path) -> str:
    """``/opt/ml/...`` paths in arguments and settings, moved under the job's folder."""
    return re.sub(r"(?<![\w/])/opt/ml(?=/|$)", str(base), value)


_SOURCE_CONTAINER_ROOT = re.compile(r"(?<![\w/])/opt/ml(?=[/'\"\s]|$)", re.MULTILINE)


def remap_scripts(folder: Path, base: Path) -> list[Path]:
    """Point the ``/opt/ml`` paths written in the job's Python files at the job's folder.

    Published scripts hard-code SageMaker's container paths (``/opt/ml/processing/input``,
    ``/opt/ml/model``); here a job's container is a folder, and ``/opt/ml`` may not even be
    creatable without root. The scripts are the job's own copies, so their text is remapped,
    which also reaches paths handed to native code (XGBoost, Arrow). Returns the files changed.

    Examples
    --------
    >>> import tempfile
    >>> job = Path(tempfile.mkdtemp())
    >>> _ = (job / "train.py").write_text("open('/opt/ml/model/m.bin', 'wb')\\n")
    >>> [p.name for p in remap_scripts(job, job)]
    ['train.py']
    >>> (job / "train.py").read_text() == f"open('{job}/model/m.bin', 'wb')\\n"
    True
    """
    changed = []
    for script in sorted(folder.rglob("*.py")):
        text = script.read_text(errors="surrogateescape")
        remapped = _SOURCE_CONTAINER_ROOT.sub(lambda _: str(base), text)
        if remapped != text:
            script.write_text(remapped, errors="surrogateescape")
            changed.append(script)
    return changed


def run_command(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_line: Callable[[str], None],
    timeout_s: float,
) -> tuple[int, list[str]]:
    """Run ``command``, streaming each output line to ``log_line``.

    Returns the exit code and the last lines (for the failure reason); a command running longer
    than ``timeout_s`` is killed, as SageMaker stops a job at ``MaxRuntimeInSeconds``.
    """
    tail: deque[str] = deque(maxlen=15)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    timer = threading.Timer(timeout_s, process.kill)
    timer.start()
    try:
        for line in process.stdout or ():
            line = line.rstrip("\n")
            tail.append(line)
            log_line(line)
        code = process.wait()
    finally:
        timer.cancel()
    if code == -9:
        tail.append(f"MaxRuntimeExceeded: the job ran longer than {timeout_s:.0f} s")
    return code, list(tail)


def base_env(base: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a job's process: this one's without ``SM_*``, plus the container's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "MLACCEL_TWIN"))}
    env.update(extra)
    env["SAGEMAKER_BASE_DIR"] = str(base)
    env["PYTHONUNBUFFERED"] = "1"
    # the library is importable by the kit's own runtimes, wherever the twin was started from
    lib = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (lib, env.get("PYTHONPATH", "")) if p)
    return env


def failure_reason(base: Path, tail: list[str], code: int) -> str:
    """A failed job's ``FailureReason``: ``/opt/ml/output/failure``, else its last error line.

    Examples
    --------
    >>> failure_reason(Path("/nonexistent"), ["step 1", "ValueError: no label"], 1)
    'AlgorithmError: ValueError: no label'
    """
    failure = base / "output" / "failure"
    if failure.exists() and failure.read_text().strip():
        return failure.read_text().strip()[:1024]
    errors = [line for line in tail if re.search(r"(Error|Exception)\b", line)]
    detail = errors[-1] if errors else (tail[-1] if tail else f"exit code {code}")
    return f"AlgorithmError: {detail}"[:1024]


def parse_metrics(lines: list[str], definitions: list[dict[str, str]]) -> dict[str, float]:
    """The last value each metric definition finds in the job's log lines."""
    found: dict[str, float] = {}
    for definition in definitions:
        pattern = re.compile(definition["Regex"])
        for line in lines:
            match = pattern.search(line)
            if match:
                try:
                    value = float(match.group(1))
                except (IndexError, ValueError):
                    continue
                if math.isfinite(value):
                    found[definition["Name"]] = value
    return found
