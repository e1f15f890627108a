"""Training jobs: the built-in, script-mode and linear estimators, tuning and evaluation;
each is built visibly, then fit."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlaccel import config, products
from mlaccel._paths import seedcode_dir
from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelInputError
from mlaccel.training._objective import (
    SKLEARN_VERSION,
    XGBOOST_VERSION,
    check_hyperparameters,
    check_seed,
    default_hyperparameters,
    objective_for,
)

if TYPE_CHECKING:
    import pandas as pd

    from mlaccel._connect import Connection
    from mlaccel.features import FeatureSet


# Script-mode metric lines (seedcode/training/common.py prints them).
SCRIPT_METRICS = [
    {"Name": "validation:rmse", "Regex": r"final validation:rmse=([-+0-9.eE]+)"},
    {"Name": "validation:mae", "Regex": r"final validation:mae=([-+0-9.eE]+)"},
    {"Name": "validation:auc", "Regex": r"final validation:auc=([-+0-9.eE]+)"},
    {"Name": "validation:logloss", "Regex": r"final validation:logloss=([-+0-9.eE]+)"},
    {"Name": "validation:mlogloss", "Regex": r"final validation:mlogloss=([-+0-9.eE]+)"},
    {"Name": "validation:accuracy", "Regex": r"final validation:accuracy=([-+0-9.eE]+)"},
    {"Name": "validation:macro_f1", "Regex": r"final validation:macro_f1=([-+0-9.eE]+)"},
]


@dataclass
class TrainedModel:
    """A finished training job and what it produced."""

    label: str
    job_name: str
    model_data: str
    image_uri: str
    metrics: dict[str, float] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)


def training_inputs(features: FeatureSet, content_type: str = "text/csv") -> dict[str, Any]:
    """The ``train`` and ``validation`` channels of ``features`` as ``TrainingInput``s, what an
    estimator's or tuner's ``fit`` takes."""
    from sagemaker.inputs import TrainingInput

    return {
        "train": TrainingInput(features.train, content_type=content_type),
        "validation": TrainingInput(features.validation, content_type=content_type),
    }


def _final_metrics(connection: Connection, job_name: str) -> dict[str, float]:
    described = connection.client("sagemaker").describe_training_job(TrainingJobName=job_name)
    return {m["MetricName"]: float(m["Value"]) for m in described.get("FinalMetricDataList", [])}


def trained_model(estimator: Any, label: str, *, connection: Connection) -> TrainedModel:
    """What an estimator's finished ``fit`` produced, under ``label`` (its row in comparisons):
    the job, the model artifact, the image and the job's final metrics."""
    job = estimator.latest_training_job
    if job is None:
        raise MLAccelInputError(
            f"the estimator for {label!r} has not trained yet: call its .fit(...) first"
        )
    return TrainedModel(
        label,
        job.name,
        estimator.model_data,
        estimator.training_image_uri(),
        _final_metrics(connection, job.name),
    )


def _fit(
    estimator: Any, features: FeatureSet, label: str, connection: Connection, logs: bool
) -> TrainedModel:
    estimator.fit(training_inputs(features), logs=logs)
    return trained_model(estimator, label, connection=connection)


def xgboost_image(connection: Connection) -> str:
    """The image of SageMaker's built-in XGBoost in the connection's region."""
    from sagemaker import image_uris

    return str(image_uris.retrieve("xgboost", connection.region, XGBOOST_VERSION))


def builtin_xgboost_estimator(
    product: products.DataProduct,
    *,
    connection: Connection,
    hyperparameters: dict[str, Any] | None = None,
    instance_type: str | None = None,
    seed: int = 0,
) -> Any:
    """An Estimator for SageMaker's built-in XGBoost algorithm (CSV, label first).

    ``hyperparameters`` override :func:`default_hyperparameters`; ``seed`` is XGBoost's random
    seed (row and column subsampling), so the same seed trains the same model.
    """
    from sagemaker.estimator import Estimator

    overrides = check_hyperparameters(hyperparameters)
    estimator = Estimator(
        image_uri=xgboost_image(connection),
        role=connection.role_arn,
        instance_count=1,
        instance_type=instance_type or config.default_instance_type(),
        output_path=connection.s3_uri("models", product.name, "xgboost-builtin"),
        base_job_name=f"mlaccel-{product.name.replace('_', '-')[:16]}-xgb",
        sagemaker_session=connection.sagemaker_session,
    )
    estimator.set_hyperparameters(
        **{**default_hyperparameters(product), "seed": check_seed(seed), **overrides}
    )
    return estimator


