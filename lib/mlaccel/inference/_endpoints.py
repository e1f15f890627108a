"""Real-time endpoints: deploy a model (create, update or replace), wait for it, delete it."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from mlaccel import config
from mlaccel._aws import (
    check_connection,
    delete_quietly,
    describe_endpoint,
    error_code,
    error_message,
    is_missing,
)
from mlaccel._codecs import CSV, JSON
from mlaccel._connect import Connection
from mlaccel._s3 import parse_path
from mlaccel.cleanup import (
    ENDPOINT_TAG,
    ENDPOINT_TIMEOUT_SECONDS,
    kit_tags,
    remove_resources,
    tag_list,
    tagged_resources,
)
from mlaccel.errors import EndpointFailed, MLAccelInputError
from mlaccel.inference._autoscaling import deregister_autoscaling
from mlaccel.inference._capture import default_capture_uri
from mlaccel.inference._models import model_container
from mlaccel.inference._names import DEFAULT_VARIANT, check_name, new_stamp, stamped
from mlaccel.inference._registry import ModelPackageInfo

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.literals import ProductionVariantInstanceTypeType
    from mypy_boto3_sagemaker.type_defs import ProductionVariantTypeDef, TagTypeDef


log = logging.getLogger(__name__)

#: Tag on every model and endpoint config deploy_model creates: an update deletes only its own.
OWNER_TAG = ENDPOINT_TAG

_SETTLING = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


@dataclass(frozen=True)
class Deployment:
    """An endpoint serving a model, as :func:`deploy_model` left it.

    Attributes
    ----------
    endpoint_name, config_name, model_name, variant_name
        The SageMaker resources behind it.
    action
        ``created``, ``updated`` (an existing endpoint now serves the new config) or
        ``recreated`` (a failed endpoint was replaced).
    status
        ``EndpointStatus`` when the call returned (``InService`` after a wait).
    capture_uri
        Where data capture is written (``<capture_uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``),
        or None when capture is off.
    model_source
        The model package ARN or model artifact URL served.
    """

    endpoint_name: str
    config_name: str
    model_name: str
    variant_name: str
    action: str
    status: str
    capture_uri: str | None
    model_source: str


def deploy_model(
    endpoint_name: str,
    *,
    model_package: str | ModelPackageInfo | None = None,
    model_data: str | None = None,
    image_uri: str | None = None,
    environment: Mapping[str, str] | None = None,
    instance_type: str | None = None,
    initial_instance_count: int = 1,
    variant_name: str = DEFAULT_VARIANT,
    data_capture: bool = True,
    capture_uri: str | None = None,
    sampling_percentage: int = 100,
    wait: bool = True,
    timeout_seconds: float = 3600.0,
    connection: Connection,
) -> Deployment:
    """Serve a model on a real-time endpoint: create it, or update it when it exists.

    Each call creates a new model and endpoint config (names stamped with the time); an
    existing endpoint is updated to the new config (no downtime), a ``Failed`` one is replaced.
    After an update (with ``wait``), the previous config and model are deleted when this
    function created them (tagged ``mlaccel:endpoint``); other resources are left alone. The
    model, config and a new endpoint carry the kit's tags (``mlaccel:created-by``,
    ``mlaccel:run-id``), so ``mlaccel cleanup`` finds them when a run fails.

    Parameters
    ----------
    endpoint_name
        The endpoint to create or update.
    model_package, model_data, image_uri, environment
        What to serve; see :func:`create_model`.
    instance_type, initial_instance_count, variant_name
        The production variant; ``instance_type`` defaults to
        :func:`mlaccel.config.default_instance_type`.
    data_capture
        Capture requests and responses (100 % by default) for monitoring.
    capture_uri
        Capture destination; ``s3://<bucket>/data-capture`` when omitted.
    sampling_percentage
        Share of requests captured, 0-100.
    wait
        Wait until the endpoint is ``InService`` (raise :class:`EndpointFailed` otherwise).
    timeout_seconds
        How long to wait.
    connection
        Backend to use (:func:`mlaccel.connect`).

    Returns
    -------
    Deployment

    Examples
    --------
    >>> package = latest_model_package("mlaccel-used-cars", connection=conn)  # doctest: +SKIP
    >>> deployment = deploy_model(
    ...     "used-cars-xgboost", model_package=package, connection=conn
    ... )  # doctest: +SKIP
    >>> deployment.action, deployment.status  # doctest: +SKIP
    ('created', 'InService')
    """
    _check_variant_args(endpoint_name, variant_name, initial_instance_count, sampling_percentage)
    conn = check_connection(connection)
    instance_type = instance_type or config.default_instance_type()
    container = model_container(conn, model_package, model_data, image_uri, environment)
    capture = _capture_destination(conn, capture_uri) if data_capture else None
    client = conn.client("sagemaker")
    tags = cast("list[TagTypeDef]", tag_list(kit_tags(endpoint=endpoint_name)))
    # Model and config share the stamped name: one deployment, one name to look for.
    name = stamped(endpoint_name, new_stamp())
    client.create_model(
        ModelName=name, ExecutionRoleArn=conn.role_arn, PrimaryContainer=container, Tags=tags
    )
    variant: ProductionVariantTypeDef = {
        "VariantName": variant_name,
        "ModelName": name,
        "InstanceType": cast("ProductionVariantInstanceTypeType", instance_type),
        "InitialInstanceCount": initial_instance_count,
        "InitialVariantWeight": 1.0,
    }
    client.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[variant],
        Tags=tags,
        **_data_capture_config(capture, sampling_percentage),
    )
    action, previous_config = _point_endpoint_at(conn, endpoint_name, name, tags, timeout_seconds)
    status = "Updating" if action == "updated" else "Creating"
    if wait:
        described = _wait_until_settled(conn, endpoint_name, timeout_seconds)
        status = _check_deployed(endpoint_name, name, described)
        if previous_config and previous_config != name:
            _delete_owned_config(client, previous_config, endpoint_name)
    source = model_package.arn if isinstance(model_package, ModelPackageInfo) else model_package
    return Deployment(
        endpoint_name=endpoint_name,
        config_name=name,
        model_name=name,
        variant_name=variant_name,
        action=action,
        status=status,
        capture_uri=capture,
        model_source=str(source if source is not None else model_data),
    )


def wait_for_endpoint(
    endpoint_name: str, *, timeout_seconds: float = 3600.0, connection: Connection
) -> str:
    """Wait until ``endpoint_name`` is ``InService``; return the status.

    Raises
    ------
    EndpointFailed
        The endpoint is ``Failed``, ``OutOfService``, or gone.

    Examples
    --------
    >>> wait_for_endpoint("used-cars-xgboost", connection=conn)  # doctest: +SKIP
    'InService'
    """
    conn = check_connection(connection)
    described = _wait_until_settled(conn, endpoint_name, timeout_seconds)
    if described is None:
        raise EndpointFailed(
            f"endpoint {endpoint_name!r} does not exist; deploy it first with deploy_model"
        )
    status = str(described["EndpointStatus"])
    if status != "InService":
        raise EndpointFailed(
            f"endpoint {endpoint_name!r} is {status}: {described.get('FailureReason', '')}"
        )
    return status


def delete_endpoint(
    endpoint_name: str,
    *,
    delete_config: bool = True,
    delete_models: bool = True,
    keep_models: Sequence[str] = (),
    connection: Connection,
) -> list[str]:
    """Delete an endpoint, its autoscaling registration, its endpoint configs and its models.

    ``keep_models`` names models to leave in place, such as the model a pipeline exported for
    others to read (they cost nothing while no endpoint serves them).

    Besides the config the endpoint serves (and that config's models), every endpoint config and
    model the kit made for this endpoint goes too (tagged ``mlaccel:endpoint``): those of earlier
    deployments, and models of pipeline runs that stopped before deploying. Other resources are
    left alone. Idempotent: what does not exist is skipped, so cleanup cells can always run.

    Returns
    -------
    list of str
        What was deleted, as ``kind:name``.

    Examples
    --------
    >>> delete_endpoint("used-cars-xgboost", connection=conn)  # doctest: +SKIP
    ['scalable-target:endpoint/used-cars-xgboost/variant/AllTraffic', 'endpoint:used-cars-xgboost',
     'endpoint-config:used-cars-xgboost-20240501120000-1a2b', 'model:used-cars-...']
    """
    check_name(endpoint_name, "endpoint_name")
    conn = check_connection(connection)
    client = conn.client("sagemaker")
    deleted: list[str] = []
    described = describe_endpoint(client, endpoint_name)
    if described is not None and described["EndpointStatus"] in _SETTLING:
        # SageMaker deletes no endpoint while it is being created or updated.
        described = _wait_until_settled(conn, endpoint_name, ENDPOINT_TIMEOUT_SECONDS)
    if described is not None:
        variants = [v["VariantName"] for v in described.get("ProductionVariants", [])]
        # A scalable target must go before its endpoint.
        deleted += deregister_autoscaling(conn, endpoint_name, variants)
        if delete_quietly(client.delete_endpoint, EndpointName=endpoint_name):
            deleted.append(f"endpoint:{endpoint_name}")
        config_name = described.get("EndpointConfigName")
        if config_name and delete_config:
            deleted += _delete_config(
                client, config_name, delete_models=delete_models, keep_models=keep_models
            )
    if delete_config:
        deleted += _delete_made_for(
            conn, endpoint_name, delete_models=delete_models, keep_models=keep_models
        )
    if deleted:
        log.info("deleted %s", ", ".join(deleted))
    return deleted


# --------------------------------------------------------------------------- steps


def _check_variant_args(
    endpoint_name: str, variant_name: str, initial_instance_count: int, sampling_percentage: int
) -> None:
    check_name(endpoint_name, "endpoint_name")
    check_name(variant_name, "variant_name")
    if not isinstance(initial_instance_count, int) or initial_instance_count < 1:
        raise MLAccelInputError(
            f"initial_instance_count={initial_instance_count!r} must be a whole number >= 1"
        )
    if not 0 <= sampling_percentage <= 100:
        raise MLAccelInputError(
            f"sampling_percentage={sampling_percentage!r} must be between 0 and 100"
        )


def _capture_destination(conn: Connection, capture_uri: str | None) -> str:
    destination = (capture_uri or default_capture_uri(connection=conn)).rstrip("/")
    parse_path(destination, name="capture_uri")
    return destination


def _data_capture_config(destination: str | None, sampling_percentage: int) -> dict[str, Any]:
    """``CreateEndpointConfig``'s ``DataCaptureConfig`` argument; none when capture is off."""
    if destination is None:
        return {}
    return {
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": int(sampling_percentage),
            "DestinationS3Uri": destination,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"CsvContentTypes": [CSV], "JsonContentTypes": [JSON]},
        }
    }


