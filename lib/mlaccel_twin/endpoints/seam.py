"""Seam: SageMaker endpoints really serve predictions on the twin.

moto records endpoints as ``InService`` at once, has no ``UpdateEndpoint``, and its
``InvokeEndpoint`` returns static data. This seam wires moto's control plane to
:class:`mlaccel_twin.endpoints.fleet.EndpointFleet`:

- ``CreateEndpoint`` → status ``Creating``; the fleet loads the models and starts their servers in
  the background; ``InService`` when they answer, or ``Failed`` with ``FailureReason``.
- ``UpdateEndpoint`` (added) → ``Updating``; the new config's servers start, routing switches at
  once, the old servers stop after their requests in flight. A failed update keeps the old
  deployment, back ``InService`` with ``FailureReason`` set, as SageMaker rolls back.
- ``DeleteEndpoint`` → the servers stop and data capture is flushed.
- A model created from a registered model package (``{"ModelPackageName": arn}``) serves the
  package's own container, as on SageMaker (the transform seam does the same).
- ``sagemaker-runtime InvokeEndpoint`` → forwarded to a variant's server; a model error comes back
  as ``ModelError`` (424), an unknown endpoint or variant as ``ValidationError`` (400).

Application Auto Scaling needs nothing here: moto 5.2.5 registers
``sagemaker:variant:DesiredInstanceCount`` targets and their policies as they are.

Written for moto 5.2.5 (``mlaccel_twin.seams.PINNED_VERSIONS``); :func:`check_seams` fails
loudly when the moto internals used here change.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from mlaccel.errors import EndpointNotLive, MLAccelError, UnknownVariant
from mlaccel_twin._runtime import TwinRuntime, active_runtime
from mlaccel_twin._seam import add, fail_if_broken, replace, signature_problems
from mlaccel_twin.endpoints.capture import (
    CaptureSpec,
    Invocation,
    InvocationResult,
    capture_summary,
)
from mlaccel_twin.endpoints.fleet import EndpointFleet, EndpointSpec, VariantSpec
from mlaccel_twin.lineage import automatic
from mlaccel_twin.sagemaker_models import model_container
from mlaccel_twin.serving._server import MAX_REQUEST_BYTES

log = logging.getLogger(__name__)

SERVICE_KEY = "endpoints"  # pragma: allowlist secret
_FLEET_LOCK = threading.Lock()

# moto functions this seam replaces or calls, with the parameters it relies on.
_EXPECTED_SIGNATURES = {
    "SageMakerModelBackend.create_endpoint": [
        "self",
        "endpoint_name",
        "endpoint_config_name",
        "tags",
    ],
    "SageMakerModelBackend.delete_endpoint": ["self", "endpoint_name"],
    "SageMakerModelBackend.describe_model": ["self", "model_name"],
    "SageMakerRuntimeResponse.invoke_endpoint": ["self"],
    "FakeEndpoint._process_production_variants": ["self", "production_variants"],
}


def fleet() -> EndpointFleet:
    """The endpoint fleet of the twin running in this process (created on first use)."""
    runtime = active_runtime()
    with _FLEET_LOCK:
        existing = runtime.services.get(SERVICE_KEY)
        if isinstance(existing, EndpointFleet):
            return existing
        created = EndpointFleet(
            work_dir=runtime.work_dir, s3_client_factory=lambda: runtime.client("s3")
        )
        runtime.services[SERVICE_KEY] = created
        return created


def check_seams() -> None:
    """Raise when the moto internals this seam patches are not what it was written for."""
    from moto.core.responses import BaseResponse
    from moto.sagemaker import models, responses
    from moto.sagemakerruntime import responses as runtime_responses

    base_response_setup = BaseResponse.setup_class
    owners: dict[str, Any] = {
        "SageMakerModelBackend": models.SageMakerModelBackend,
        "SageMakerRuntimeResponse": runtime_responses.SageMakerRuntimeResponse,
        "FakeEndpoint": models.FakeEndpoint,
    }
    problems = signature_problems(owners, _EXPECTED_SIGNATURES)
    for attribute in ("endpoints", "endpoint_configs", "_models"):
        if attribute not in inspect.getsource(models.SageMakerModelBackend.__init__):
            problems.append(f"SageMakerModelBackend no longer keeps self.{attribute}")
    if "use_raw_body" not in inspect.signature(base_response_setup).parameters:
        problems.append("BaseResponse.setup_class no longer takes use_raw_body")
    moto_update = getattr(responses.SageMakerResponse, "update_endpoint", None)
    if moto_update is not None and not getattr(moto_update, "_mlaccel_seam", False):
        problems.append("moto now implements UpdateEndpoint itself; review this seam")
    fail_if_broken("endpoints", problems)


def install(runtime: TwinRuntime) -> None:
    """Patch moto's SageMaker and SageMaker Runtime so endpoints serve the model they name."""
    from moto.sagemaker import models, responses
    from moto.sagemakerruntime import responses as runtime_responses

    check_seams()
    backend_class = models.SageMakerModelBackend
    replace(backend_class, "create_endpoint", _create_endpoint)
    replace(backend_class, "delete_endpoint", _delete_endpoint)
    add(backend_class, "update_endpoint", _update_endpoint)
    add(responses.SageMakerResponse, "update_endpoint", _update_endpoint_action)
    replace(runtime_responses.SageMakerRuntimeResponse, "invoke_endpoint", _invoke_endpoint)
    # Request bodies are model payloads, not UTF-8 text: keep them as bytes.
    runtime_responses.SageMakerRuntimeResponse.use_raw_body = True


