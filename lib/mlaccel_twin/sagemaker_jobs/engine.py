"""SageMaker training, processing and tuning jobs, run on this machine by the twin.

Each job gets a container folder used as ``SAGEMAKER_BASE_DIR`` (``/opt/ml`` in SageMaker):
inputs are copied from the twin's S3 into it, the code runs as a subprocess with the container
contract (``SM_*`` variables, ``hyperparameters.json``, channels), log lines stream to CloudWatch
Logs as they come, metrics are read from them by the job's metric definitions, and outputs go
back to S3. Which local runtime runs an image is decided by :data:`RUNTIMES`; add yours with
:func:`register_runtime`.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import random
import re
import shlex
import subprocess
import sys
import tarfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlaccel._s3 import parse_path
from mlaccel.errors import JobFailed

PYTHON_NAMES = {"python", "python3", "/usr/bin/python3", "/usr/local/bin/python", "python3.11"}
NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
# The metric definitions SageMaker itself applies to the built-in XGBoost algorithm.
XGBOOST_METRICS = [
    {"Name": f"{data}:{metric}", "Regex": rf".*\[[0-9]+\].*#011{data}-{metric}:{NUMBER}.*"}
    for data in ("train", "validation")
    for metric in (
        "rmse",
        "mae",
        "auc",
        "logloss",
        "error",
        "mape",
        "merror",
        "mlogloss",
        "aucpr",
        "ndcg",
        "map",
    )
]


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
    if kind not in {"builtin-xgboost", "script", "model-monitor"}:
        raise ValueError(f"kind={kind!r} must be 'builtin-xgboost', 'script' or 'model-monitor'")
    RUNTIMES.insert(0, Runtime(re.compile(pattern), kind))


def runtime_for(image: str) -> str:
    for runtime in RUNTIMES:
        if runtime.pattern.search(image):
            return runtime.kind
    raise JobFailed(
        f"ClientError: the local twin has no runtime for image {image!r}. Map it with "
        "mlaccel_twin.sagemaker_jobs.engine.register_runtime(r'<regex of the image URI>', "
        "'script') "
        "(runs python entry points and training scripts), or use a SageMaker framework image"
    )


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
            s3.download_file(bucket, obj["Key"], str(target))
            count += 1
    return count


def upload_dir(s3: Any, source: Path, uri: str) -> None:
    bucket, key = parse_path(uri)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, f"{key.rstrip('/')}/{path.relative_to(source)}")


def tar_dir(source: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    return buffer.getvalue()


# -- running a container command -----------------------------------------------------------


def remap(value: str, base: Path) -> str:
    """``/opt/ml/...`` paths in arguments and settings, moved under the job's folder."""
    return re.sub(r"(?<![\w/])/opt/ml(?=/|$)", str(base), value)


def run_command(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_line: Callable[[str], None],
    timeout_s: float,
) -> tuple[int, list[str]]:
    """Run ``command``, streaming each output line to ``log_line``; return the exit code and
    the last lines (for the failure reason)."""
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
        assert process.stdout is not None
        for line in process.stdout:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "MLACCEL_TWIN"))}
    env.update(extra)
    env["SAGEMAKER_BASE_DIR"] = str(base)
    env["PYTHONUNBUFFERED"] = "1"
    # the library is importable by the kit's own runtimes, wherever the twin was started from
    lib = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (lib, env.get("PYTHONPATH", "")) if p)
    return env


def failure_reason(base: Path, tail: list[str], code: int) -> str:
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


# -- training ------------------------------------------------------------------------------


@dataclass
class TrainingOutcome:
    status: str
    reason: str | None
    metrics: dict[str, float]