def _point_endpoint_at(
    conn: Connection,
    endpoint_name: str,
    config_name: str,
    tags: list[TagTypeDef],
    timeout_seconds: float,
) -> tuple[str, str | None]:
    """Create (with ``tags``), update or replace the endpoint to serve ``config_name``.

    Returns what was done and the config the endpoint served before (None if it was new).
    """
    client = conn.client("sagemaker")
    current = describe_endpoint(client, endpoint_name)
    if current is not None and current["EndpointStatus"] in _SETTLING:
        log.info("endpoint %s is %s; waiting before changing it", endpoint_name, current)
        current = _wait_until_settled(conn, endpoint_name, timeout_seconds)
    if current is None:
        action = "created"
        client.create_endpoint(
            EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags
        )
    elif current["EndpointStatus"] == "Failed":
        # SageMaker cannot update a failed endpoint: replace it.
        action = "recreated"
        log.info("endpoint %s is Failed; deleting and creating it again", endpoint_name)
        client.delete_endpoint(EndpointName=endpoint_name)
        _wait_until_settled(conn, endpoint_name, timeout_seconds)
        client.create_endpoint(
            EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags
        )
    else:
        action = "updated"
        client.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    log.info("endpoint %s %s with config %s", endpoint_name, action, config_name)
    return action, current.get("EndpointConfigName") if current else None


