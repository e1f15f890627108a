"""What a workflow definition is built from: :class:`WorkflowSettings` and its defaults."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlaccel import config, features, products, training
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

#: The Lambda functions the workflows call, by handler in ``seedcode/lambdas/workflow``.
FUNCTIONS = {
    "training_results": "mlaccel-training-results",
    "compare_with_best": "mlaccel-compare-with-best",
    "endpoint_status": "mlaccel-endpoint-status",
    "latest_model": "mlaccel-latest-model",
    "consolidate_capture": "mlaccel-consolidate-capture",
    "evaluate_violations": "mlaccel-evaluate-violations",
    "quality_report": "mlaccel-quality-report",
    "add_predicted_class": "mlaccel-add-predicted-class",
}
#: The module of ``seedcode/lambdas/workflow`` that holds the handlers.
HANDLERS = "handlers"
#: The Wait state between endpoint checks at AWS's pace, as exported definitions use it.
AWS_ENDPOINT_WAIT_SECONDS = config.wait_policy("aws").workflow_endpoint_wait_seconds


def dashed(name: str) -> str:
    """A product name as AWS resource names spell it: ``used_cars`` → ``used-cars``."""
    return name.replace("_", "-")


@dataclass(frozen=True)
class WorkflowSettings:
    """Everything a workflow definition is built from; see :func:`workflow_settings`.

    Instance types default to :func:`mlaccel.config.default_instance_type` when the settings
    are made, so ``MLACCEL_INSTANCE_TYPE`` changes them.
    """

    product: products.DataProduct
    region: str
    bucket: str
    role_arn: str  # the SageMaker execution role jobs run as
    workflow_role_arn: str  # the role Step Functions runs as
    topic_arn: str
    prefix: str
    endpoint_name: str
    metric_threshold: float
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    processing_instance_type: str = field(default_factory=config.default_instance_type)
    training_instance_type: str = field(default_factory=config.default_instance_type)
    transform_instance_type: str = field(default_factory=config.default_instance_type)
    endpoint_instance_type: str = field(default_factory=config.default_instance_type)
    capture_percentage: int = 100
    endpoint_wait_seconds: int = AWS_ENDPOINT_WAIT_SECONDS
    parameter_path: str = ""
    seed: int = 0  # the training split's and XGBoost's seed: the same data trains the same model
    # share of a column's values that may be unusable (text in a number column) before a
    # preprocessing job fails; below it they are counted and reported in the notifications
    max_invalid_fraction: float = features.MAX_INVALID_FRACTION

    @property
    def objective(self) -> training.Objective:
        """The product's training objective (metric and direction)."""
        return training.objective_for(self.product)

    def uri(self, *parts: str) -> str:
        """``s3://<bucket>/<prefix>/<parts...>``: every object a workflow reads or writes."""
        return "/".join([f"s3://{self.bucket}/{self.prefix}", *parts])

    @property
    def training_data_uri(self) -> str:
        """The training pipeline reads this prefix; new data landing here starts it."""
        return self.uri("training-data")

    @property
    def scoring_batches_uri(self) -> str:
        """New scoring batches land here; each one starts the scoring pipeline."""
        return self.uri("scoring-batches")

    @property
    def training_name(self) -> str:
        """The training state machine's name."""
        return f"mlaccel-{dashed(self.product.name)}-training"

    @property
    def scoring_name(self) -> str:
        """The batch scoring state machine's name."""
        return f"mlaccel-{dashed(self.product.name)}-batch-scoring"

    @property
    def monitoring_name(self) -> str:
        """The monitoring state machine's name."""
        return f"mlaccel-{dashed(self.product.name)}-monitoring"

    @property
    def capture_uri(self) -> str:
        """Where the pipeline endpoint's capture files land (one folder per endpoint)."""
        return self.uri("capture", self.endpoint_name) + "/"

    @property
    def ground_truth_uri(self) -> str:
        """Where labels for captured requests arrive (Model Monitor's ground-truth layout)."""
        return self.uri("ground-truth", self.endpoint_name) + "/"

    @property
    def results_uri(self) -> str:
        """The monitoring results table's folder: one JSON line per violation."""
        return self.uri("monitoring", "results") + "/"

    @property
    def group(self) -> str:
        """The model package group the product's models are registered in."""
        from mlaccel import registry

        return registry.group_name(self.product.name)

    def images(self) -> dict[str, str]:
        """Container images by role, for this region."""
        return images(self.region)


