"""The Model Monitor analyzer container contract, served by this engine.

Run as ``python -m mlaccel.monitor.analyzer`` with the environment SageMaker gives the
Model Monitor analyzer image (paths are local directories; the caller copies data in and
results out):

``dataset_source``
    Folder (or file) of the data to analyze.
``output_path``
    Folder the results are written to.
``dataset_format``
    JSON, e.g. ``{"csv": {"header": true}}``, ``{"json": {"lines": true}}``, ``{"parquet": {}}``
    or ``{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}``;
    inferred from file names when absent.
``baseline_statistics``, ``baseline_constraints``
    Baseline files. Without ``baseline_constraints`` the job is a baselining job: it writes
    statistics.json and constraints.json. With it, a monitoring job: statistics.json and
    constraint_violations.json.
``analysis_type``
    ``DATA_QUALITY`` (default) or ``MODEL_QUALITY``.
``problem_type``, ``inference_attribute``, ``probability_attribute``,
``probability_threshold_attribute``, ``ground_truth_attribute``
    Model quality: the problem and where labels, scores and ground truth are (a column
    name, a JSONPath like ``$.score``, or a position).
``categorical_drift_method``
    Overrides the constraints' categorical drift method.
``start_time``, ``end_time``
    Data capture: only records inferred in ``[start_time, end_time)``.
``record_preprocessor_script``, ``post_analytics_processor_script``
    Python files defining ``preprocess_handler(inference_record[, logger])`` and
    ``postprocess_handler()``.
``MLACCEL_ANALYZER_EXCHANGE``
    A job on several instances (``hosts`` in ``/opt/ml/config/resourceconfig.json``, data
    sharded by S3 key): a folder they share. Each instance writes its shard's partial
    result there; the first merges them and writes the job's files, identical to one
    instance's. ``MLACCEL_ANALYZER_WAIT_S`` bounds its wait (an hour by default).
``publish_cloudwatch_metrics``, ``sagemaker_endpoint_name``,
``sagemaker_monitoring_schedule_name``
    Logged; no metrics are published.

Exit status 0 on success (with or without violations), 1 when an input is unusable (the
reason is printed).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mlaccel.errors import MLAccelInputError
from mlaccel.monitor._baseline import compute_baseline, load_baseline, write_baseline
from mlaccel.monitor._capture import GROUND_TRUTH, capture_batches, unify_batches
from mlaccel.monitor._check import check_against_baseline
from mlaccel.monitor._dataset_format import CAPTURE, DatasetFormat, parse_dataset_format
from mlaccel.monitor._formats import (
    CONSTRAINTS_FILE,
    STATISTICS_FILE,
    VIOLATIONS_FILE,
    Baseline,
    dumps,
    parse_json_text,
)
from mlaccel.monitor._io import iter_batches
from mlaccel.monitor._locations import read_bytes, write_text
from mlaccel.monitor._partial import (
    baseline_partial,
    check_partial,
    finish_baseline,
    finish_check,
    merge_partials,
)
from mlaccel.monitor._quality import (
    BINARY,
    REGRESSION,
    check_model_quality,
    model_quality_metrics,
    suggest_model_quality_constraints,
)

log = logging.getLogger("mlaccel.monitor.analyzer")

# A job on several instances: the folder they share for partial results (the twin sets it),
# and how long the first instance waits for the others'.
EXCHANGE_VARIABLE = "MLACCEL_ANALYZER_EXCHANGE"
WAIT_VARIABLE = "MLACCEL_ANALYZER_WAIT_S"
DEFAULT_WAIT_S = 3600.0

DATA_QUALITY = "DATA_QUALITY"
MODEL_QUALITY = "MODEL_QUALITY"


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one analysis as the Model Monitor analyzer image would.

    Parameters
    ----------
    argv
        Ignored (the contract is the environment); accepted for a uniform entry point.
    environ
        The environment to read; ``os.environ`` when ``None``.

    Returns
    -------
    int
        0 on success, 1 when an input is unusable.

    Examples
    --------
    >>> main(environ={})
    1
    """
    del argv
    env = dict(os.environ if environ is None else environ)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        written = run(env)
    except MLAccelInputError as error:
        log.error("%s", error)
        sys.stderr.write(f"mlaccel analyzer: {error}\n")
        return 1
    for name, where in written.items():
        log.info("wrote %s to %s", name, where)
    return 0


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise MLAccelInputError(
            f"environment variable {name} is not set; the analyzer needs dataset_source and "
            "output_path"
        )
    return value


