"""SageMaker's instance quotas for the kit's instance type, and the images of the region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlaccel import config
from mlaccel.doctor._check import Check, error_reason, failed, not_run, passed
from mlaccel.errors import MLAccelInputError

if TYPE_CHECKING:
    from mlaccel._connect import Connection

# The kit runs jobs of these kinds, and its endpoints, on the default instance type.
QUOTA_USAGES = (
    "training job usage",
    "processing job usage",
    "endpoint usage",
    "transform job usage",
)


def check_quotas(connection: Connection) -> Check:
    """The SageMaker quotas of the kit's instance type, for each kind of job and endpoints."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = "instance quotas"
    try:
        instance_type = config.default_instance_type()
    except MLAccelInputError as exc:
        return failed(name, str(exc), "set MLACCEL_INSTANCE_TYPE to a type such as ml.m5.large")
    wanted = [f"{instance_type} for {usage}" for usage in QUOTA_USAGES]
    client = connection.client("service-quotas")
    try:
        found = _quota_values(client, "list_service_quotas", wanted)
        if len(found) < len(wanted):  # not changed from AWS's default: listed there
            found = {**_quota_values(client, "list_aws_default_service_quotas", wanted), **found}
    except ClientError as exc:
        needed = "servicequotas:ListServiceQuotas and servicequotas:ListAWSDefaultServiceQuotas"
        return not_run(name, f"cannot read SageMaker's quotas: {error_reason(exc, needed)}")
    except BotoCoreError as exc:
        return not_run(name, f"cannot read SageMaker's quotas: {exc}")
    zero = [quota for quota in wanted if quota in found and found[quota] < 1]
    if zero:
        fix = (
            "request a quota increase (Service Quotas console, Amazon SageMaker: "
            f"{', '.join(zero)}), or set MLACCEL_INSTANCE_TYPE to a type with quota"
        )
        return failed(name, f"{', '.join(zero)}: 0 instances", fix)
    unlisted = [quota for quota in wanted if quota not in found]
    if unlisted:
        return not_run(name, f"no quota listed for {', '.join(unlisted)}")
    values = ", ".join(
        f"{usage.split(' usage')[0]} {found[q]:g}"
        for usage, q in zip(QUOTA_USAGES, wanted, strict=True)
    )
    return passed(name, f"{instance_type}: {values}")


def _quota_values(client: Any, operation: str, wanted: list[str]) -> dict[str, float]:
    pages = client.get_paginator(operation).paginate(ServiceCode="sagemaker")
    return {
        str(quota["QuotaName"]): float(quota["Value"])
        for page in pages
        for quota in page["Quotas"]
        if quota["QuotaName"] in wanted
    }


def check_images(region: str | None) -> Check:
    """The kit's container images exist for the region (the SDK's bundled tables, offline)."""
    from mlaccel import features, training
    from mlaccel._sagemaker import _import_sagemaker

    name = "images"
    # By (framework, version): the kit's SKLearn jobs share one version today.
    images = {
        ("xgboost", training.XGBOOST_VERSION): f"built-in XGBoost {training.XGBOOST_VERSION}",
        ("sklearn", training.SKLEARN_VERSION): f"SKLearn {training.SKLEARN_VERSION}",
        ("sklearn", features.SKLEARN_VERSION): f"SKLearn {features.SKLEARN_VERSION}",
        ("model-monitor", None): "Model Monitor",
    }
    if region is None:
        return not_run(name, "needs a region where SageMaker is offered (see region)")
    image_uris = _import_sagemaker().image_uris
    missing = []
    for (framework, version), label in images.items():
        try:
            image_uris.retrieve(framework, region, version)
        except ValueError:
            missing.append(label)
    if missing:
        fix = "use a region that has them, or pass your own image URIs to the accelerators"
        return failed(name, f"not published for {region}: {', '.join(missing)}", fix)
    return passed(name, f"{', '.join(images.values())} published for {region}")