def images(region: str) -> dict[str, str]:
    """The XGBoost, SKLearn and Model Monitor image URIs of ``region``, by CloudFormation
    parameter name (``XgboostImage``...)."""
    return dict(_image_pairs(region))


@functools.lru_cache(maxsize=8)
def _image_pairs(region: str) -> tuple[tuple[str, str], ...]:
    # Cached: the SDK reads its image tables from disk on every call.
    from sagemaker import image_uris

    return tuple(
        {
            "XgboostImage": str(image_uris.retrieve("xgboost", region, training.XGBOOST_VERSION)),
            "SklearnImage": str(image_uris.retrieve("sklearn", region, features.SKLEARN_VERSION)),
            "ModelMonitorImage": str(image_uris.retrieve("model-monitor", region)),
        }.items()
    )


def metric_threshold_for(product: products.DataProduct, value: float | None) -> float:
    """``value`` checked to be a number, or the product's default bar: a model must beat
    guessing. For regression, RMSE below the target's standard deviation (what always predicting
    the mean scores); for binary, AUC of at least 0.6; for multiclass, log loss below that of
    guessing every class alike.

    Examples
    --------
    >>> houses = products.DataProduct("h", "price", "regression", "id", ("x",), target_std=900.0)
    >>> metric_threshold_for(houses, None), metric_threshold_for(houses, 800)
    (900.0, 800.0)
    """
    if value is None:
        return default_metric_threshold(product)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MLAccelInputError(
            f"metric_threshold={value!r} must be a number (the metric's bar), e.g. 0.75"
        )
    return float(value)


def default_metric_threshold(product: products.DataProduct) -> float:
    """The bar a model of ``product`` must pass to be deployed (:func:`metric_threshold_for`)."""
    import math

    if product.problem_type == "regression":
        if not product.target_std > 0:
            raise MLAccelInputError(
                f"data product {product.name!r} has no target spread in its contract; register "
                "it again, or give metric_threshold (the RMSE a model must stay under)"
            )
        return round(product.target_std, 6)
    if product.problem_type == "binary":
        return 0.6
    return round(math.log(len(product.classes)), 6)


def default_prefix(product_name: str) -> str:
    """The key prefix under which a product's workflows read and write."""
    return f"pipelines/{product_name}"


def notification_topic_name(product_name: str) -> str:
    """The SNS topic a product's pipelines notify: one per product, so two teams' (or two
    runs') messages never mix.

    Examples
    --------
    >>> notification_topic_name("used_cars")
    'mlaccel-used-cars-pipelines'
    """
    return f"mlaccel-{dashed(product_name)}-pipelines"


def default_endpoint_name(product_name: str) -> str:
    """The endpoint the training pipeline deploys a product's model to."""
    return f"mlaccel-{dashed(product_name)}-pipeline"


@dataclass(frozen=True)
class PipelinePlaces:
    """Where a product's pipelines keep what others read: the endpoint and its capture, the
    ground truth sent for it, the features the pipeline trained on, and the deployed model's
    model-quality baseline (its ``constraints.json`` and ``statistics.json``)."""

    endpoint_name: str
    capture_uri: str
    ground_truth_uri: str
    features_prefix: str
    model_quality_baseline_uri: str


