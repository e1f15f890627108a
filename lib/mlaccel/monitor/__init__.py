"""Drift engine that speaks SageMaker Model Monitor's file formats and runs anywhere.

Baselines (``statistics.json``, ``constraints.json``) and checks
(``constraint_violations.json``) in Model Monitor's own shapes, computed in one pass or as
mergeable partial results per shard (:func:`baseline_partial`, :func:`check_partial`,
:func:`merge_partials`), model-quality metrics,
bias metrics, and readers for endpoint data capture and batch-transform output. The same
engine runs as the Model Monitor analyzer container on the local twin:
``python -m mlaccel.monitor.analyzer``.

Functions that read or write ``s3://`` take ``boto3_session=`` (the default session when
omitted), not the accelerators' ``connection=``: the engine imports no accelerator, so it
runs on its own and inside the analyzer container, where there is no kit connection, only
boto3's default session. A notebook passes ``connection.boto3_session``.

Examples
--------
>>> import pandas as pd
>>> from mlaccel import monitor
>>> baseline = monitor.compute_baseline(pd.DataFrame({"price": [10.0, 12.0, 11.0] * 100}))
>>> result = monitor.check_against_baseline(pd.DataFrame({"price": [30.0, 31.0] * 100}), baseline)
>>> sorted(result.flagged_features)
['price']
"""

from __future__ import annotations

from mlaccel.monitor._baseline import (
    compute_baseline,
    load_baseline,
    suggested_completeness,
    write_baseline,
)
from mlaccel.monitor._bias import bias_metrics
from mlaccel.monitor._capture import read_capture, read_transform_output
from mlaccel.monitor._check import check_against_baseline
from mlaccel.monitor._dataset_format import DatasetFormat, parse_dataset_format
from mlaccel.monitor._drift import FeatureDrift
from mlaccel.monitor._formats import Baseline, MonitoringConfig
from mlaccel.monitor._partial import (
    baseline_partial,
    check_partial,
    finish_baseline,
    finish_check,
    merge_partials,
)
from mlaccel.monitor._quality import (
    check_model_quality,
    model_quality_metrics,
    suggest_model_quality_constraints,
)
from mlaccel.monitor._report import plot_feature_drift, write_report
from mlaccel.monitor._synthetic import DriftExample, make_drift_example
from mlaccel.monitor._violations import Violation, Violations

__all__ = [
    "Baseline",
    "DatasetFormat",
    "DriftExample",
    "FeatureDrift",
    "MonitoringConfig",
    "Violation",
    "Violations",
    "baseline_partial",
    "bias_metrics",
    "check_against_baseline",
    "check_model_quality",
    "check_partial",
    "compute_baseline",
    "finish_baseline",
    "finish_check",
    "load_baseline",
    "make_drift_example",
    "merge_partials",
    "model_quality_metrics",
    "parse_dataset_format",
    "plot_feature_drift",
    "read_capture",
    "read_transform_output",
    "suggest_model_quality_constraints",
    "suggested_completeness",
    "write_baseline",
    "write_report",
]
