"""The model registry: register a trained model with its metrics, approve it, find it; and a
quick registered model for notebooks run on their own (:func:`register_quick_model`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from mlaccel import config
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.literals import ModelApprovalStatusType

    from mlaccel import products
    from mlaccel._connect import Connection
    from mlaccel.training import TrainedModel

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


def group_name(product_name: str) -> str:
    """The model package group of a data product, e.g. ``mlaccel-used-cars``.

    Examples
    --------
    >>> group_name("used_cars")
    'mlaccel-used-cars'
    """
    return f"mlaccel-{product_name.replace('_', '-')}"


def ensure_group(name: str, *, connection: Connection, description: str = "") -> str:
    """Create the model package group once; return its ARN."""
    client = connection.client("sagemaker")
    try:
        return str(
            client.describe_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"]
        )
    except client.exceptions.ClientError:
        created = client.create_model_package_group(
            ModelPackageGroupName=name,
            ModelPackageGroupDescription=description or f"models of {name}",
        )
        return str(created["ModelPackageGroupArn"])


def register_model(
    model: TrainedModel,
    *,
    group: str,
    connection: Connection,
    approval_status: str = "PendingManualApproval",
    description: str = "",
    instance_type: str | None = None,
) -> str:
    """Register ``model`` (with its evaluation report as model metrics); return the package ARN.

    The package declares ``instance_type`` (default
    :func:`mlaccel.config.default_instance_type`) for endpoints and batch transform.

    Examples
    --------
    >>> arn = register_model(best, group="mlaccel-used-cars", connection=conn)  # doctest: +SKIP
    """
    if approval_status not in APPROVAL_STATUSES:
        raise MLAccelInputError(
            f"approval_status={approval_status!r} must be one of {', '.join(APPROVAL_STATUSES)}"
        )
    instance_types = [instance_type or config.default_instance_type()]
    ensure_group(group, connection=connection)
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": description or f"{model.label} from {model.job_name}",
        "ModelApprovalStatus": approval_status,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": model.image_uri,
                    "ModelDataUrl": model.model_data,
                    "Environment": dict(model.environment),
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
            "SupportedRealtimeInferenceInstanceTypes": instance_types,
            "SupportedTransformInstanceTypes": instance_types,
        },
        "CustomerMetadataProperties": {"training_job": model.job_name, "label": model.label},
    }
    if model.evaluation.get("s3_uri"):
        request["ModelMetrics"] = {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": model.evaluation["s3_uri"],
                }
            }
        }
    response = connection.client("sagemaker").create_model_package(**request)
    return str(response["ModelPackageArn"])


def set_approval(package_arn: str, status: str, *, connection: Connection, note: str = "") -> None:
    """Approve or reject a model package (what a reviewer does after reading its metrics)."""
    if status not in APPROVAL_STATUSES:
        raise MLAccelInputError(f"status={status!r} must be one of {', '.join(APPROVAL_STATUSES)}")
    connection.client("sagemaker").update_model_package(
        ModelPackageArn=package_arn,
        ModelApprovalStatus=cast("ModelApprovalStatusType", status),  # checked above
        ApprovalDescription=note or f"set to {status}",
    )


def list_versions(group: str, *, connection: Connection) -> Any:
    """The group's model packages as a table: version, status, created, ARN."""
    import pandas as pd

    client = connection.client("sagemaker")
    rows = [
        {
            "version": s.get("ModelPackageVersion"),
            "status": s.get("ModelApprovalStatus"),
            "created": s.get("CreationTime"),
            "arn": s["ModelPackageArn"],
        }
        for page in client.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group
        )
        for s in page["ModelPackageSummaryList"]
    ]
    return pd.DataFrame(rows, columns=["version", "status", "created", "arn"]).sort_values(
        "version"
    )


QUICK_ROUNDS = 50
"""Boosting rounds of :func:`register_quick_model`: enough for a model that serves."""


def register_quick_model(
    product: products.DataProduct,
    *,
    connection: Connection,
    group: str = "",
    database: str | None = None,
    seed: int = 0,
    description: str = "quick model",
) -> str:
    """Train the built-in XGBoost briefly (``QUICK_ROUNDS`` rounds) on notebook 02's features,
    building them first when absent, and register it in ``group`` (empty: the product's model
    package group), pending approval, as notebook 03 would; return the package ARN.

    Notebooks that serve or judge the registry's model call it when run on their own
    (``train_if_missing``), so they work before notebook 03 has run. ``database`` (None:
    :data:`mlaccel.data.DEFAULT_DATABASE`) is where a missing feature job writes.
    """
    from mlaccel import data, features, training

    feature_set = features.existing_feature_set(product, connection=connection)
    if feature_set is None:
        feature_set = features.run_feature_job(
            product,
            connection=connection,
            database=data.DEFAULT_DATABASE if database is None else database,
            seed=seed,
        )
    model = training.train_builtin_xgboost(
        feature_set, connection=connection, hyperparameters={"num_round": QUICK_ROUNDS}, seed=seed
    )
    return register_model(
        model,
        group=group or group_name(product.name),
        connection=connection,
        description=description,
    )