def train_builtin_xgboost(
    features: FeatureSet,
    *,
    connection: Connection,
    hyperparameters: dict[str, Any] | None = None,
    instance_type: str | None = None,
    logs: bool = False,
    seed: int = 0,
) -> TrainedModel:
    """Train with the built-in XGBoost algorithm and wait.

    Parameters
    ----------
    features
        From :func:`mlaccel.features.run_feature_job`: its ``train`` and ``validation`` CSVs.
    connection
        From :func:`mlaccel.connect`.
    hyperparameters
        Override :func:`default_hyperparameters`, e.g. ``{"num_round": 50}``.
    instance_type
        Defaults to :func:`mlaccel.config.default_instance_type`.
    logs
        Show the job's logs while waiting.
    seed
        XGBoost's random seed: the same seed and data train the same model.

    Examples
    --------
    >>> model = train_builtin_xgboost(features, connection=conn)  # doctest: +SKIP
    """
    estimator = builtin_xgboost_estimator(
        features.product,
        connection=connection,
        hyperparameters=hyperparameters,
        instance_type=instance_type,
        seed=seed,
    )
    return _fit(estimator, features, "xgboost (built-in)", connection, logs)


def _script_estimator(
    kind: str,
    product_name: str,
    entry_point: str,
    connection: Connection,
    hyperparameters: dict[str, Any],
    instance_type: str | None,
) -> Any:
    common = {
        "entry_point": entry_point,
        "source_dir": str(seedcode_dir() / "training"),
        "role": connection.role_arn,
        "instance_count": 1,
        "instance_type": instance_type or config.default_instance_type(),
        "hyperparameters": hyperparameters,
        "metric_definitions": SCRIPT_METRICS,
        "output_path": connection.s3_uri("models", product_name, kind),
        "base_job_name": f"mlaccel-{product_name.replace('_', '-')[:16]}-{kind}",
        "sagemaker_session": connection.sagemaker_session,
    }
    if kind == "xgboost-script":
        from sagemaker.xgboost.estimator import XGBoost

        return XGBoost(framework_version=XGBOOST_VERSION, **common)
    from sagemaker.sklearn.estimator import SKLearn

    return SKLearn(framework_version=SKLEARN_VERSION, **common)


def script_xgboost_estimator(
    product: products.DataProduct,
    *,
    connection: Connection,
    hyperparameters: dict[str, Any] | None = None,
    instance_type: str | None = None,
    seed: int = 0,
) -> Any:
    """An ``XGBoost`` framework estimator running ``seedcode/training/train_xgboost.py``
    (script mode) with :func:`default_hyperparameters` (less ``eval_metric``, which the
    script derives) overridden by ``hyperparameters``; ``seed`` is the script's XGBoost seed."""
    params = {k: v for k, v in default_hyperparameters(product).items() if k != "eval_metric"}
    params["seed"] = check_seed(seed)
    return _script_estimator(
        "xgboost-script",
        product.name,
        "train_xgboost.py",
        connection,
        {**params, **check_hyperparameters(hyperparameters)},
        instance_type,
    )


def train_script_xgboost(
    features: FeatureSet,
    *,
    connection: Connection,
    hyperparameters: dict[str, Any] | None = None,
    instance_type: str | None = None,
    logs: bool = False,
    seed: int = 0,
) -> TrainedModel:
    """Train :func:`script_xgboost_estimator` on ``features`` and wait."""
    estimator = script_xgboost_estimator(
        features.product,
        connection=connection,
        hyperparameters=hyperparameters,
        instance_type=instance_type,
        seed=seed,
    )
    return _fit(estimator, features, "xgboost (script mode)", connection, logs)