# --------------------------------------------------------------------------- control plane


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _create_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_endpoint(
        self: Any, endpoint_name: str, endpoint_config_name: str, tags: list[dict[str, str]]
    ) -> Any:
        if endpoint_name in self.endpoints:
            arn = self.endpoints[endpoint_name].arn
            raise _validation_error(f'Cannot create already existing endpoint "{arn}".')
        endpoint = original(
            self, endpoint_name=endpoint_name, endpoint_config_name=endpoint_config_name, tags=tags
        )
        config = self.endpoint_configs[endpoint_config_name]
        endpoint.endpoint_status = "Creating"
        endpoint.data_capture_config = capture_summary(config.data_capture_config)
        key = (self.account_id, self.region_name, endpoint_name)
        try:
            spec = _endpoint_spec(self, endpoint_name, config)
        except Exception as exc:
            _set_status(endpoint, "Failed", str(exc))
            return endpoint
        containers = [variant.container for variant in spec.variants]
        automatic.endpoint_deployed(self, endpoint_name, endpoint.arn, containers)
        fleet().deploy(
            key,
            spec,
            on_ready=lambda: _set_status(endpoint, "InService"),
            on_failed=lambda reason: _set_status(endpoint, "Failed", reason),
        )
        return endpoint

    return create_endpoint


def _update_endpoint(self: Any, endpoint_name: str, endpoint_config_name: str) -> str:
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        from moto.sagemaker.models import FakeEndpoint

        arn = FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise _validation_error(f"Could not find endpoint '{arn}'.")
    if endpoint.endpoint_status != "InService":
        raise _validation_error(
            f'Cannot update in-progress endpoint "{endpoint.arn}" '
            f"(status {endpoint.endpoint_status}); wait until it is InService"
        )
    config = self.endpoint_configs.get(endpoint_config_name)
    if config is None:
        from moto.sagemaker.models import FakeEndpointConfig

        arn = FakeEndpointConfig.arn_formatter(
            endpoint_config_name, self.account_id, self.region_name
        )
        raise _validation_error(f"Could not find endpoint configuration '{arn}'.")
    spec = _endpoint_spec(self, endpoint_name, config)
    endpoint.endpoint_status = "Updating"
    endpoint.failure_reason = None

    def ready() -> None:
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(
            config.production_variants
        )
        endpoint.data_capture_config = capture_summary(config.data_capture_config)
        _set_status(endpoint, "InService")

    def failed(reason: str) -> None:
        # SageMaker rolls a failed update back: the previous config keeps serving.
        _set_status(endpoint, "InService", f"Update to {endpoint_config_name} failed: {reason}")

    key = (self.account_id, self.region_name, endpoint_name)
    fleet().deploy(key, spec, on_ready=ready, on_failed=failed)
    return str(endpoint.arn)


def _update_endpoint_action(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
    )
    return ActionResult({"EndpointArn": arn})


def _delete_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        original(self, endpoint_name)
        fleet().remove((self.account_id, self.region_name, endpoint_name))

    return delete_endpoint


def _set_status(endpoint: Any, status: str, reason: str | None = None) -> None:
    from moto.core.utils import utcnow

    endpoint.endpoint_status = status
    endpoint.failure_reason = reason
    endpoint.last_modified_time = utcnow()


