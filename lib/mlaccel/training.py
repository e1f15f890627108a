"""Training accelerators: built-in XGBoost, script-mode XGBoost, a linear baseline, tuning,
evaluation, and a comparison table; the same calls on the twin and on AWS.

Every job runs on ``instance_type``, which defaults to
:func:`mlaccel.config.default_instance_type` (``MLACCEL_INSTANCE_TYPE``) when left as None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlaccel import config, products
from mlaccel._paths import seedcode_dir
from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from mlaccel._connect import Connection
    from mlaccel.features import FeatureSet

XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"
MAX_SEED = 2**31 - 1  # the largest RandomSeed a tuning job accepts
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


@dataclass(frozen=True)
class Objective:
    """What "better" means for a data product.

    Examples
    --------
    >>> objective_for(products.DataProduct("p", "y", "regression", "id", ("x",))).better(8, 9)
    True
    """

    metric: str  # SageMaker metric name, e.g. "validation:rmse"
    direction: str  # "Minimize" | "Maximize"
    xgboost_objective: str
    test_metric: str  # key in evaluation.json, e.g. "rmse"
    eval_metric: str  # XGBoost's name of the validation metric, e.g. "rmse"

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` beats score ``b``."""
        return a < b if self.direction == "Minimize" else a > b


def objective_for(product: products.DataProduct) -> Objective:
    """RMSE for regression, AUC for binary classification, log loss for multiclass.

    Examples
    --------
    >>> product = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("0", "1"))
    >>> objective_for(product).metric, objective_for(product).direction
    ('validation:auc', 'Maximize')
    """
    if product.problem_type == "regression":
        return Objective("validation:rmse", "Minimize", "reg:squarederror", "rmse", "rmse")
    if product.problem_type == "binary":
        return Objective("validation:auc", "Maximize", "binary:logistic", "auc", "auc")
    return Objective("validation:mlogloss", "Minimize", "multi:softprob", "log_loss", "mlogloss")


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


def check_seed(seed: Any) -> int:
    """``seed`` if it is a whole number of 0 or more (what XGBoost and the tuner accept).

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: seed=-1 must be a whole number from 0 to 2147483647
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise MLAccelInputError(f"seed={seed!r} must be a whole number from 0 to {MAX_SEED}")
    return seed


def default_hyperparameters(product: products.DataProduct) -> dict[str, Any]:
    """The built-in XGBoost's hyperparameters for ``product``: its objective and metric (and
    the number of classes of a multiclass product).

    Examples
    --------
    >>> wine = products.DataProduct(
    ...     "wine", "kind", "multiclass", "id", ("alcohol",), classes=("a", "b", "c")
    ... )
    >>> params = default_hyperparameters(wine)
    >>> params["objective"], params["eval_metric"], params["num_class"]
    ('multi:softprob', 'mlogloss', 3)
    """
    objective = objective_for(product)
    extra = {"num_class": len(product.classes)} if product.problem_type == "multiclass" else {}
    return {
        "objective": objective.xgboost_objective,
        "num_round": 200,
        "max_depth": 5,
        "eta": 0.1,
        "subsample": 0.9,
        "min_child_weight": 2,
        "early_stopping_rounds": 20,
        "eval_metric": objective.eval_metric,
        **extra,
    }


def check_hyperparameters(hyperparameters: Any) -> dict[str, Any]:
    """``hyperparameters`` as a dict keyed by name (an empty one for None).

    Examples
    --------
    >>> check_hyperparameters({"num_round": 50}), check_hyperparameters(None)
    ({'num_round': 50}, {})
    """
    if hyperparameters is None:
        return {}
    if not isinstance(hyperparameters, Mapping) or not all(
        isinstance(k, str) for k in hyperparameters
    ):
        raise MLAccelInputError(
            f"hyperparameters={hyperparameters!r} must be a dict of name to value, "
            "such as {'num_round': 50}"
        )
    return dict(hyperparameters)


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
    on the product's objective, random search; call ``.fit(training_inputs(features))``.

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
    tuner.fit(training_inputs(features), include_cls_metadata=False)
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


def compare_models(models: list[TrainedModel], product: products.DataProduct) -> pd.DataFrame:
    """One row per model: its test metrics, best first by the product's objective.

    Every model must have been evaluated (:func:`evaluate`) and carry its own label.
    """
    import pandas as pd

    objective = objective_for(product)
    labels = [m.label for m in models] if isinstance(models, list | tuple) else []
    if not labels:
        raise MLAccelInputError(
            f"models={models!r} must be a non-empty list of TrainedModel; train some first"
        )
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise MLAccelInputError(
            f"models has the labels {twice} more than once; give each model its own label"
        )
    rows = [{"model": m.label, "job": m.job_name, **test_metrics(m)} for m in models]
    lacking = [row["model"] for row in rows if objective.test_metric not in row]
    if lacking:
        raise MLAccelInputError(
            f"the evaluations of {lacking} have no test {objective.test_metric!r}, the objective "
            f"of {product.name!r}; evaluate them on the features of {product.name!r}"
        )
    table = pd.DataFrame(rows).set_index("model")
    return table.sort_values(objective.test_metric, ascending=objective.direction == "Minimize")


def best_model(models: list[TrainedModel], product: products.DataProduct) -> TrainedModel:
    """The model that wins on the product's test objective."""
    table = compare_models(models, product)
    return next(m for m in models if m.label == table.index[0])


