"""The container a SageMaker model runs, as the twin's endpoint and transform seams need it.

A model created from a registered model package names the package
(``{"ModelPackageName": arn}``) instead of an image and an artifact; SageMaker resolves it to
the package's ``InferenceSpecification.Containers[0]``, and so does :func:`model_container`.
"""

from __future__ import annotations

from typing import Any

from mlaccel.errors import MLAccelError


def model_container(backend: Any, model: Any) -> dict[str, Any]:
    """The primary container of moto's ``model``, with a model package resolved to its own.

    The model's own ``Environment`` entries win over the package's, as on SageMaker.
    """
    containers = list(model.containers or [])
    container = dict(model.primary_container or (containers[0] if containers else {}))
    package = container.get("ModelPackageName")
    if not package or container.get("ModelDataUrl"):
        return container
    described = backend.describe_model_package(str(package))
    specification = described.inference_specification or {}
    package_containers = list(specification.get("Containers") or [])
    if not package_containers:
        raise MLAccelError(
            f"model package {package} has no InferenceSpecification.Containers; register it "
            "with the image and ModelDataUrl to serve"
        )
    resolved = dict(package_containers[0])
    resolved["Environment"] = {
        **(resolved.get("Environment") or {}),
        **(container.get("Environment") or {}),
    }
    return resolved