def linear_estimator(
    product: products.DataProduct,
    *,
    connection: Connection,
    alpha: float = 1.0,
    instance_type: str | None = None,
) -> Any:
    """An ``SKLearn`` estimator running the linear baseline (``seedcode/training/train_linear.py``).

    ``alpha`` is the L2 penalty: ridge's for regression, the inverse of logistic regression's
    ``C`` for classification; 0 means none. The fit has no randomness (a closed-form ridge, a
    deterministic L-BFGS), so it takes no seed.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha >= 0:
        raise MLAccelInputError(f"alpha={alpha!r} must be a number of 0 or more, such as 1.0")
    return _script_estimator(
        "linear",
        product.name,
        "train_linear.py",
        connection,
        {"problem_type": product.problem_type, "alpha": alpha},
        instance_type,
    )


def train_linear(
    features: FeatureSet,
    *,
    connection: Connection,
    alpha: float = 1.0,
    instance_type: str | None = None,
    logs: bool = False,
) -> TrainedModel:
    """Train :func:`linear_estimator` on ``features`` and wait."""
    estimator = linear_estimator(
        features.product, connection=connection, alpha=alpha, instance_type=instance_type
    )
    return _fit(estimator, features, "linear baseline", connection, logs)


TUNING_NAME_LENGTH = 32
"""SageMaker's limit on a tuning job's name (its trials append ``-001-<8 hex>``)."""


def tuning_job_name(product: products.DataProduct) -> str:
    """A new tuning job name for ``product``: ``mlaccel-<product>-<UTC second>-<3 hex>``.

    Pass it to the tuner's ``fit(job_name=...)``: the SDK's own name is stamped to the minute
    only, so a tuning run repeated within a minute (seconds on the twin), or two at once, would
    collide, and a tuning job's name can never be used again.

    Examples
    --------
    >>> name = tuning_job_name(products.DataProduct("used_cars", "y", "regression", "id", ("x",)))
    >>> name.startswith("mlaccel-used-ca-"), len(name) <= TUNING_NAME_LENGTH
    (True, True)
    """
    stamp = f"{datetime.now(UTC):%y%m%d%H%M%S}-{secrets.token_hex(2)[:3]}"
    room = TUNING_NAME_LENGTH - len("mlaccel-") - len(stamp) - 1
    return f"mlaccel-{product.name.replace('_', '-')[:room].rstrip('-')}-{stamp}"


def _check_job_counts(max_jobs: Any, max_parallel_jobs: Any) -> None:
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1:
        raise MLAccelInputError(f"max_jobs={max_jobs!r} must be a positive whole number")
    if (
        isinstance(max_parallel_jobs, bool)
        or not isinstance(max_parallel_jobs, int)
        or not 1 <= max_parallel_jobs <= max_jobs
    ):
        raise MLAccelInputError(
            f"max_parallel_jobs={max_parallel_jobs!r} must be between 1 and max_jobs={max_jobs}"
        )


def xgboost_tuner(
    product: products.DataProduct,
    *,
    connection: Connection,
    max_jobs: int = 4,
    max_parallel_jobs: int = 2,
    instance_type: str | None = None,
    seed: int = 0,
) -> Any:
    """A ``HyperparameterTuner`` of the built-in XGBoost (eta, depth, child weight, subsample)
    on the product's objective, random search; call ``.fit(training_inputs(features),
    job_name=tuning_job_name(product))``.

    ``max_jobs`` training jobs run, ``max_parallel_jobs`` at a time; ``instance_type`` defaults
    to :func:`mlaccel.config.default_instance_type`. ``seed`` seeds both the tuner's search (the
    tuning job's ``RandomSeed``: the same seed samples the same hyperparameters) and each trial's
    XGBoost.
    """
    from sagemaker.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.tuner import HyperparameterTuner

    _check_job_counts(max_jobs, max_parallel_jobs)
    objective = objective_for(product)
    return HyperparameterTuner(
        builtin_xgboost_estimator(
            product, connection=connection, instance_type=instance_type, seed=seed
        ),
        objective_metric_name=objective.metric,
        objective_type=objective.direction,
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.05, 0.4, scaling_type="Logarithmic"),
            "max_depth": IntegerParameter(3, 8),
            "min_child_weight": ContinuousParameter(1, 8),
            "subsample": ContinuousParameter(0.6, 1.0),
        },
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        strategy="Random",
        random_seed=seed,
        base_tuning_job_name=f"mlaccel-{product.name.replace('_', '-')[:8]}-tune",
    )


def tuning_result(tuner: Any, *, connection: Connection) -> tuple[TrainedModel, pd.DataFrame]:
    """The best model of a finished tuning job and the table of every trial (hyperparameters,
    objective value, status), best first.

    The best job is read from the tuning job's description, not from the SDK's analytics
    (which warn when a trial has not finished).
    """
    import pandas as pd

    client = connection.client("sagemaker")
    job = tuner.latest_tuning_job.name
    described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=job)
    best = described.get("BestTrainingJob", {}).get("TrainingJobName")
    if not best:
        raise MLAccelInputError(
            f"tuning job {job!r} has no finished training job "
            f"(status {described.get('HyperParameterTuningJobStatus')}): "
            "read its trials' logs, fix the cause and tune again"
        )
    tuned_names = [
        r["Name"] for kind in (tuner.hyperparameter_ranges() or {}).values() for r in kind
    ]
    trials = tuning_trials(connection, job, tuned_names)
    training_job = client.describe_training_job(TrainingJobName=best)
    model = TrainedModel(
        "xgboost (tuned)",
        best,
        training_job["ModelArtifacts"]["S3ModelArtifacts"],
        training_job["AlgorithmSpecification"]["TrainingImage"],
        _final_metrics(connection, best),
    )
    objective = described["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    table = pd.DataFrame(trials)
    if not table.empty and "FinalObjectiveValue" in table:
        table = table.sort_values(
            "FinalObjectiveValue", ascending=objective["Type"] == "Minimize", na_position="last"
        ).reset_index(drop=True)
    return model, table


def tuning_trials(
    connection: Connection, job: str, tuned: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per trial of tuning job ``job``: its hyperparameters named in ``tuned`` (all it
    reports when None; some backends report the static ones too), final objective value,
    status and training job name."""
    client = connection.client("sagemaker")
    summaries: list[Any] = []
    kwargs: dict[str, Any] = {"HyperParameterTuningJobName": job, "MaxResults": 100}
    while True:
        page = client.list_training_jobs_for_hyper_parameter_tuning_job(**kwargs)
        summaries += page.get("TrainingJobSummaries", [])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    rows = []
    for summary in summaries:
        values = {
            k: _number(v.strip('"'))
            for k, v in summary.get("TunedHyperParameters", {}).items()
            if tuned is None or k in tuned
        }
        final = summary.get("FinalHyperParameterTuningJobObjectiveMetric", {})
        rows.append(
            {
                **values,
                "FinalObjectiveValue": final.get("Value"),
                "TrainingJobStatus": summary.get("TrainingJobStatus"),
                "TrainingJobName": summary["TrainingJobName"],
            }
        )
    return rows


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def tune_xgboost(
    features: FeatureSet,
    *,
    connection: Connection,
    max_jobs: int = 4,
    max_parallel_jobs: int = 2,
    instance_type: str | None = None,
    seed: int = 0,
) -> tuple[TrainedModel, pd.DataFrame]:
    """Tune the built-in XGBoost (:func:`xgboost_tuner`), wait, and return the best model and
    the table of every trial (:func:`tuning_result`)."""
    tuner = xgboost_tuner(
        features.product,
        connection=connection,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        instance_type=instance_type,
        seed=seed,
    )
    tuner.fit(
        training_inputs(features),
        job_name=tuning_job_name(features.product),
        include_cls_metadata=False,
    )
    return tuning_result(tuner, connection=connection)


