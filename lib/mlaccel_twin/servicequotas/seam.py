"""Seam: SageMaker's instance quotas in Service Quotas.

moto 5.2.5 knows the default quotas of one service (VPC) and has no ``ListServiceQuotas``. This
seam answers ``ListServiceQuotas`` and ``ListAWSDefaultServiceQuotas`` for ``sagemaker`` with the
twin's instance quotas (:mod:`mlaccel_twin.servicequotas.quotas`); other services answer as moto
does (``ListServiceQuotas`` with their default values, which the twin never changes).

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import add, fail_if_broken, missing_attributes, replace
from mlaccel_twin.servicequotas.quotas import SERVICE_CODE, sagemaker_quotas


def install(runtime: TwinRuntime) -> None:
    """Answer SageMaker's instance quotas."""
    from moto.servicequotas.models import ServiceQuotasBackend
    from moto.servicequotas.responses import ServiceQuotasResponse

    check_seams()
    replace(ServiceQuotasBackend, "list_aws_default_service_quotas", _list_default_quotas)
    add(ServiceQuotasResponse, "list_service_quotas", _list_service_quotas)


def check_seams() -> None:
    """Fail loudly when moto's Service Quotas backend changed."""
    from moto.servicequotas.models import ServiceQuotasBackend
    from moto.servicequotas.responses import ServiceQuotasResponse

    problems = missing_attributes(
        [
            (ServiceQuotasBackend, "list_aws_default_service_quotas"),
            (ServiceQuotasResponse, "backend"),
        ]
    )
    own = getattr(ServiceQuotasResponse, "list_service_quotas", None)
    if own is not None and not getattr(own, "_mlaccel_seam", False):
        problems.append("moto now implements service-quotas list_service_quotas; review")
    fail_if_broken("servicequotas", problems)


def _list_default_quotas(
    original: Callable[..., list[dict[str, Any]]],
) -> Callable[..., list[dict[str, Any]]]:
    def list_aws_default_service_quotas(self: Any, service_code: str) -> list[dict[str, Any]]:
        if service_code == SERVICE_CODE:
            return sagemaker_quotas(self.region_name, self.account_id, self.partition)
        return original(self, service_code)

    return list_aws_default_service_quotas


def _list_service_quotas(self: Any) -> str:
    # The twin never changes a quota, so the applied values are the default ones.
    service_code = str(json.loads(self.body).get("ServiceCode"))
    return json.dumps({"Quotas": self.backend.list_aws_default_service_quotas(service_code)})