def run_training(
    runtime: Any, request: dict[str, Any], log_line: Callable[[str], None]
) -> TrainingOutcome:
    """Run a CreateTrainingJob request (PascalCase, as the API receives it) to the end."""
    name = request["TrainingJobName"]
    base = runtime.work_dir / "training" / name
    s3 = runtime.client("s3")
    lines: list[str] = []

    def record(line: str) -> None:
        lines.append(line)
        log_line(line)

    try:
        spec = request["AlgorithmSpecification"]
        image = spec.get("TrainingImage") or ""
        hyper = dict(request.get("HyperParameters") or {})
        kind = "script" if "sagemaker_program" in hyper else runtime_for(image)
        if kind not in ("builtin-xgboost", "script"):
            raise JobFailed(f"ClientError: image {image!r} cannot run training jobs")
        channels = _prepare_training_dir(s3, base, request, hyper)
        env = _training_env(base, request, hyper, channels)
        command, cwd = _training_command(s3, base, kind, hyper, env)
        timeout = float((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
        record(f"Running {kind} training for {name}")
        code, tail = run_command(command, env=env, cwd=cwd, log_line=record, timeout_s=timeout)
        definitions = list(spec.get("MetricDefinitions") or [])
        if kind == "builtin-xgboost":
            definitions += XGBOOST_METRICS
        metrics = parse_metrics(lines, definitions)
        if code != 0:
            return TrainingOutcome("Failed", failure_reason(base, tail, code), metrics)
        _upload_training_outputs(s3, base, request)
        return TrainingOutcome("Completed", None, metrics)
    except JobFailed as exc:
        record(str(exc))
        return TrainingOutcome("Failed", str(exc), {})


def _prepare_training_dir(
    s3: Any, base: Path, request: dict[str, Any], hyper: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """The container layout: channels downloaded, the three config files written."""
    for sub in ("input/config", "model", "output/data", "code"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    channels = {}
    for channel in request.get("InputDataConfig") or []:
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        target = base / "input" / "data" / channel["ChannelName"]
        if download(s3, uri, target) == 0:
            raise JobFailed(f"ClientError: no data in channel {channel['ChannelName']} at {uri}")
        channels[channel["ChannelName"]] = {
            "ContentType": channel.get("ContentType", ""),
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    config = base / "input" / "config"
    (config / "hyperparameters.json").write_text(json.dumps(hyper))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    return channels


def _training_env(
    base: Path, request: dict[str, Any], hyper: dict[str, Any], channels: dict[str, Any]
) -> dict[str, str]:
    """The ``SM_*`` variables the SageMaker training toolkit gives a training script."""
    env = base_env(base, dict(request.get("Environment") or {}))
    env.update(
        {
            "SM_MODEL_DIR": str(base / "model"),
            "SM_OUTPUT_DATA_DIR": str(base / "output" / "data"),
            "SM_OUTPUT_DIR": str(base / "output"),
            "SM_INPUT_DIR": str(base / "input"),
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_HPS": json.dumps(
                {k: _decode(v) for k, v in hyper.items() if not k.startswith("sagemaker_")}
            ),
            "SM_HOSTS": '["algo-1"]',
            "SM_CURRENT_HOST": "algo-1",
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_NUM_GPUS": "0",
            "SM_USER_ARGS": json.dumps(_user_args(hyper)),
            "SM_TRAINING_ENV": json.dumps(
                {"job_name": request["TrainingJobName"], "hyperparameters": hyper}
            ),
            **{f"SM_CHANNEL_{c.upper()}": str(base / "input" / "data" / c) for c in channels},
        }
    )
    return env


def _training_command(
    s3: Any, base: Path, kind: str, hyper: dict[str, Any], env: dict[str, str]
) -> tuple[list[str], Path]:
    """The process to run and its folder: the user's script, or the built-in algorithm."""
    if kind != "script":
        return [sys.executable, "-m", "mlaccel_twin.sagemaker_jobs.xgboost_algorithm"], base
    code_dir = base / "code"
    _fetch_code(s3, _decode(hyper.get("sagemaker_submit_directory", "")), code_dir)
    program = str(_decode(hyper["sagemaker_program"]))
    env["SM_MODULE_DIR"] = str(code_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(code_dir), env["PYTHONPATH"]])
    return [sys.executable, program, *_user_args(hyper)], code_dir


def _upload_training_outputs(s3: Any, base: Path, request: dict[str, Any]) -> None:
    """Upload ``model.tar.gz`` (and ``output.tar.gz`` for data) where SageMaker puts them."""
    output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
    bucket, key = parse_path(f"{output}/{request['TrainingJobName']}/output")
    s3.put_object(Bucket=bucket, Key=f"{key}/model.tar.gz", Body=tar_dir(base / "model"))
    if any((base / "output" / "data").iterdir()):
        s3.put_object(
            Bucket=bucket, Key=f"{key}/output.tar.gz", Body=tar_dir(base / "output" / "data")
        )


def _decode(value: Any) -> Any:
    """The SDK JSON-encodes hyperparameter values; the built-in algorithms take plain ones."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _user_args(hyper: dict[str, str]) -> list[str]:
    args = []
    for key, value in sorted(hyper.items()):
        if key.startswith("sagemaker_") or key == "_tuning_objective_metric":
            continue
        decoded = _decode(value)
        args += [f"--{key}", decoded if isinstance(decoded, str) else json.dumps(decoded)]
    return args


def _fetch_code(s3: Any, uri: str, code_dir: Path) -> None:
    if not uri:
        raise JobFailed("ClientError: sagemaker_submit_directory is missing for script mode")
    if uri.startswith("s3://"):
        bucket, key = parse_path(uri)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    else:
        body = Path(uri.removeprefix("file://")).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        tar.extractall(code_dir, filter="data")


# -- processing ----------------------------------------------------------------------------


def run_processing(
    runtime: Any, request: dict[str, Any], log_line: Callable[[str], None]
) -> tuple[str, str | None]:
    """Run a CreateProcessingJob request to the end; return its status and failure reason."""
    name = request["ProcessingJobName"]
    base = runtime.work_dir / "processing" / name
    s3 = runtime.client("s3")
    try:
        app = request["AppSpecification"]
        image = app["ImageUri"]
        kind = runtime_for(image)
        base.mkdir(parents=True, exist_ok=True)
        for item in request.get("ProcessingInputs") or []:
            _processing_input(runtime, s3, item, base, log_line)
        env = base_env(
            base, {k: remap(v, base) for k, v in (request.get("Environment") or {}).items()}
        )
        if kind == "model-monitor":
            command = [sys.executable, "-m", "mlaccel.monitor.analyzer"]
        else:
            entry = list(app.get("ContainerEntrypoint") or [])
            if not entry:
                raise JobFailed(f"ClientError: image {image!r} needs a ContainerEntrypoint here")
            if entry[0] in PYTHON_NAMES or entry[0].endswith("/python3"):
                entry[0] = sys.executable
            command = [remap(a, base) for a in entry + list(app.get("ContainerArguments") or [])]
        for output in (request.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            local = output.get("S3Output", {}).get("LocalPath")
            if local:
                Path(remap(local, base)).mkdir(parents=True, exist_ok=True)
        timeout = float((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
        log_line(f"Running {shlex.join(command[1:])}")
        code, tail = run_command(command, env=env, cwd=base, log_line=log_line, timeout_s=timeout)
        if code != 0:
            return "Failed", failure_reason(base, tail, code)
        for output in (request.get("ProcessingOutputConfig") or {}).get("Outputs", []):
            s3_output = output.get("S3Output")
            if s3_output:
                upload_dir(s3, Path(remap(s3_output["LocalPath"], base)), s3_output["S3Uri"])
        return "Completed", None
    except JobFailed as exc:
        log_line(str(exc))
        return "Failed", str(exc)


def _processing_input(
    runtime: Any, s3: Any, item: dict[str, Any], base: Path, log_line: Callable[[str], None]
) -> None:
    if "S3Input" in item:
        spec = item["S3Input"]
        target = Path(remap(spec["LocalPath"], base))
        if download(s3, spec["S3Uri"], target) == 0:
            raise JobFailed(
                f"ClientError: no objects at {spec['S3Uri']} for input {item.get('InputName')}"
            )
        return
    definition = item.get("DatasetDefinition") or {}
    athena = definition.get("AthenaDatasetDefinition")
    if not athena:
        raise JobFailed(
            f"ClientError: input {item.get('InputName')} has no S3Input or Athena "
            "dataset definition the twin can run"
        )
    query = runtime.services.get("athena_query")
    if query is None:
        raise JobFailed("ClientError: the twin has no Athena engine to run the dataset query")
    log_line(f"Athena dataset: {athena['QueryString']}")
    frame = query(athena["QueryString"], athena["Database"], athena.get("Catalog"))
    target = Path(remap(definition.get("LocalPath", "/opt/ml/processing/input"), base))
    target.mkdir(parents=True, exist_ok=True)
    if athena.get("OutputFormat", "PARQUET").upper() == "PARQUET":
        frame.to_parquet(target / "dataset.parquet", index=False)
    else:
        frame.to_csv(target / "dataset.csv", index=False)


# -- tuning --------------------------------------------------------------------------------


def sample_hyperparameters(ranges: dict[str, Any], count: int, seed: str) -> list[dict[str, str]]:
    """``count`` deterministic samples of the tuning ranges (Random; Bayesian samples alike)."""
    rng = random.Random(seed)
    samples = []
    for _ in range(count):
        values: dict[str, str] = {}
        for item in ranges.get("ContinuousParameterRanges", []):
            low, high = float(item["MinValue"]), float(item["MaxValue"])
            if item.get("ScalingType") in ("Logarithmic", "ReverseLogarithmic") and low > 0:
                value = math.exp(rng.uniform(math.log(low), math.log(high)))
            else:
                value = rng.uniform(low, high)
            values[item["Name"]] = f"{value:.6g}"
        for item in ranges.get("IntegerParameterRanges", []):
            values[item["Name"]] = str(rng.randint(int(item["MinValue"]), int(item["MaxValue"])))
        for item in ranges.get("CategoricalParameterRanges", []):
            values[item["Name"]] = rng.choice(item["Values"])
        samples.append(values)
    return samples


def grid(ranges: dict[str, Any]) -> list[dict[str, str]]:
    items = [(i["Name"], i["Values"]) for i in ranges.get("CategoricalParameterRanges", [])]
    items += [
        (i["Name"], [str(v) for v in range(int(i["MinValue"]), int(i["MaxValue"]) + 1)])
        for i in ranges.get("IntegerParameterRanges", [])
    ]
    names = [n for n, _ in items]
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*[v for _, v in items])
    ]


def training_request_for(
    definition: dict[str, Any], name: str, sampled: dict[str, str], objective: str
) -> dict[str, Any]:
    """The CreateTrainingJob request of one tuning trial."""
    hyper = {
        **(definition.get("StaticHyperParameters") or {}),
        **sampled,
        "_tuning_objective_metric": objective,
    }
    request = {
        "TrainingJobName": name,
        "HyperParameters": hyper,
        "AlgorithmSpecification": definition["AlgorithmSpecification"],
        "RoleArn": definition["RoleArn"],
        "InputDataConfig": definition.get("InputDataConfig", []),
        "OutputDataConfig": definition["OutputDataConfig"],
        "ResourceConfig": definition.get("ResourceConfig")
        or definition.get("HyperParameterTuningResourceConfig")
        or {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": definition.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400},
    }
    if definition.get("Environment"):
        request["Environment"] = definition["Environment"]
    return request


def wait_for_training(client: Any, name: str, poll: float = 0.3) -> dict[str, Any]:
    while True:
        described = client.describe_training_job(TrainingJobName=name)
        if described["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return dict(described)
        time.sleep(poll)