def evaluate(
    model: TrainedModel,
    features: FeatureSet,
    *,
    connection: Connection,
    instance_type: str | None = None,
) -> dict[str, Any]:
    """Score the test split with ``seedcode/evaluation/evaluate.py`` as a processing job; the
    report (``evaluation.json``) is stored on ``model.evaluation`` and returned.

    The report is written under ``s3://<bucket>/evaluation/<product>/<job>/``; its URI is the
    report's ``s3_uri``. ``instance_type`` defaults to
    :func:`mlaccel.config.default_instance_type`.
    """
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    from mlaccel.features import sklearn_processor

    product = features.product
    output = connection.s3_uri("evaluation", product.name, model.job_name)
    processor = sklearn_processor(
        connection=connection, instance_type=instance_type, base_job_name="mlaccel-evaluate"
    )
    processor.run(
        code=str(seedcode_dir() / "evaluation" / "evaluate.py"),
        inputs=[
            ProcessingInput(source=model.model_data, destination="/opt/ml/processing/model"),
            ProcessingInput(source=features.test, destination="/opt/ml/processing/test"),
        ],
        outputs=[ProcessingOutput(source="/opt/ml/processing/evaluation", destination=output)],
        arguments=evaluation_arguments(product),
        wait=True,
        logs=False,
    )
    report_uri = f"{output}/evaluation.json"
    bucket, key = parse_path(report_uri)
    body = connection.client("s3").get_object(Bucket=bucket, Key=key)
    model.evaluation = json.loads(body["Body"].read())
    model.evaluation["s3_uri"] = report_uri
    return model.evaluation


def evaluation_arguments(product: products.DataProduct) -> list[str]:
    """The evaluation script's arguments for ``product`` (``seedcode/evaluation``).

    Examples
    --------
    >>> evaluation_arguments(products.DataProduct("p", "y", "regression", "id", ("x",)))
    ['--problem-type', 'regression', '--num-classes', '0']
    """
    return ["--problem-type", product.problem_type, "--num-classes", str(len(product.classes))]


def test_metrics(model: TrainedModel) -> dict[str, float]:
    """The evaluation's metric values, flattened (``{"rmse": 812.3, ...}``).

    Examples
    --------
    >>> model = TrainedModel("m", "job", "s3://b/model.tar.gz", "image")
    >>> model.evaluation = {"regression_metrics": {"rmse": {"value": 812.3}}, "s3_uri": "s3://b"}
    >>> test_metrics(model)
    {'rmse': 812.3}
    """
    report = {k: v for k, v in model.evaluation.items() if k.endswith("_metrics")}
    if not report:
        raise MLAccelInputError(f"{model.label} has no evaluation yet: call evaluate() first")
    metrics = next(iter(report.values()))
    return {
        k: float(v["value"]) for k, v in metrics.items() if isinstance(v, dict) and "value" in v
    }


# A library function whose name pytest would otherwise collect as a test.
test_metrics.__test__ = False  # type: ignore[attr-defined]
