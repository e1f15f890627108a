"""Service Quotas on the twin: SageMaker's instance quotas, as ListServiceQuotas lists them."""

from __future__ import annotations

import mlaccel
from mlaccel_twin.servicequotas.quotas import ACCELERATED_INSTANCE_TYPES, CPU_INSTANCE_QUOTA


def _listed(conn: mlaccel.Connection, operation: str, service: str) -> dict[str, float]:
    pages = conn.client("service-quotas").get_paginator(operation).paginate(ServiceCode=service)
    return {q["QuotaName"]: q["Value"] for page in pages for q in page["Quotas"]}


def test_sagemaker_lists_each_instance_type_per_usage(conn: mlaccel.Connection) -> None:
    quotas = _listed(conn, "list_service_quotas", "sagemaker")
    for usage in ("training job", "processing job", "endpoint", "transform job"):
        assert quotas[f"ml.m5.large for {usage} usage"] == CPU_INSTANCE_QUOTA
    accelerated = ACCELERATED_INSTANCE_TYPES[0]
    assert quotas[f"{accelerated} for training job usage"] == 0
    assert _listed(conn, "list_aws_default_service_quotas", "sagemaker") == quotas


def test_each_quota_has_the_fields_of_aws(conn: mlaccel.Connection) -> None:
    answer = conn.client("service-quotas").list_service_quotas(ServiceCode="sagemaker")
    quota = answer["Quotas"][0]
    assert quota["ServiceCode"] == "sagemaker"
    assert quota["QuotaCode"].startswith("L-") and len(quota["QuotaCode"]) == 10
    assert quota["QuotaArn"].endswith(f":sagemaker/{quota['QuotaCode']}")
    assert quota["Adjustable"] is True


def test_other_services_answer_as_moto_does(conn: mlaccel.Connection) -> None:
    assert _listed(conn, "list_service_quotas", "vpc")  # moto's default VPC quotas
