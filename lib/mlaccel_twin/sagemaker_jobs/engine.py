"""SageMaker training and processing jobs, run on this machine by the twin.

Each job gets a container folder used as ``SAGEMAKER_BASE_DIR`` (``/opt/ml`` in SageMaker):
inputs are copied from the twin's S3 into it, the code runs as a subprocess with the container
contract (``SM_*`` variables, ``hyperparameters.json``, channels), log lines stream to CloudWatch
Logs as they come, metrics are read from them by the job's metric definitions, and outputs go
back to S3 (:mod:`mlaccel_twin.sagemaker_jobs.container`). Tuning jobs run their trials as
training jobs (:mod:`mlaccel_twin.sagemaker_jobs.tuning`).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlaccel._s3 import is_s3, parse_path
from mlaccel.errors import JobFailed
from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin.sagemaker_jobs.container import (
    base_env,
    download,
    failure_reason,
    max_runtime,
    parse_metrics,
    remap,
    remap_scripts,
    run_command,
    runtime_for,
    tar_dir,
    upload_dir,
)
from mlaccel_twin.sagemaker_jobs.instances import instance_count, run_processing_instances
from mlaccel_twin.sagemaker_jobs.xgboost_algorithm import ALGORITHM_IMAGE

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
# The containers the kit provides, run as modules: the built-in algorithm and the analyzer.
XGBOOST_ALGORITHM = "mlaccel_twin.sagemaker_jobs.xgboost_algorithm"
MODEL_MONITOR_ANALYZER = "mlaccel.monitor.analyzer"


# -- training ------------------------------------------------------------------------------


@dataclass
class TrainingOutcome:
    """How a training job ended: ``Completed`` or ``Failed``, why, and the metrics it logged."""

    status: str
    reason: str | None
    metrics: dict[str, float]


def run_training(
    runtime: TwinRuntime, request: dict[str, Any], log_line: Callable[[str], None]
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
        hyper = dict(request.get("HyperParameters") or {})
        kind = _training_runtime(request["AlgorithmSpecification"], hyper)
        channels = _prepare_training_dir(s3, base, request, hyper)
        env = _training_env(base, request, hyper, channels)
        command, cwd = _training_command(s3, base, kind, hyper, env)
        record(f"Running {kind} training for {name}")
        code, tail = run_command(
            command, env=env, cwd=cwd, log_line=record, timeout_s=max_runtime(request)
        )
        metrics = parse_metrics(lines, _metric_definitions(request, kind))
        if code != 0:
            return TrainingOutcome("Failed", failure_reason(base, tail, code), metrics)
        _upload_training_outputs(s3, base, request)
        return TrainingOutcome("Completed", None, metrics)
    except JobFailed as exc:
        record(str(exc))
        return TrainingOutcome("Failed", str(exc), {})


def _training_runtime(algorithm: dict[str, Any], hyper: dict[str, Any]) -> str:
    """``script`` for a training script (any framework image), else the image's runtime."""
    image = algorithm.get("TrainingImage") or ""
    kind = "script" if "sagemaker_program" in hyper else runtime_for(image)
    if kind not in ("builtin-xgboost", "script"):
        raise JobFailed(f"ClientError: image {image!r} cannot run training jobs")
    return kind


def _metric_definitions(request: dict[str, Any], kind: str) -> list[dict[str, str]]:
    definitions = list(request["AlgorithmSpecification"].get("MetricDefinitions") or [])
    if kind == "builtin-xgboost":
        definitions += XGBOOST_METRICS  # SageMaker applies these itself
    return definitions


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
            # the built-in algorithm writes its model in the format of the image's version
            ALGORITHM_IMAGE: request["AlgorithmSpecification"].get("TrainingImage") or "",
        }
    )
    return env


def _training_command(
    s3: Any, base: Path, kind: str, hyper: dict[str, Any], env: dict[str, str]
) -> tuple[list[str], Path]:
    """The process to run and its folder: the user's script, or the built-in algorithm."""
    if kind != "script":
        return [sys.executable, "-m", XGBOOST_ALGORITHM], base
    code_dir = base / "code"
    _fetch_code(s3, _decode(hyper.get("sagemaker_submit_directory", "")), code_dir)
    remap_scripts(code_dir, base)
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
    if is_s3(uri):
        bucket, key = parse_path(uri)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    else:
        body = Path(uri.removeprefix("file://")).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        tar.extractall(code_dir, filter="data")


# -- processing ----------------------------------------------------------------------------


def run_processing(
    runtime: TwinRuntime, request: dict[str, Any], log_line: Callable[[str], None]
) -> tuple[str, str | None]:
    """Run a CreateProcessingJob request to the end; return its status and failure reason."""
    if instance_count(request) > 1:
        return run_processing_instances(runtime, request, log_line, _processing_command)
    name = request["ProcessingJobName"]
    base = runtime.work_dir / "processing" / name
    s3 = runtime.client("s3")
    outputs = (request.get("ProcessingOutputConfig") or {}).get("Outputs", [])
    try:
        command = _processing_command(request["AppSpecification"], base)
        base.mkdir(parents=True, exist_ok=True)
        for item in request.get("ProcessingInputs") or []:
            _processing_input(runtime, s3, item, base, log_line)
        for script in remap_scripts(base, base):
            log_line(f"/opt/ml paths in {script.name} point at the job's folder")
        environment = request.get("Environment") or {}
        env = base_env(base, {k: remap(v, base) for k, v in environment.items()})
        for output in outputs:
            local = output.get("S3Output", {}).get("LocalPath")
            if local:
                Path(remap(local, base)).mkdir(parents=True, exist_ok=True)
        log_line(f"Running {shlex.join(command[1:])}")
        code, tail = run_command(
            command, env=env, cwd=base, log_line=log_line, timeout_s=max_runtime(request)
        )
        if code != 0:
            return "Failed", failure_reason(base, tail, code)
        for output in outputs:
            s3_output = output.get("S3Output")
            if s3_output:
                upload_dir(s3, Path(remap(s3_output["LocalPath"], base)), s3_output["S3Uri"])
        return "Completed", None
    except JobFailed as exc:
        log_line(str(exc))
        return "Failed", str(exc)


def _processing_command(app: dict[str, Any], base: Path) -> list[str]:
    """The process of a processing job: the analyzer, or the entry point and its arguments."""
    image = app["ImageUri"]
    if runtime_for(image) == "model-monitor":
        return [sys.executable, "-m", MODEL_MONITOR_ANALYZER]
    entry = list(app.get("ContainerEntrypoint") or [])
    if not entry:
        raise JobFailed(f"ClientError: image {image!r} needs a ContainerEntrypoint here")
    if entry[0] in PYTHON_NAMES or entry[0].endswith("/python3"):
        entry[0] = sys.executable
    return [remap(a, base) for a in entry + list(app.get("ContainerArguments") or [])]


def _processing_input(
    runtime: TwinRuntime, s3: Any, item: dict[str, Any], base: Path, log_line: Callable[[str], None]
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
