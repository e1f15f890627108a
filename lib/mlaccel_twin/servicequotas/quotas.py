"""The SageMaker instance quotas of the twin: how many instances of a type each usage may run.

AWS names each such quota ``<instance type> for <usage>`` (``ml.m5.large for training job
usage``). The twin runs every job and endpoint on this machine and limits no instance count, so
it reports :data:`CPU_INSTANCE_QUOTA` for the CPU types it lists. It has no accelerators, so
GPU, Inferentia and Trainium types report 0, as they often do on a new account until a quota
increase is granted.
"""

from __future__ import annotations

import hashlib
from typing import Any

SERVICE_CODE = "sagemaker"
SERVICE_NAME = "Amazon SageMaker"
USAGES = ("training job usage", "processing job usage", "endpoint usage", "transform job usage")
CPU_INSTANCE_QUOTA = 20.0
CPU_INSTANCE_TYPES = (
    "ml.t3.medium",
    "ml.t3.large",
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.m5.4xlarge",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.r5.large",
    "ml.r5.xlarge",
)
ACCELERATED_INSTANCE_TYPES = (
    "ml.g4dn.xlarge",
    "ml.g5.xlarge",
    "ml.p3.2xlarge",
    "ml.p4d.24xlarge",
    "ml.inf1.xlarge",
    "ml.trn1.2xlarge",
)


def sagemaker_quotas(region: str, account_id: str, partition: str = "aws") -> list[dict[str, Any]]:
    """Every SageMaker instance quota of the twin, as Service Quotas lists them.

    Examples
    --------
    >>> quotas = sagemaker_quotas("us-east-1", "123456789012")
    >>> [(q["QuotaName"], q["Value"]) for q in quotas][:1]
    [('ml.t3.medium for training job usage', 20.0)]
    """
    return [
        _quota(f"{instance_type} for {usage}", value, region, account_id, partition)
        for instance_type, value in _instance_values()
        for usage in USAGES
    ]


def _instance_values() -> list[tuple[str, float]]:
    return [(t, CPU_INSTANCE_QUOTA) for t in CPU_INSTANCE_TYPES] + [
        (t, 0.0) for t in ACCELERATED_INSTANCE_TYPES
    ]


def quota_code(name: str) -> str:
    """A stable code for a quota name (AWS's codes are opaque ``L-`` and 8 hex digits).

    Examples
    --------
    >>> quota_code("ml.m5.large for endpoint usage") == quota_code("ml.m5.large for endpoint usage")
    True
    """
    return "L-" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()


def _quota(name: str, value: float, region: str, account_id: str, partition: str) -> dict[str, Any]:
    code = quota_code(name)
    return {
        "ServiceCode": SERVICE_CODE,
        "ServiceName": SERVICE_NAME,
        "QuotaArn": f"arn:{partition}:servicequotas:{region}:{account_id}:{SERVICE_CODE}/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": value,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }
