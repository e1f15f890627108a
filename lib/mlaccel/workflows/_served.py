"""The model whose traffic is judged: the one in production, served with data capture on.

Drift and model quality are only worth reading for the model that answers callers. That is the
training pipeline's model (the one its last successful run exported to SSM), judged against the
model-quality baseline the pipeline wrote for it. Before any pipeline run, it is the model
registry's latest approved version (notebook 03's), judged against its own answers on the
validation split, measured here and written in Model Monitor's format beside the pipeline's.

Either way the model answers through a real endpoint with data capture on, so the current data
and its answers are read back from the capture exactly as a monitoring schedule reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mlaccel import inference, products, registry, training
from mlaccel._aws import describe_endpoint, is_missing
from mlaccel._s3 import parse_path
from mlaccel.errors import MLAccelError
from mlaccel.features import FEATURES_PREFIX
from mlaccel.workflows._settings import PipelinePlaces, dashed

if TYPE_CHECKING:
    from mlaccel._connect import Connection


@dataclass(frozen=True)
class ServedModel:
    """A model serving behind an endpoint with capture, and where its traffic is judged.

    Attributes
    ----------
    places
        Its endpoint, capture, ground truth and model-quality baseline
        (:class:`PipelinePlaces`): the pipeline's own, or those of the registry's model.
    source
        ``training pipeline`` or ``model registry``.
    model
        The pipeline's model name, or the model package ARN.
    label
        How to name it to people: the model name, or ``<group> version <n>``.
    deployed
        True when this call deployed it: delete the endpoint when done
        (:func:`stop_serving`); False when the endpoint was already in service.
    """

    places: PipelinePlaces
    source: str
    model: str
    label: str
    deployed: bool

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.label,
            "from": self.source,
            "endpoint": self.places.endpoint_name,
            "deployed now": self.deployed,
            "model-quality baseline": self.places.model_quality_baseline_uri,
        }


def model_name_parameter(product_name: str) -> str:
    """The SSM parameter the training pipeline exports its deployed model's name to."""
    return f"/mlaccel/{dashed(product_name)}/model-name"


def serve_monitored_model(
    product: products.DataProduct,
    places: PipelinePlaces,
    *,
    train_if_missing: bool = False,
    seed: int = 0,
    connection: Connection,
) -> ServedModel:
    """Make sure the model in production answers behind an endpoint with capture; see the module
    docstring for which model that is.

    The pipeline's endpoint is used as it is when in service; else the pipeline's exported model
    is served on it again (its cleanup keeps that model). With no pipeline model, the registry's
    latest approved version is served on ``<pipeline endpoint>-registered`` and its
    model-quality baseline is measured through that endpoint on the validation split of the
    features it was trained on (notebook 02's). With neither, ``train_if_missing`` registers a
    quick model first (:func:`mlaccel.registry.register_quick_model`, seeded by ``seed``), as
    for a notebook run on its own.

    Raises
    ------
    MLAccelError
        Neither a pipeline model nor a registered model exists, and ``train_if_missing`` is
        off: run notebook 03 or 04 first.
    """
    client = connection.client("sagemaker")
    pipeline_model = _pipeline_model(product.name, connection)
    if pipeline_model is not None:
        served = describe_endpoint(client, places.endpoint_name)
        if served is not None and served["EndpointStatus"] == "InService":
            name = pipeline_model["ModelName"]
            return ServedModel(places, "training pipeline", name, name, deployed=False)
        container = pipeline_model["PrimaryContainer"]
        inference.deploy_model(
            places.endpoint_name,
            model_data=container["ModelDataUrl"],
            image_uri=container["Image"],
            environment=container.get("Environment") or None,
            capture_uri=places.capture_uri,
            connection=connection,
        )
        name = pipeline_model["ModelName"]
        return ServedModel(places, "training pipeline", name, name, deployed=True)
    group = registry.group_name(product.name)
    try:
        package = inference.latest_model_package(group, connection=connection)
    except inference.ModelPackageNotFound:
        if not train_if_missing:
            raise MLAccelError(
                f"no model of {product.name!r} to judge: neither the training pipeline (notebook "
                "04) nor the model registry (notebook 03) holds one; run either first, or pass "
                "train_if_missing=True"
            ) from None
        registry.register_quick_model(
            product, connection=connection, seed=seed, description="quick model (06)"
        )
        package = inference.latest_model_package(group, connection=connection)
    own = registered_places(places, connection.s3_uri(FEATURES_PREFIX, product.name))
    _validation_split(product, own, connection)  # refused before anything is deployed
    served = describe_endpoint(client, own.endpoint_name)
    deployed = served is None or served["EndpointStatus"] != "InService"
    if deployed:
        inference.deploy_model(
            own.endpoint_name,
            model_package=package,
            capture_uri=own.capture_uri,
            connection=connection,
        )
    _write_validation_baseline(product, own, connection)
    label = f"{package.group} version {package.version}"
    return ServedModel(own, "model registry", package.arn, label, deployed=deployed)


def registered_places(places: PipelinePlaces, features_prefix: str) -> PipelinePlaces:
    """The places of the registry's model: its own endpoint, ground truth and baseline beside
    the pipeline's, so its traffic never mixes with the pipeline model's, and the features it
    was trained on (``features_prefix``).

    Examples
    --------
    >>> pipeline = PipelinePlaces(
    ...     "mlaccel-houses-pipeline", "s3://b/p/capture", "s3://b/p/ground-truth/mlaccel-houses-pipeline/",
    ...     "s3://b/p/features", "s3://b/p/baselines/model-quality")
    >>> own = registered_places(pipeline, "s3://b/features/houses")
    >>> own.endpoint_name, own.ground_truth_uri
    ('mlaccel-houses-pipeline-registered', 's3://b/p/ground-truth/mlaccel-houses-pipeline-registered/')
    >>> own.model_quality_baseline_uri, own.features_prefix
    ('s3://b/p/baselines/model-quality-registered', 's3://b/features/houses')
    """
    endpoint = f"{places.endpoint_name}-registered"
    root = places.ground_truth_uri.rstrip("/").rsplit("/", 1)[0]
    return replace(
        places,
        endpoint_name=endpoint,
        ground_truth_uri=f"{root}/{endpoint}/",
        model_quality_baseline_uri=f"{places.model_quality_baseline_uri}-registered",
        features_prefix=features_prefix,
    )


def stop_serving(served: ServedModel, *, connection: Connection) -> list[str]:
    """Delete what :func:`serve_monitored_model` deployed (nothing when it found the endpoint
    in service); the pipeline's own model stays, as SSM names it."""
    if not served.deployed:
        return []
    keep = [served.model] if served.source == "training pipeline" else []
    return inference.delete_endpoint(
        served.places.endpoint_name, keep_models=keep, connection=connection
    )


def _pipeline_model(product_name: str, connection: Connection) -> dict[str, Any] | None:
    """``DescribeModel`` of the model the pipeline last exported, or None before any run."""
    ssm = connection.client("ssm")
    try:
        name = ssm.get_parameter(Name=model_name_parameter(product_name))["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    try:
        return dict(connection.client("sagemaker").describe_model(ModelName=name))
    except Exception as exc:
        if is_missing(exc):  # deleted since: the registry's model stands in
            return None
        raise


def _validation_split(
    product: products.DataProduct, places: PipelinePlaces, connection: Connection
) -> str:
    """The validation split of the features the registry's model was trained on."""
    validation = f"{places.features_prefix}/validation/"
    bucket, key = parse_path(validation, name="features_prefix")
    if (
        not connection.client("s3")
        .list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        .get("KeyCount")
    ):
        raise MLAccelError(
            f"the registered model's features are not at {validation}: run notebook 02 for "
            f"{product.name!r} (the features notebook 03 trains on), then this again"
        )
    return validation


def _write_validation_baseline(
    product: products.DataProduct, places: PipelinePlaces, connection: Connection
) -> None:
    """The served model's quality on the validation split, as the pipeline's model-quality
    baseline job writes it: ``statistics.json`` and ``constraints.json``."""
    import numpy as np

    from mlaccel import monitor

    rows = inference.read_labeled_rows(
        _validation_split(product, places, connection), connection=connection
    )
    answers = np.asarray(
        inference.predict(places.endpoint_name, rows.features, connection=connection), dtype=float
    )
    answers = answers.reshape(len(rows.features), -1)
    statistics = training.quality_metrics(product, rows.labels.to_numpy(), answers)
    constraints = monitor.suggest_model_quality_constraints(statistics)
    s3 = connection.client("s3")
    for name, body in (("statistics.json", statistics), ("constraints.json", constraints)):
        bucket, key = parse_path(f"{places.model_quality_baseline_uri}/{name}")
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body, indent=2).encode())