def _endpoint_spec(backend: Any, endpoint_name: str, config: Any) -> EndpointSpec:
    variants = []
    for variant in config.production_variants:
        model = backend.describe_model(variant["ModelName"])
        containers = list(model.containers or [])
        container = model_container(backend, model)
        if len(containers) > 1:
            raise MLAccelError(
                f"model {model.model_name} is an inference pipeline of {len(containers)} "
                "containers; the twin serves single-container models"
            )
        variants.append(
            VariantSpec(
                name=str(variant["VariantName"]),
                model_name=str(variant["ModelName"]),
                container=dict(container),
                weight=float(variant.get("InitialVariantWeight", 1.0) or 0.0),
            )
        )
    return EndpointSpec(
        name=endpoint_name,
        config_name=str(config.endpoint_config_name),
        variants=tuple(variants),
        capture=CaptureSpec.from_config(config.data_capture_config),
    )


# --------------------------------------------------------------------------- runtime


def _invoke_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke_endpoint(self: Any) -> tuple[int, dict[str, str], bytes | str]:
        from moto.sagemaker.models import sagemaker_backends

        name = _endpoint_name(self)
        account, region = self.current_account, self.region
        endpoint = sagemaker_backends[account][region].endpoints.get(name)
        if endpoint is None:
            return _error(
                400, "ValidationError", f"Endpoint {name} of account {account} not found."
            )
        weights = {
            str(v["VariantName"]): float(v.get("CurrentWeight", 1.0) or 0.0)
            for v in endpoint.production_variants
        }
        invocation = _invocation(self)
        if len(invocation.body) > MAX_REQUEST_BYTES:  # refused by the API, before any model
            return _error(
                413,
                "ValidationError",
                f"Request payload of {len(invocation.body)} bytes is larger than the "
                f"{MAX_REQUEST_BYTES} bytes (6 MB) real-time endpoints accept; send smaller "
                "batches, or score large payloads with batch transform or asynchronous inference.",
            )
        try:
            result = fleet().invoke((account, region, name), invocation, weights=weights)
        except EndpointNotLive:
            return _error(
                400,
                "ValidationError",
                f"Endpoint {name} of account {account} is {endpoint.endpoint_status}, not "
                "InService; wait for it (sagemaker_session.wait_for_endpoint) and retry.",
            )
        except UnknownVariant as exc:
            return _error(400, "ValidationError", str(exc))
        return _answer(result)

    return invoke_endpoint


def _invocation(response: Any) -> Invocation:
    """The request as the runtime API received it: body and SageMaker's headers."""
    raw = response.raw_body
    body = raw if isinstance(raw, bytes) else str(raw).encode()
    headers = response.headers
    return Invocation(
        body=body or b"",
        content_type=headers.get("Content-Type") or "text/csv",
        accept=headers.get("Accept"),
        custom_attributes=headers.get("X-Amzn-SageMaker-Custom-Attributes"),
        target_variant=headers.get("X-Amzn-SageMaker-Target-Variant"),
        inference_id=headers.get("X-Amzn-SageMaker-Inference-Id"),
    )


def _answer(result: InvocationResult) -> tuple[int, dict[str, str], bytes | str]:
    """The runtime API's answer: the model's, or ``ModelError`` (424) when the model failed."""
    if result.status != 200:
        text = result.body.decode("utf-8", errors="replace")
        side = "client" if 400 <= result.status < 500 else "server"
        message = (
            f"Received {side} error ({result.status}) from {result.variant} with message "
            f'"{text}". See the twin\'s log for more information.'
        )
        return _error(
            424, "ModelError", message, OriginalStatusCode=result.status, OriginalMessage=text
        )
    headers = {
        "Content-Type": result.content_type,
        "x-Amzn-Invoked-Production-Variant": result.variant,
    }
    if result.custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
    return 200, headers, result.body


def _endpoint_name(response: Any) -> str:
    # The runtime's path is /endpoints/<name>/invocations.
    parts = [p for p in response.path.split("?")[0].split("/") if p]
    if len(parts) >= 2 and parts[0] == "endpoints":
        return unquote(parts[1])
    return str(response._get_params().get("EndpointName", ""))


def _error(status: int, code: str, message: str, **fields: Any) -> tuple[int, dict[str, str], str]:
    body = json.dumps({"message": message, **fields})
    # moto's dispatcher reads the status from the headers, not from the tuple.
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json", "status": str(status)}
    return status, headers, body