def run(env: Mapping[str, str]) -> dict[str, str]:
    """The analysis described by ``env``; returns file name → where it was written."""
    source = _required(env, "dataset_source")
    output = _required(env, "output_path")
    if not Path(source).exists():
        raise MLAccelInputError(f"dataset_source {source} does not exist")
    for name in (
        "publish_cloudwatch_metrics",
        "sagemaker_endpoint_name",
        "sagemaker_monitoring_schedule_name",
    ):
        if env.get(name):
            log.info("%s=%s", name, env[name])
    fmt = parse_dataset_format(env.get("dataset_format") or None, source="dataset_format")
    analysis = (env.get("analysis_type") or DATA_QUALITY).strip().upper()
    if analysis == MODEL_QUALITY:
        written = _model_quality(env, source, output, fmt)
    elif analysis == DATA_QUALITY:
        written = _data_quality(env, source, output, fmt)
    else:
        raise MLAccelInputError(
            f"analysis_type={analysis!r} is not supported; use DATA_QUALITY or MODEL_QUALITY"
        )
    _post_analytics(env)
    return written


def _load_script(path: str, function: str) -> Any:
    script = Path(path)
    if not script.is_file():
        raise MLAccelInputError(f"script {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"mlaccel_user_{script.stem}", script)
    if spec is None or spec.loader is None:
        raise MLAccelInputError(f"{path} cannot be loaded as a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, function, None)
    if not callable(handler):
        raise MLAccelInputError(f"{path} defines no {function}() function")
    return handler


def _post_analytics(env: Mapping[str, str]) -> None:
    script = env.get("post_analytics_processor_script")
    if script:
        _load_script(script, "postprocess_handler")()


def _baseline(env: Mapping[str, str]) -> Baseline | None:
    statistics = env.get("baseline_statistics") or None
    constraints = env.get("baseline_constraints") or None
    if statistics is None and constraints is None:
        return None
    return load_baseline(statistics, constraints)


def _config(env: Mapping[str, str]) -> dict[str, Any]:
    method = env.get("categorical_drift_method")
    return {"categorical_drift_method": method} if method else {}


def _data_quality(
    env: Mapping[str, str], source: str, output: str, fmt: DatasetFormat | None
) -> dict[str, str]:
    baseline = _baseline(env)
    names = baseline.feature_names if baseline is not None else None
    data: Any = source
    if fmt is not None and fmt.kind == CAPTURE:
        data = _capture_data(env, source, fmt, names)
    cluster = _cluster(env)
    if cluster is not None:
        return _sharded_data_quality(env, data, output, fmt, baseline, names, cluster)
    if baseline is None or env.get("baseline_constraints") in (None, ""):
        if baseline is not None:
            log.info("baseline_statistics without baseline_constraints: baselining job")
        result = compute_baseline(data, dataset_format=_format_for(data, fmt), config=_config(env))
        return write_baseline(result, output)
    # Header-less CSV and capture data are positional: they get the baseline's names in order.
    violations = check_against_baseline(
        data,
        baseline,
        config=_config(env),
        dataset_format=_format_for(data, fmt),
        column_names=names,
    )
    return violations.write(output)


@dataclass(frozen=True)
class _Cluster:
    """The instances of a processing job with ``InstanceCount > 1``, and where they meet."""

    current_host: str
    hosts: list[str]
    exchange: Path

    @property
    def leader(self) -> bool:
        return self.current_host == self.hosts[0]


def _cluster(env: Mapping[str, str]) -> _Cluster | None:
    """The job's instances, from resourceconfig.json; ``None`` for a single instance."""
    base = Path(env.get("SAGEMAKER_BASE_DIR") or "/opt/ml")
    config_file = base / "config" / "resourceconfig.json"
    if not config_file.is_file():
        return None
    config = parse_json_text(config_file.read_text(), str(config_file))
    hosts = [str(host) for host in config.get("hosts") or []]
    if len(hosts) <= 1:
        return None
    exchange = env.get(EXCHANGE_VARIABLE, "").strip()
    if not exchange:
        raise MLAccelInputError(
            f"the job runs on {len(hosts)} instances but {EXCHANGE_VARIABLE} names no folder "
            "the instances share for their partial results; set it, or run one instance"
        )
    return _Cluster(str(config.get("current_host")), hosts, Path(exchange))


def _sharded_data_quality(
    env: Mapping[str, str],
    data: Any,
    output: str,
    fmt: DatasetFormat | None,
    baseline: Baseline | None,
    names: list[str] | None,
    cluster: _Cluster,
) -> dict[str, str]:
    """One instance's shard: its partial result; the first instance merges and writes."""
    checking = baseline is not None and env.get("baseline_constraints") not in (None, "")
    read = {"dataset_format": _format_for(data, fmt)}
    empty = isinstance(data, str | Path) and not any(p.is_file() for p in Path(data).rglob("*"))
    if empty:
        log.info("%s: no objects in this instance's shard", cluster.current_host)
        partial: dict[str, Any] = {
            "kind": "check" if checking else "baseline",
            "item_count": 0,
            "columns": {},
        }
        if checking:
            partial.update(seen=[], extras={})
    elif checking:
        assert baseline is not None
        partial = check_partial(data, baseline, config=_config(env), column_names=names, **read)
    else:
        partial = baseline_partial(data, **read)
    cluster.exchange.mkdir(parents=True, exist_ok=True)
    mine = cluster.exchange / f"{cluster.current_host}.json"
    staging = mine.with_suffix(".writing")
    staging.write_text(json.dumps(partial))
    staging.replace(mine)  # atomic: the leader never reads half a file
    log.info("%s: partial result of %d rows", cluster.current_host, partial["item_count"])
    if not cluster.leader:
        return {}
    parts = _wait_for_partials(cluster, float(env.get(WAIT_VARIABLE) or DEFAULT_WAIT_S))
    merged = merge_partials(parts)
    if checking:
        assert baseline is not None
        return finish_check(merged, baseline, config=_config(env)).write(output)
    return write_baseline(finish_baseline(merged, config=_config(env)), output)


def _wait_for_partials(cluster: _Cluster, timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    files = [cluster.exchange / f"{host}.json" for host in cluster.hosts]
    while True:
        missing = [file.stem for file in files if not file.is_file()]
        if not missing:
            return [parse_json_text(file.read_text(), str(file)) for file in files]
        if time.monotonic() > deadline:
            raise MLAccelInputError(
                f"instances {missing} sent no partial result within {timeout_s:.0f} s; "
                "see their logs"
            )
        time.sleep(0.05)


def _format_for(data: Any, fmt: DatasetFormat | None) -> DatasetFormat | None:
    return None if not isinstance(data, str | Path) else fmt


def _capture_data(
    env: Mapping[str, str],
    source: str,
    fmt: DatasetFormat,
    names: Sequence[str] | None,
    *,
    sides: Sequence[str] | None = None,
) -> Any:
    script = env.get("record_preprocessor_script")
    preprocess = _load_script(script, "preprocess_handler") if script else None
    batches = capture_batches(
        [source],
        capture_index_names=sides or fmt.capture_index_names,
        feature_names=names,
        start_time=env.get("start_time") or None,
        end_time=env.get("end_time") or None,
        preprocess=preprocess,
    )
    return batches


def _model_quality(
    env: Mapping[str, str], source: str, output: str, fmt: DatasetFormat | None
) -> dict[str, str]:
    problem = (env.get("problem_type") or "").strip()
    if not problem:
        raise MLAccelInputError(
            "problem_type is not set; MODEL_QUALITY needs Regression, BinaryClassification or "
            "MulticlassClassification"
        )
    frame = _model_quality_frame(env, source, fmt)
    truth_name = _attribute(frame, env.get("ground_truth_attribute"), "ground_truth_attribute")
    if truth_name is None:
        raise MLAccelInputError("ground_truth_attribute is not set; it locates the true labels")
    pred_name = _attribute(frame, env.get("inference_attribute"), "inference_attribute")
    prob_name = _attribute(frame, env.get("probability_attribute"), "probability_attribute")
    threshold_text = env.get("probability_threshold_attribute") or "0.5"
    try:
        threshold = float(threshold_text)
    except ValueError:
        raise MLAccelInputError(
            f"probability_threshold_attribute={threshold_text!r} must be a number"
        ) from None
    is_regression = problem.lower() == REGRESSION.lower()
    truth = _values(frame[truth_name], numeric=is_regression)
    pred = _values(frame[pred_name], numeric=is_regression) if pred_name else None
    prob = _values(frame[prob_name], numeric=True) if prob_name else None
    positive = 1
    if problem.lower() == BINARY.lower() and truth.dtype.kind not in "fiub":
        positive = sorted(set(truth.tolist()), key=str)[-1]
        log.info("binary labels are text: %r counts as the positive class", positive)
    statistics = model_quality_metrics(
        truth,
        pred,
        problem_type=problem,
        y_prob=prob,
        probability_threshold=threshold,
        positive_label=positive,
    )
    written = {STATISTICS_FILE: write_text(output, STATISTICS_FILE, dumps(statistics))}
    constraints_path = env.get("baseline_constraints")
    if constraints_path:
        constraints = parse_json_text(read_bytes(constraints_path), constraints_path)
        violations = check_model_quality(statistics, constraints)
        written[VIOLATIONS_FILE] = write_text(output, VIOLATIONS_FILE, dumps(violations))
    else:
        suggested = suggest_model_quality_constraints(statistics)
        written[CONSTRAINTS_FILE] = write_text(output, CONSTRAINTS_FILE, dumps(suggested))
    return written


def _model_quality_frame(env: Mapping[str, str], source: str, fmt: DatasetFormat | None) -> Any:
    if fmt is not None and fmt.kind == CAPTURE:
        # Model quality reads predictions: _c<i> are the endpoint's output fields.
        batches = list(_capture_data(env, source, fmt, None, sides=("endpointOutput",)))
    else:
        batches = list(iter_batches(source, dataset_format=fmt))
    if not batches or sum(batch.num_rows for batch in batches) == 0:
        raise MLAccelInputError(f"dataset_source {source} holds no rows")
    return pa.Table.from_batches(unify_batches(batches)).to_pandas()


def _attribute(frame: Any, attribute: str | None, role: str) -> str | None:
    if attribute is None or not str(attribute).strip():
        return None
    text = str(attribute).strip()
    columns = [str(c) for c in frame.columns]
    candidates = [text]
    if text.startswith("$."):
        candidates.append(text[2:])
    if text.isdigit():
        index = int(text)
        if role == "ground_truth_attribute":
            candidates += [f"{GROUND_TRUTH}_{index}"] + ([GROUND_TRUTH] if index == 0 else [])
        candidates.append(f"_c{index}")
        if index < len(columns):
            candidates.append(columns[index])
    elif role == "ground_truth_attribute":
        candidates.append(GROUND_TRUTH)
    for candidate in candidates:
        if candidate in columns:
            return candidate
    raise MLAccelInputError(
        f"{role}={attribute!r} matches no column; columns are {columns[:20]} (use a name, "
        "a $.json.path or a position)"
    )


def _values(series: Any, *, numeric: bool) -> np.ndarray:
    """Text from CSV or capture as numbers when they are numbers (labels "1" become 1)."""
    import pandas as pd

    converted = pd.to_numeric(series, errors="coerce")
    parsed_all = bool(converted.notna().sum() == series.notna().sum())
    if numeric or parsed_all:
        if not parsed_all and numeric:
            bad = series[converted.isna() & series.notna()].iloc[0]
            raise MLAccelInputError(f"column {series.name!r} holds {bad!r}, not a number")
        values: np.ndarray = converted.to_numpy(dtype=np.float64)
        whole = bool(np.isfinite(values).all() and np.all(values == np.floor(values)))
        if not numeric and values.size and whole:
            return values.astype(np.int64)
        return values
    text: np.ndarray = series.to_numpy(dtype=object)
    return text


if __name__ == "__main__":
    raise SystemExit(main())