def _wait_until_settled(
    conn: Connection, endpoint_name: str, timeout_seconds: float
) -> dict[str, Any] | None:
    """The endpoint once no change is under way (None once it is gone).

    Not boto3's ``endpoint_in_service`` waiter: it would keep polling an ``OutOfService``
    endpoint until the timeout, and its errors do not say what to do.
    """
    client = conn.client("sagemaker")
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = describe_endpoint(client, endpoint_name)
        if described is None or described["EndpointStatus"] not in _SETTLING:
            return described
        if time.monotonic() > deadline:
            raise EndpointFailed(
                f"endpoint {endpoint_name!r} is still {described['EndpointStatus']} after "
                f"{timeout_seconds:.0f} s; check it in the console or raise timeout_seconds"
            )
        time.sleep(conn.wait.endpoint_poll_seconds)


def _check_deployed(endpoint_name: str, config_name: str, described: dict[str, Any] | None) -> str:
    if described is None:
        raise EndpointFailed(
            f"endpoint {endpoint_name!r} disappeared while it was deployed; deploy it again"
        )
    status = str(described["EndpointStatus"])
    reason = described.get("FailureReason") or "no reason given"
    if status != "InService":
        raise EndpointFailed(f"endpoint {endpoint_name!r} is {status}: {reason}")
    if described.get("EndpointConfigName") != config_name:
        # A failed update rolls back: the endpoint still serves the previous config.
        raise EndpointFailed(
            f"updating endpoint {endpoint_name!r} to {config_name} failed and was rolled "
            f"back to {described.get('EndpointConfigName')}: {reason}"
        )
    return status


