"""Training accelerators: built-in XGBoost, script-mode XGBoost, a linear baseline, tuning,
evaluation, and a comparison table; the same calls on the twin and on AWS.

Every job runs on ``instance_type``, which defaults to
:func:`mlaccel.config.default_instance_type` (``MLACCEL_INSTANCE_TYPE``) when left as None.

Parts: ``_objective`` (what a product's training optimizes), ``_jobs`` (the estimators, tuner
and evaluation) and ``_compare`` (the comparison and its reading). Every public name is here.
"""

from __future__ import annotations

from mlaccel.training._compare import (
    best_model,
    compare_models,
    describe_comparison,
    describe_tuning,
    metrics_table,
    plot_comparison,
)
from mlaccel.training._jobs import (
    SCRIPT_METRICS,
    TrainedModel,
    builtin_xgboost_estimator,
    evaluate,
    evaluation_arguments,
    linear_estimator,
    script_xgboost_estimator,
    test_metrics,
    train_builtin_xgboost,
    train_linear,
    train_script_xgboost,
    trained_model,
    training_inputs,
    tune_xgboost,
    tuning_job_name,
    tuning_result,
    tuning_trials,
    xgboost_image,
    xgboost_tuner,
)
from mlaccel.training._objective import (
    MAX_SEED,
    SKLEARN_VERSION,
    XGBOOST_VERSION,
    Objective,
    check_hyperparameters,
    check_seed,
    default_hyperparameters,
    encode_labels,
    objective_for,
    objective_score,
    quality_metrics,
)

__all__ = [
    "MAX_SEED",
    "SCRIPT_METRICS",
    "SKLEARN_VERSION",
    "XGBOOST_VERSION",
    "Objective",
    "TrainedModel",
    "best_model",
    "builtin_xgboost_estimator",
    "check_hyperparameters",
    "check_seed",
    "compare_models",
    "default_hyperparameters",
    "describe_comparison",
    "describe_tuning",
    "encode_labels",
    "evaluate",
    "evaluation_arguments",
    "linear_estimator",
    "metrics_table",
    "objective_for",
    "objective_score",
    "plot_comparison",
    "quality_metrics",
    "script_xgboost_estimator",
    "test_metrics",
    "train_builtin_xgboost",
    "train_linear",
    "train_script_xgboost",
    "trained_model",
    "training_inputs",
    "tune_xgboost",
    "tuning_job_name",
    "tuning_result",
    "tuning_trials",
    "xgboost_image",
    "xgboost_tuner",
]
