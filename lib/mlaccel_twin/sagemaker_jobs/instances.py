"""Processing jobs with ``InstanceCount > 1``: one process per instance, inputs sharded by key.

SageMaker Processing gives each instance its own container: a ``FullyReplicated`` input is
copied whole to every instance, a ``ShardedByS3Key`` input is split by object, each object
going to one instance; ``/opt/ml/config/resourceconfig.json`` names the instance and all
hosts; every instance uploads its own outputs. The twin runs the instances as concurrent
processes, each in its own folder, and gives them one shared folder
(``MLACCEL_ANALYZER_EXCHANGE``) where the kit's analyzer instances leave partial results for
the first instance to merge.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlaccel._s3 import parse_path
from mlaccel.errors import JobFailed
from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin.sagemaker_jobs.container import (
    base_env,
    download,
    failure_reason,
    fetch,
    max_runtime,
    remap,
    run_command,
    upload_dir,
)

SHARDED = "ShardedByS3Key"
EXCHANGE_VARIABLE = "MLACCEL_ANALYZER_EXCHANGE"


def instance_count(request: dict[str, Any]) -> int:
    """``ProcessingResources.ClusterConfig.InstanceCount`` of a request (1 when absent)."""
    cluster = (request.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    return int(cluster.get("InstanceCount") or 1)


def run_processing_instances(
    runtime: TwinRuntime,
    request: dict[str, Any],
    log_line: Callable[[str], None],
    command_for: Callable[[dict[str, Any], Path], list[str]],
) -> tuple[str, str | None]:
    """Run a multi-instance processing job to the end; return its status and failure reason.

    ``command_for(app_specification, instance_folder)`` gives an instance's process.
    """
    name = request["ProcessingJobName"]
    job = runtime.work_dir / "processing" / name
    hosts = [f"algo-{index + 1}" for index in range(instance_count(request))]
    s3 = runtime.client("s3")
    outputs = (request.get("ProcessingOutputConfig") or {}).get("Outputs", [])
    exchange = job / "exchange"
    try:
        exchange.mkdir(parents=True, exist_ok=True)
        folders = {host: job / host for host in hosts}
        for position, (host, base) in enumerate(folders.items()):
            _prepare_instance(s3, request, base, host, hosts, position, log_line)
        runs = {
            host: _start(command_for(request["AppSpecification"], base), request, base, exchange)
            for host, base in folders.items()
        }
        results = _run_together(runs, request, log_line)
        for host, (code, tail) in results.items():
            if code != 0:
                return "Failed", f"{host}: {failure_reason(folders[host], tail, code)}"
        for base in folders.values():
            for output in outputs:
                s3_output = output.get("S3Output")
                if s3_output:
                    local = Path(remap(s3_output["LocalPath"], base))
                    upload_dir(s3, local, s3_output["S3Uri"])
        return "Completed", None
    except JobFailed as exc:
        log_line(str(exc))
        return "Failed", str(exc)


def _prepare_instance(
    s3: Any,
    request: dict[str, Any],
    base: Path,
    host: str,
    hosts: list[str],
    position: int,
    log_line: Callable[[str], None],
) -> None:
    config = base / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": hosts}))
    for item in request.get("ProcessingInputs") or []:
        spec = item.get("S3Input")
        if spec is None:
            raise JobFailed(
                f"ClientError: input {item.get('InputName')} of a job on {len(hosts)} "
                "instances must be an S3Input here"
            )
        target = Path(remap(spec["LocalPath"], base))
        if spec.get("S3DataDistributionType") == SHARDED:
            copied = _download_shard(s3, spec["S3Uri"], target, position, len(hosts))
            log_line(f"{host}: {copied} objects of input {item.get('InputName')} (sharded)")
        elif download(s3, spec["S3Uri"], target) == 0:
            raise JobFailed(
                f"ClientError: no objects at {spec['S3Uri']} for input {item.get('InputName')}"
            )
    for output in (request.get("ProcessingOutputConfig") or {}).get("Outputs", []):
        local = output.get("S3Output", {}).get("LocalPath")
        if local:
            Path(remap(local, base)).mkdir(parents=True, exist_ok=True)


def _download_shard(s3: Any, uri: str, dest: Path, position: int, instances: int) -> int:
    """Copy every ``instances``-th object under ``uri`` (in key order), from ``position``."""
    bucket, prefix = parse_path(uri)
    dest.mkdir(parents=True, exist_ok=True)
    keys = sorted(
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if not obj["Key"].endswith("/")
    )
    if not keys:
        raise JobFailed(f"ClientError: no objects at {uri} to shard")
    mine = keys[position::instances]
    for key in mine:
        relative = key[len(prefix) :].lstrip("/") or Path(key).name
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fetch(s3, bucket, key, target)
    return len(mine)


def _start(
    command: list[str], request: dict[str, Any], base: Path, exchange: Path
) -> tuple[list[str], dict[str, str], Path]:
    environment = request.get("Environment") or {}
    env = base_env(base, {k: remap(v, base) for k, v in environment.items()})
    env[EXCHANGE_VARIABLE] = str(exchange)
    return command, env, base


def _run_together(
    runs: dict[str, tuple[list[str], dict[str, str], Path]],
    request: dict[str, Any],
    log_line: Callable[[str], None],
) -> dict[str, tuple[int, list[str]]]:
    results: dict[str, tuple[int, list[str]]] = {}
    lock = threading.Lock()

    def run(host: str, command: list[str], env: dict[str, str], base: Path) -> None:
        def line(text: str) -> None:
            with lock:
                log_line(f"[{host}] {text}")

        results[host] = run_command(
            command, env=env, cwd=base, log_line=line, timeout_s=max_runtime(request)
        )

    threads = [
        threading.Thread(target=run, args=(host, *parts), name=f"processing-{host}")
        for host, parts in runs.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
