"""Seam: model packages keep what an update does not change; ListModels filters as AWS does.

- UpdateModelPackage changes only the fields it is given: moto 5.2.5 replaced
  ``CustomerMetadataProperties``, the approval status and its description with whatever the
  request held, so approving a package erased its metadata (and a compare-with-best step
  found no model to compare with).
- ListModels takes ``NameContains``, ``CreationTimeBefore`` / ``After``, ``SortBy`` and
  ``SortOrder``; moto answered every model, whatever was asked.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when moto's SageMaker internals used here change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from mlaccel_twin._runtime import TwinRuntime
from mlaccel_twin._seam import fail_if_broken, missing_attributes, replace, signature_problems

_UPDATE_PARAMETERS = [
    "self",
    "model_package_arn",
    "model_approval_status",
    "approval_description",
    "customer_metadata_properties",
    "customer_metadata_properties_to_remove",
    "additional_inference_specifications_to_add",
]


def install(runtime: TwinRuntime) -> None:
    """Hook UpdateModelPackage and ListModels."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    check_seams()
    replace(SageMakerModelBackend, "update_model_package", _keeping_unchanged_fields)
    replace(SageMakerResponse, "list_models", _filtered_models)


def check_seams() -> None:
    """Fail loudly when moto's SageMaker internals no longer have what this seam uses."""
    from moto.sagemaker import models, responses

    problems = missing_attributes(
        [
            (models.ModelPackage, "set_model_approval_status"),
            (models.SageMakerModelBackend, "list_models"),
            (responses.SageMakerResponse, "list_models"),
        ]
    )
    problems += signature_problems(
        {"SageMakerModelBackend": models.SageMakerModelBackend},
        {"SageMakerModelBackend.update_model_package": _UPDATE_PARAMETERS},
    )
    fail_if_broken("model_registry", problems)


def merged_update(current: Mapping[str, Any], requested: Mapping[str, Any]) -> dict[str, Any]:
    """The package's fields after an update: what was asked for, the rest as it was.

    Examples
    --------
    >>> merged_update(
    ...     {"status": "PendingManualApproval", "description": None,
    ...      "metadata": {"auc": "0.91", "data": "v3"}},
    ...     {"status": "Approved", "description": None, "metadata": {"owner": "risk"}},
    ... )  # doctest: +NORMALIZE_WHITESPACE
    {'status': 'Approved', 'description': None,
     'metadata': {'auc': '0.91', 'data': 'v3', 'owner': 'risk'}}
    """
    return {
        "status": requested["status"] or current["status"],
        "description": (
            requested["description"]
            if requested["description"] is not None
            else current["description"]
        ),
        "metadata": {**(current["metadata"] or {}), **(requested["metadata"] or {})},
    }


def _keeping_unchanged_fields(original: Callable[..., str]) -> Callable[..., str]:
    def update_model_package(
        self: Any,
        model_package_arn: str,
        model_approval_status: str | None,
        approval_description: str | None,
        customer_metadata_properties: dict[str, str] | None,
        customer_metadata_properties_to_remove: list[str],
        additional_inference_specifications_to_add: list[Any] | None,
    ) -> str:
        name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(name)
        fields = {
            "status": model_approval_status,
            "description": approval_description,
            "metadata": customer_metadata_properties,
        }
        if package is not None:  # moto raises its own error for a missing one
            current = {
                "status": package.model_approval_status,
                "description": package.approval_description,
                "metadata": dict(package.customer_metadata_properties or {}),
            }
            fields = merged_update(current, fields)
        return original(
            self,
            model_package_arn,
            fields["status"],
            fields["description"],
            fields["metadata"],
            customer_metadata_properties_to_remove,
            additional_inference_specifications_to_add,
        )

    return update_model_package


def listed_models(models: Iterable[Any], request: Mapping[str, Any]) -> list[Any]:
    """The models ListModels answers: filtered by name and creation time, then sorted."""
    contains = str(request.get("NameContains") or "").lower()
    before = _timestamp(request.get("CreationTimeBefore"))
    after = _timestamp(request.get("CreationTimeAfter"))
    chosen = [
        model
        for model in models
        if contains in model.model_name.lower()
        and (before is None or _timestamp(model.creation_time) < before)  # type: ignore[operator]
        and (after is None or _timestamp(model.creation_time) > after)  # type: ignore[operator]
    ]
    if request.get("SortBy") == "Name":
        chosen.sort(key=lambda m: str(m.model_name))
    else:
        chosen.sort(key=lambda m: _timestamp(m.creation_time) or 0.0)
    if request.get("SortOrder", "Descending") == "Descending":
        chosen.reverse()
    return chosen


def _timestamp(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # moto keeps naive UTC times
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _filtered_models(original: Callable[..., Any]) -> Callable[..., Any]:
    def list_models(self: Any) -> Any:
        import json

        from moto.core.responses import ActionResult

        request = json.loads(self.body or "{}")
        models = listed_models(self.sagemaker_backend.list_models(), request)
        return ActionResult({"Models": [model.response_object for model in models]})

    return list_models