def pipeline_places(product_name: str, *, connection: Connection) -> PipelinePlaces:
    """The places of :class:`PipelinePlaces` for ``product_name`` with the default settings.

    Examples
    --------
    >>> pipeline_places("used_cars", connection=conn).endpoint_name  # doctest: +SKIP
    'mlaccel-used-cars-pipeline'
    """
    prefix = connection.s3_uri(default_prefix(product_name))
    endpoint = default_endpoint_name(product_name)
    return PipelinePlaces(
        endpoint_name=endpoint,
        capture_uri=f"{prefix}/capture",
        ground_truth_uri=f"{prefix}/ground-truth/{endpoint}/",
        features_prefix=f"{prefix}/features",
        model_quality_baseline_uri=f"{prefix}/baselines/model-quality",
    )


def workflow_settings(
    product: products.DataProduct,
    *,
    connection: Connection,
    topic_arn: str,
    metric_threshold: float | None = None,
    **overrides: Any,
) -> WorkflowSettings:
    """Settings for ``product`` on ``connection``, with defaults that suit the product.

    Parameters
    ----------
    product
        The data product's contract (:func:`mlaccel.data.load_product`).
    connection
        Where the workflows run: its region, bucket, execution role and wait policy.
    topic_arn
        The SNS topic the workflows notify.
    metric_threshold
        The objective's bar (RMSE or log loss at most, or AUC at least); by default a model
        must beat guessing (:func:`default_metric_threshold`).
    **overrides
        Any other :class:`WorkflowSettings` field.

    Returns
    -------
    WorkflowSettings
        The settings every builder, export and run of the product's workflows reads.

    Examples
    --------
    >>> topic = mlaccel.notify.ensure_topic(  # doctest: +SKIP
    ...     notification_topic_name(product.name), connection=conn
    ... )
    >>> settings = workflow_settings(  # doctest: +SKIP
    ...     data.load_product("used_cars", connection=conn), connection=conn, topic_arn=topic
    ... )
    >>> settings.training_name  # doctest: +SKIP
    'mlaccel-used-cars-training'
    """
    if not str(topic_arn).startswith("arn:"):
        raise MLAccelInputError(
            f"topic_arn={topic_arn!r} is not an SNS topic ARN; pass the ARN "
            "mlaccel.notify.ensure_topic returns"
        )
    if "seed" in overrides:
        training.check_seed(overrides["seed"])
    if "max_invalid_fraction" in overrides:
        features.check_fraction(overrides["max_invalid_fraction"])
    unknown = set(overrides) - set(WorkflowSettings.__dataclass_fields__)
    if unknown:
        raise MLAccelInputError(
            f"unknown workflow settings {sorted(unknown)}; valid ones are "
            f"{sorted(WorkflowSettings.__dataclass_fields__)}"
        )
    settings = WorkflowSettings(
        product=product,
        region=connection.region,
        bucket=connection.bucket,
        role_arn=connection.role_arn,
        workflow_role_arn=connection.role_arn,
        topic_arn=topic_arn,
        prefix=default_prefix(product.name),
        endpoint_name=default_endpoint_name(product.name),
        metric_threshold=metric_threshold_for(product, metric_threshold),
        hyperparameters={**training.default_hyperparameters(product), "num_round": 100},
        endpoint_wait_seconds=connection.wait.workflow_endpoint_wait_seconds,
        parameter_path=f"/mlaccel/{dashed(product.name)}",
    )
    settings = replace(settings, **overrides)
    # XGBoost's seed follows the settings' unless the hyperparameters set their own
    return replace(settings, hyperparameters={"seed": settings.seed, **settings.hyperparameters})


def code_uri(settings: WorkflowSettings, script: str) -> str:
    """Where :func:`stage_code` puts a seedcode script (``processing/preprocess.py``).

    Examples
    --------
    >>> code_uri(settings, "processing/preprocess.py")  # doctest: +SKIP
    's3://mlaccel-local/pipelines/used_cars/code/processing/preprocess.py'
    """
    return settings.uri("code", script)