def plot_comparison(table: pd.DataFrame, product: products.DataProduct) -> Figure:
    """A bar chart of the objective metric per model, the winner highlighted; the figure's
    label (its alternative text) names the winner."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    objective = objective_for(product)
    values = table[objective.test_metric]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.5 * len(values)))
    colors = ["#2a9d8f" if i == 0 else "#b0bec5" for i in range(len(values))]
    ax.barh(values.index[::-1], values.values[::-1], color=colors[::-1])
    for y, value in enumerate(values.values[::-1]):
        ax.text(value, y, f" {value:,.4g}", va="center", fontsize=9)
    better = "lower" if objective.direction == "Minimize" else "higher"
    ax.set_xlabel(f"test {objective.test_metric} ({better} is better)")
    ax.set_ylabel("model")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.margins(x=0.15)  # room for the value written after the longest bar
    ax.set_title(f"Models on the held-out test split: {objective.test_metric}", fontsize=10)
    fig.tight_layout()
    fig.set_label(
        f"Bar chart of the test {objective.test_metric} of {len(values)} models, "
        f"{better} is better; {values.index[0]} wins with {values.iloc[0]:,.4g}."
    )
    return fig


def metrics_table(models: list[TrainedModel]) -> pd.DataFrame:
    """One row per model: the final metrics its training job reported (validation, and train
    where the algorithm reports it); a metric a job did not report is left empty."""
    import pandas as pd

    return pd.DataFrame({m.label: m.metrics for m in models}).T.rename_axis("model")


def describe_tuning(table: pd.DataFrame, product: products.DataProduct) -> str:
    """Sentences that read a tuning table (:func:`tuning_result`): how many trials, the best
    one's hyperparameters, and how much the search mattered.

    Examples
    --------
    >>> import pandas as pd
    >>> p = products.DataProduct("p", "y", "regression", "id", ("x",))
    >>> describe_tuning(pd.DataFrame(), p)
    'The tuning job has no trials to read.'
    """
    import numpy as np

    objective = objective_for(product)
    if table.empty or "FinalObjectiveValue" not in table:
        return "The tuning job has no trials to read."
    finished = table[np.isfinite(table["FinalObjectiveValue"].astype("float64"))]
    failed = len(table) - len(finished)
    failed_text = f" {failed} trial(s) reported no objective: read their logs." if failed else ""
    if finished.empty:
        return f"None of the {len(table)} trials reported {objective.metric}.{failed_text}"
    tuned = [
        c
        for c in table.columns
        if c not in ("FinalObjectiveValue", "TrainingJobStatus", "TrainingJobName")
    ]
    best = finished.iloc[0]
    settings = ", ".join(
        f"{c}={best[c]:.3g}" if isinstance(best[c], float) else f"{c}={best[c]}" for c in tuned
    )
    text = (
        f"{len(table)} trials ({objective.direction.lower()} {objective.metric}); the best, "
        f"`{best['TrainingJobName']}`, reached {best['FinalObjectiveValue']:,.4g} with {settings}."
    )
    if len(finished) > 1:
        worst = float(finished["FinalObjectiveValue"].iloc[-1])
        gap = abs(worst - float(best["FinalObjectiveValue"])) / max(abs(worst), 1e-12)
        text += (
            f" The worst reached {worst:,.4g}: the search moved the validation metric by "
            f"{gap:.1%}"
            + (
                ", so these ranges matter little for this data; more trials would not pay."
                if gap < 0.02
                else "; more trials or narrower ranges around the best may gain more."
            )
        )
    return text + failed_text


def describe_comparison(
    table: pd.DataFrame, product: products.DataProduct, *, baseline: str = "linear baseline"
) -> str:
    """Sentences that read the comparison table (:func:`compare_models`): the winner, its
    margin over the runner-up and over ``baseline`` (when it is one of the rows).

    Examples
    --------
    >>> import pandas as pd
    >>> p = products.DataProduct("p", "y", "regression", "id", ("x",))
    >>> describe_comparison(pd.DataFrame({"rmse": [9.0]}, index=["only"]), p)
    'On the held-out test split, `only` has rmse 9 (lower is better); it is the only model.'
    """
    objective = objective_for(product)
    metric = objective.test_metric
    values = table[metric].astype("float64")
    winner, best = str(values.index[0]), float(values.iloc[0])
    better = "lower" if objective.direction == "Minimize" else "higher"
    text = f"On the held-out test split, `{winner}` has {metric} {best:,.4g} ({better} is better)"
    if len(values) == 1:
        return text + "; it is the only model."

    def margin(other: float) -> str:
        share = abs(other - best) / max(abs(other), 1e-12)
        return f"{share:.1%}" if share >= 0.01 else f"{share:.2%}"

    runner_up, second = str(values.index[1]), float(values.iloc[1])
    text += f" and wins, {margin(second)} ahead of `{runner_up}` ({second:,.4g})."
    if abs(second - best) <= 0.01 * max(abs(second), 1e-12):
        text += (
            " A margin this small is within what another seed or split could change: "
            "prefer the simpler or cheaper model if it matters."
        )
    if baseline in values.index and baseline != winner:
        base = float(values[baseline])
        text += f" Against the `{baseline}` ({base:,.4g}) the winner is {margin(base)} better: " + (
            "the extra complexity earns its keep."
            if abs(base - best) > 0.05 * max(abs(base), 1e-12)
            else "a modest gain, to weigh against the cost of the more complex model."
        )
    elif baseline == winner:
        text += f" The `{baseline}` wins: the trees do not earn their complexity on this data."
    return text


def fit_reference_model(
    train: pd.DataFrame, product: products.DataProduct, *, seed: int = 0
) -> Any:
    """A small in-process XGBoost on one-hot raw features, returning ``predict(frame)``: what
    model quality compares with the encoded labels (:func:`encode_labels`): the score
    (regression), the positive class's probability (binary) or the class index (multiclass);
    the same rows and ``seed`` give the same model.

    For notebooks that need predictions without a deployed model (the drift notebook run on
    its own); production scoring goes through the registered model and its preprocessor.
    """
    import xgboost as xgb

    check_seed(seed)
    columns = list(product.features)
    missing = [c for c in (*columns, product.target) if c not in train.columns]
    if missing:
        raise MLAccelInputError(
            f"train lacks the columns {missing} of {product.name!r}; pass rows of its table "
            f"(mlaccel.data.read_table(database, {product.name!r}, connection=conn))"
        )
    rows = train[train[product.target].notna()]
    encoded = _reference_features(rows[columns])
    params: dict[str, Any] = {
        "objective": objective_for(product).xgboost_objective,
        "max_depth": 5,
        "eta": 0.2,
        "nthread": 2,
        "seed": seed,
    }
    if product.problem_type == "multiclass":
        params["num_class"] = len(product.classes)
    booster = xgb.train(
        params, xgb.DMatrix(encoded, encode_labels(rows[product.target], product)), 80
    )

    def predict(frame: pd.DataFrame) -> Any:
        features = _reference_features(frame[columns]).reindex(
            columns=encoded.columns, fill_value=0.0
        )
        answers = booster.predict(xgb.DMatrix(features))
        return answers.argmax(axis=1) if product.problem_type == "multiclass" else answers

    return predict


def _reference_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers (text that is no number as missing), the rest one-hot."""
    import pandas as pd

    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.astype("int64").astype("float64")
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.notna().mean() >= products.PARSE_SHARE:
                out[column] = numbers
            else:
                dummies = pd.get_dummies(values.astype("string"), prefix=column, dtype=float)
                out.update({str(c): dummies[c] for c in dummies.columns})
    return pd.DataFrame(out, index=frame.index)