def _delete_owned_config(client: Any, config_name: str, endpoint_name: str) -> None:
    """Delete an endpoint config and its models, if :func:`deploy_model` made them for us."""
    try:
        described = client.describe_endpoint_config(EndpointConfigName=config_name)
        tags = client.list_tags(ResourceArn=described["EndpointConfigArn"]).get("Tags", [])
    except Exception as exc:
        if is_missing(exc):
            return
        raise
    if {"Key": OWNER_TAG, "Value": endpoint_name} in tags:  # else someone else's: leave it
        _delete_config(client, config_name, delete_models=True, described=described)


def _delete_config(
    client: Any,
    config_name: str,
    *,
    delete_models: bool,
    keep_models: Sequence[str] = (),
    described: dict[str, Any] | None = None,
) -> list[str]:
    """Delete an endpoint config (and its variants' models); what was deleted, as ``kind:name``."""
    if described is None:
        try:
            described = client.describe_endpoint_config(EndpointConfigName=config_name)
        except Exception as exc:
            if is_missing(exc):
                return []
            raise
    deleted = []
    if delete_models:
        for variant in described.get("ProductionVariants", []):
            if variant["ModelName"] in keep_models:
                continue
            if delete_quietly(client.delete_model, ModelName=variant["ModelName"]):
                deleted.append(f"model:{variant['ModelName']}")
    if delete_quietly(client.delete_endpoint_config, EndpointConfigName=config_name):
        deleted.append(f"endpoint-config:{config_name}")
    return deleted


def _delete_made_for(
    conn: Connection, endpoint_name: str, *, delete_models: bool, keep_models: Sequence[str] = ()
) -> list[str]:
    """Delete the endpoint configs (and models) the kit made for ``endpoint_name`` and that are
    still there: those of earlier deployments, and models of runs that never deployed."""
    kinds = ("endpoint-config", "model") if delete_models else ("endpoint-config",)
    try:
        leftovers = tagged_resources(connection=conn, endpoint=endpoint_name, kinds=kinds)
    except Exception as exc:
        if "AccessDenied" not in error_code(exc):
            raise
        log.warning(
            "cannot look up what was made for %s by tag (%s); grant tag:GetResources, or "
            "delete its old endpoint configs and models yourself",
            endpoint_name,
            error_message(exc),
        )
        return []
    kept = set(keep_models)
    return remove_resources(
        [r for r in leftovers if not (r.kind == "model" and r.name in kept)], connection=conn
    )