def objective_score(product: products.DataProduct, labels: Any, predictions: Any) -> float:
    """The product's test metric (:attr:`Objective.test_metric`) of ``predictions`` against
    encoded labels (:func:`encode_labels`): RMSE, AUC of the positive class's probability, or
    the log loss of the class probabilities.

    Examples
    --------
    >>> p = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("no", "yes"))
    >>> objective_score(p, [0, 1, 1], [0.2, 0.9, 0.6])
    1.0
    """
    import numpy as np
    import pandas as pd

    y = np.asarray(labels, dtype="float64")
    answers = np.asarray(predictions, dtype="float64")
    if product.problem_type == "regression":
        return float(np.sqrt(np.mean((answers - y) ** 2)))
    if product.problem_type == "binary":
        ranks = pd.Series(answers).rank().to_numpy()
        positive = y == 1
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if not n_pos or not n_neg:
            raise MLAccelInputError("AUC needs labels of both classes among the rows scored")
        return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    if answers.ndim != 2 or answers.shape[1] != len(product.classes):
        raise MLAccelInputError(
            f"a multiclass model answers {len(product.classes)} probabilities per record; "
            f"got an array of shape {answers.shape}"
        )
    picked = answers[np.arange(len(y)), y.astype(int)]
    return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))


def quality_metrics(product: products.DataProduct, labels: Any, answers: Any) -> dict[str, Any]:
    """Model Monitor's model-quality statistics of a model's ``answers`` (as
    :func:`fit_reference_model`'s ``predict`` gives them) against encoded labels
    (:func:`encode_labels`): values, the positive class's probability, or class indices."""
    from mlaccel import monitor

    problem = product.monitor_problem_type
    if product.problem_type == "binary":
        return monitor.model_quality_metrics(labels, problem_type=problem, y_prob=answers)
    return monitor.model_quality_metrics(labels, answers, problem_type=problem)


def encode_labels(values: pd.Series, product: products.DataProduct) -> pd.Series:
    """Target values as a model learns them: numbers (regression), 1 for the positive class
    (binary), the class's index (multiclass). Values outside the classes are refused.

    Examples
    --------
    >>> import pandas as pd
    >>> p = products.DataProduct("p", "y", "binary", "id", ("x",), classes=("no", "yes"))
    >>> encode_labels(pd.Series(["yes", "no"]), p).tolist()
    [1.0, 0.0]
    """
    if product.problem_type == "regression":
        return values.astype("float64")
    texts = values.map(products.label_text)
    unknown = sorted(set(texts) - set(product.classes))
    if unknown:
        raise MLAccelInputError(
            f"{product.target} has values {unknown[:5]} outside the classes "
            f"{list(product.classes)} of {product.name!r}: register the product again"
        )
    index = {label: float(i) for i, label in enumerate(product.classes)}
    return texts.map(index).astype("float64")
